// SPDX-License-Identifier: LGPL-2.1-or-later
// Branch building for keepup-record. H.264 is recorded as it arrives; VP8/VP9 (or anything
// with --transcode) are decoded and encoded to H.264 behind a dropqueue:
//   webrtcbin -> depay -> [decode -> dropqueue -> x264enc] -> h264parse -> (gate) -> mpegtsmux
// The gate (a blocking probe on the branch's last pad) drops everything before the first
// keyframe; that keyframe adds mpegtsmux and tsrecordsink to the pipeline and links every
// branch's output to them, so a session without media leaves no file.
#include "branch.hpp"

#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepup::record {

void request_keyframe(GstPad *depay_sink) {
  gst_pad_push_event(depay_sink,
                     gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM,
                                          gst_structure_new("GstForceKeyUnit", "all-headers",
                                                            G_TYPE_BOOLEAN, TRUE, nullptr)));
}

void send_eos(GstPad *entry) {
  // RTP carries no EOS: each branch gets one at its entry, from an idle probe on webrtcbin's
  // source pad, so it is never pushed while that pad's thread is inside the branch (sending
  // it straight into the muxer can deadlock against a streaming thread waiting there).
  gst_pad_add_probe(
      entry, GST_PAD_PROBE_TYPE_IDLE,
      [](GstPad *pad, GstPadProbeInfo *, gpointer) -> GstPadProbeReturn {
        whip::guarded("EOS probe", [&]() {
          if (GstPad *peer = gst_pad_get_peer(pad)) {
            gst_pad_send_event(peer, gst_event_new_eos());
            gst_object_unref(peer);
          }
        });
        return GST_PAD_PROBE_REMOVE;
      },
      nullptr, nullptr);
}

namespace {

// State of one branch's gate; streaming thread only (the session parts it touches are under
// the session's media_lock or atomic).
struct Gate {
  std::weak_ptr<Session> session;
  MediaKind kind = MediaKind::video;
  whip::AccessUnitTimeline dts;
};

// Puts mpegtsmux and tsrecordsink behind every branch output: the recording file exists from
// here on. Runs on the streaming thread of the buffer that starts the file, inside its
// blocking probe and under media_lock, so the pad's sticky events (caps, segment) reach the
// muxer before that buffer.
bool start_file(Session &s) {
  gst_bin_add_many(GST_BIN(s.pipeline), GST_ELEMENT(gst_object_ref(s.mux)),
                   GST_ELEMENT(gst_object_ref(s.sink)), nullptr);
  bool linked = gst_element_link(s.mux, s.sink);
  for (const BranchOutput &out : s.outputs) {
    if (!linked)
      break;
    GstPad *mux_sink = gst_element_request_pad_simple(s.mux, "sink_%d");
    linked = mux_sink && gst_pad_link(out.pad, mux_sink) == GST_PAD_LINK_OK;
    if (mux_sink)
      gst_object_unref(mux_sink);
  }
  if (!linked) {
    log_line("session %s: cannot link the recording branch", s.id.c_str());
    return false;
  }
  gst_element_sync_state_with_parent(s.sink);
  gst_element_sync_state_with_parent(s.mux);
  return true;
}

// The file starts with a keyframe: delta frames before the first one are dropped, and a
// keyframe is asked for until it comes. The first keyframe creates the file. Every unit
// written gets a strictly increasing DTS (the publisher's PTS where it allows).
GstPadProbeReturn gate_until_keyframe(GstPad *, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("keyframe gate", GST_PAD_PROBE_DROP, [&]() {
    auto *gate = static_cast<Gate *>(data);
    auto s = gate->session.lock();
    if (!s)
      return GST_PAD_PROBE_DROP;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    ++s->frames_in;
    {
      std::lock_guard<std::mutex> lk(s->media_lock);
      if (s->file_started_us == 0) {
        if (s->phase_ != Phase::offered && s->phase_ != Phase::answered)
          return GST_PAD_PROBE_DROP; // ending: no file is started any more
        if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
          return GST_PAD_PROBE_DROP;
        if (!start_file(*s)) {
          s->phase_ = Phase::ending; // no second attempt: the elements are already in the bin
          on_session_main(s, [](const std::shared_ptr<Session> &ss) {
            finish_session(ss);
            log_line("session ended: cannot link the recording branch");
          });
          return GST_PAD_PROBE_DROP;
        }
        s->phase_ = Phase::recording;
        s->file_started_us = g_get_monotonic_time();
        const double ms = static_cast<double>(s->file_started_us - s->started_us) / 1000.0;
        on_session_main(s, [ms](const std::shared_ptr<Session> &ss) { ss->first_frame_ms = ms; });
      }
    }
    buf = gst_buffer_make_writable(buf);
    const int64_t pts = GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_PTS(buf))
                                                     : whip::AccessUnitTimeline::kNone;
    GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(gate->dts.dts_for(pts));
    if (!GST_BUFFER_PTS_IS_VALID(buf))
      GST_BUFFER_PTS(buf) = GST_BUFFER_DTS(buf);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    ++s->frames_out;
    // PASS, not OK: OK on a blocking probe would block the pad.
    return GST_PAD_PROBE_PASS;
  });
}

// Parts of one picture (same RTP time) leave rtph264depay as separate units when a publisher
// puts SPS/PPS between the slices of an IDR (rtph264pay config-interval=-1 with sliced-thread
// x264 does); h264parse then gives the second part no timestamp and the file gets a PES
// without PTS/DTS. The parts are joined here, one picture late (the second part keeps only
// its slices, so h264parse sees one access unit); EOS flushes the last one.
struct AccessUnitJoiner {
  GstBuffer *held = nullptr;
  whip::AccessUnitTimeline timeline;
  bool draining = false;
  ~AccessUnitJoiner() {
    if (held)
      gst_buffer_unref(held);
  }
};

GstPadProbeReturn join_picture_parts(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("access unit joiner", GST_PAD_PROBE_OK, [&]() {
    auto *j = static_cast<AccessUnitJoiner *>(data);
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS && j->held) {
        GstBuffer *last = j->held;
        j->held = nullptr;
        j->draining = true;
        gst_pad_push(pad, last);
        j->draining = false;
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP && j->held) {
        gst_buffer_unref(j->held);
        j->held = nullptr;
      }
      return GST_PAD_PROBE_OK;
    }
    if (j->draining)
      return GST_PAD_PROBE_OK;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const int64_t pts = GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_PTS(buf))
                                                     : whip::AccessUnitTimeline::kNone;
    if (j->held && j->timeline.continues_picture(pts)) {
      const bool key = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
      GstMapInfo map;
      if (!gst_buffer_map(buf, &map, GST_MAP_READ))
        return GST_PAD_PROBE_DROP;
      std::vector<std::uint8_t> slices = whip::h264_slices_only(map.data, map.size);
      gst_buffer_unmap(buf, &map);
      if (slices.empty())
        return GST_PAD_PROBE_DROP;
      j->held = gst_buffer_append(j->held, gst_buffer_new_memdup(slices.data(), slices.size()));
      if (key)
        GST_BUFFER_FLAG_UNSET(j->held, GST_BUFFER_FLAG_DELTA_UNIT);
      return GST_PAD_PROBE_DROP;
    }
    j->timeline.started_picture(pts);
    GstBuffer *out = j->held;
    j->held = buf; // the probe's reference, handed over
    if (!out) {
      gst_buffer_ref(buf); // DROP releases one
      return GST_PAD_PROBE_DROP;
    }
    GST_PAD_PROBE_INFO_DATA(info) = out;
    return GST_PAD_PROBE_OK;
  });
}

GstElement *make(const char *factory, GstElement *bin) {
  GstElement *e = gst_element_factory_make(factory, nullptr);
  if (!e)
    throw std::runtime_error(std::string("missing GStreamer element ") + factory);
  gst_bin_add(GST_BIN(bin), e);
  return e;
}

GstElement *make_capsfilter(const char *caps, GstElement *bin) {
  GstElement *filter = make("capsfilter", bin);
  GstCaps *c = gst_caps_from_string(caps);
  g_object_set(filter, "caps", c, nullptr);
  gst_caps_unref(c);
  return filter;
}

void link_branch(GstPad *src, const std::vector<GstElement *> &chain) {
  GstPad *sink = gst_element_get_static_pad(chain.front(), "sink");
  gst_pad_link(src, sink);
  gst_object_unref(sink);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i)
    gst_element_link(chain[i], chain[i + 1]);
  for (GstElement *e : chain)
    gst_element_sync_state_with_parent(e);
}

// The resolution for /status, from the parsed caps, handed to the main loop.
GstPadProbeReturn watch_video_caps(GstPad *, GstPadProbeInfo *info, gpointer d) {
  whip::guarded("caps probe", [&]() {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
      return;
    GstCaps *c = nullptr;
    gst_event_parse_caps(ev, &c);
    int width = 0, height = 0;
    gst_structure_get_int(gst_caps_get_structure(c, 0), "width", &width);
    gst_structure_get_int(gst_caps_get_structure(c, 0), "height", &height);
    on_session_main(*static_cast<std::weak_ptr<Session> *>(d),
                    [width, height](const std::shared_ptr<Session> &s) {
                      s->width = width;
                      s->height = height;
                    });
  });
  return GST_PAD_PROBE_OK;
}

// What a built branch hands to the main loop.
struct BuiltBranch {
  std::string codec;               // "h264", "vp8->h264"; empty for audio
  GstElement *dropqueue = nullptr; // borrowed: the pipeline holds it
  GstPad *depay_sink = nullptr;    // owned reference
  GstPad *entry = nullptr;         // owned reference (webrtcbin's pad)
};

// Main loop: the session takes what the branch built; keyframes are asked for now, and every
// 500 ms until the file started; with a dropqueue, again whenever it dropped (the decoder then
// needs a fresh start).
void adopt_branch(const std::shared_ptr<Session> &s, BuiltBranch b) {
  s->codec = b.codec;
  s->dropqueue = b.dropqueue;
  if (s->depay_sink)
    gst_object_unref(s->depay_sink);
  s->depay_sink = b.depay_sink;
  s->entries.push_back(b.entry);
  const Phase phase = s->phase();
  if (phase == Phase::ending && s->has_file()) {
    send_eos(b.entry); // the session began to end before this branch reached the main loop
    return;
  }
  if (phase == Phase::ending || phase == Phase::finished)
    return;
  request_keyframe(s->depay_sink);
  if (s->keyframe_poll)
    return;
  s->keyframe_poll = session_timeout(s, 500, [](const std::shared_ptr<Session> &ss) {
    if (ss->phase() >= Phase::ending) {
      ss->keyframe_poll = 0;
      return false;
    }
    guint64 dropped = 0;
    if (ss->dropqueue)
      g_object_get(ss->dropqueue, "dropped", &dropped, nullptr);
    if (!ss->has_file() || dropped > ss->dropped_at_last_request) {
      ss->dropped_at_last_request = dropped;
      request_keyframe(ss->depay_sink);
      ++ss->keyframe_requests;
    }
    return true;
  });
}

} // namespace

void add_branch(const std::weak_ptr<Session> &weak, GstPad *pad) {
  auto s = weak.lock();
  if (!s || GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure *st = gst_caps_get_structure(caps, 0);
  const std::string encoding = gst_structure_get_string(st, "encoding-name")
                                   ? gst_structure_get_string(st, "encoding-name")
                                   : "";
  gst_caps_unref(caps);
  GstElement *pipe = s->pipeline;
  const bool transcode = s->app->opt.transcode;
  try {
    std::vector<GstElement *> chain;
    GstElement *parse_out = nullptr;
    BuiltBranch built;
    if (encoding == "H264" && !transcode) {
      GstElement *bytestream = // what join_picture_parts reads
          make_capsfilter("video/x-h264,stream-format=byte-stream,alignment=au", pipe);
      GstElement *filter =
          make_capsfilter("video/x-h264,stream-format=byte-stream,alignment=au", pipe);
      chain = {make("rtph264depay", pipe), bytestream, make("h264parse", pipe), filter};
      parse_out = chain.back();
      GstPad *depay_src = gst_element_get_static_pad(chain.front(), "src");
      gst_pad_add_probe(depay_src,
                        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                     GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                        join_picture_parts, new AccessUnitJoiner,
                        [](gpointer p) { delete static_cast<AccessUnitJoiner *>(p); });
      gst_object_unref(depay_src);
    } else if (encoding == "H264" || encoding == "VP8" || encoding == "VP9") {
      const char *depay = encoding == "H264"  ? "rtph264depay"
                          : encoding == "VP8" ? "rtpvp8depay"
                                              : "rtpvp9depay";
      const char *dec = encoding == "H264" ? "avdec_h264" : encoding == "VP8" ? "vp8dec" : "vp9dec";
      GstElement *enc = make("x264enc", pipe);
      g_object_set(enc, "tune", 0x4 /* zerolatency */, nullptr);
      gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
      g_object_set(enc, "key-int-max", 60, nullptr);
      built.dropqueue = make("dropqueue", pipe);
      chain = {make(depay, pipe),
               make(dec, pipe),
               make("videoconvert", pipe),
               make_capsfilter("video/x-raw,format=I420", pipe),
               built.dropqueue,
               enc,
               make("h264parse", pipe)};
      parse_out = chain.back();
      // The encoder's output starts with a keyframe by itself; asking upstream helps the decoder.
    } else if (encoding == "OPUS") {
      // Not recorded yet: with an Opus pad on mpegtsmux, live audio and video from
      // webrtcbin stalled the video branch (4-46 of ~100 frames written in tests). The audio is
      // received (the peer sees a normal session) and discarded.
      log_line("session %s: Opus audio received, not recorded (video only)", s->id.c_str());
      on_session_main(
          s, [](const std::shared_ptr<Session> &ss) { ss->audio_codec = "opus (not recorded)"; });
      chain = {make("fakesink", pipe)};
      g_object_set(chain.front(), "sync", FALSE, "async", FALSE, nullptr);
    } else {
      log_line("session %s: ignoring a %s stream", s->id.c_str(), encoding.c_str());
      chain = {make("fakesink", pipe)};
      g_object_set(chain.front(), "sync", FALSE, "async", FALSE, nullptr);
    }
    if (parse_out) {
      built.codec = encoding == "H264" && !transcode ? "h264" : encoding + "->h264";
      for (auto &c : built.codec)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      GstPad *out = gst_element_get_static_pad(parse_out, "src");
      gst_pad_add_probe(
          out, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BLOCK),
          gate_until_keyframe, new Gate{weak, MediaKind::video, {}},
          [](gpointer p) { delete static_cast<Gate *>(p); });
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, watch_video_caps,
                        new std::weak_ptr<Session>(weak),
                        [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
      std::lock_guard<std::mutex> lk(s->media_lock);
      s->outputs.push_back({MediaKind::video, out, true}); // takes `out`'s reference
    }
    link_branch(pad, chain);
    if (parse_out) {
      built.depay_sink = gst_element_get_static_pad(chain.front(), "sink");
      built.entry = GST_PAD(gst_object_ref(pad));
      on_main([weak, b = built]() {
        if (auto ss = weak.lock()) {
          adopt_branch(ss, b);
        } else {
          gst_object_unref(b.depay_sink);
          gst_object_unref(b.entry);
        }
      });
    }
  } catch (const std::exception &e) {
    log_line("session %s: %s", s->id.c_str(), e.what());
  }
}

} // namespace keepup::record
