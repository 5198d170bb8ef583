// SPDX-License-Identifier: LGPL-2.1-or-later
// Branch building for keepup-record. H.264 is recorded as it arrives; VP8/VP9 (or anything
// with --transcode) are decoded and encoded to H.264 behind a dropqueue; Opus is recorded as
// Opus (--audio opus, the default), as AAC-LC (--audio aac) or discarded (--audio none):
//   webrtcbin -> depay -> [decode -> dropqueue -> x264enc] -> h264parse -> (gate) -> mpegtsmux
//   webrtcbin -> rtpopusdepay -> opusparse | opusdec ... avenc_aac -> (gate) -> mpegtsmux
// The gates (blocking probes on the branches' last pads) drop everything before the first
// keyframe; that keyframe adds mpegtsmux and tsrecordsink to the pipeline, so a session
// without media leaves no file. Both branches keep webrtcbin's timestamps: running time of
// the one pipeline, from the senders' RTP times (rtpbin lines audio up with video through
// RTCP sender reports), so they share one base.
#include "branch.hpp"

#include <cctype>
#include <chrono>
#include <deque>
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

constexpr int64_t kOpusFrameNs = 20 * GST_MSECOND; // what WebRTC publishers send
constexpr int64_t kMaxFillNs = 120 * GST_SECOND;   // a bigger jump is a new timeline, not silence
constexpr std::size_t kHeldAudio = 50;             // 1 s of 20 ms packets

// State of one branch's gate; streaming thread only (the session parts it touches are under
// the session's media_lock or atomic).
struct Gate {
  std::weak_ptr<Session> session;
  MediaKind kind = MediaKind::video;
  GstPad *out = nullptr;        // the pad the gate sits on (borrowed: the branch holds it)
  whip::AccessUnitTimeline dts; // video
  // Opus passthrough: where the next packet should start (running time; -1 before the first),
  // the channel count for the silence packets, and whether the gate is pushing them itself.
  bool fill_opus = false;
  int64_t next_audio = -1;
  int channels = 2;
  bool filling = false;
  std::deque<GstBuffer *> held; // audio before the file started (owned)
  ~Gate() {
    for (GstBuffer *b : held)
      gst_buffer_unref(b);
  }
};

BranchOutput *output_for(Session &s, GstPad *pad) {
  for (BranchOutput &o : s.outputs)
    if (o.pad == pad)
      return &o;
  return nullptr;
}

// Links one branch output to a new muxer pad. Under media_lock, from the output's own gate
// (a blocking probe): GStreamer pushes the pad's sticky events (stream-start, caps, segment)
// to the new peer right after a blocking probe returns, before the buffer.
bool link_to_mux(Session &s, BranchOutput &out) {
  GstPad *mux_sink = gst_element_request_pad_simple(s.mux, "sink_%d");
  out.linked = mux_sink && gst_pad_link(out.pad, mux_sink) == GST_PAD_LINK_OK;
  if (mux_sink)
    gst_object_unref(mux_sink);
  return out.linked;
}

// The muxer's first packet: its streams exist, so a pad linked from now on cannot be
// caught without caps. Runs on the muxer's thread; one shot.
GstPadProbeReturn mux_started(GstPad *, GstPadProbeInfo *, gpointer d) {
  return whip::guarded("mux start probe", GST_PAD_PROBE_REMOVE, [&]() {
    if (auto s = static_cast<std::weak_ptr<Session> *>(d)->lock()) {
      std::lock_guard<std::mutex> lk(s->media_lock);
      s->mux_started = true;
    }
    return GST_PAD_PROBE_REMOVE;
  });
}

// Puts mpegtsmux and tsrecordsink behind `out`: the recording file exists from here on.
// Runs on the streaming thread of the buffer that starts the file, inside its blocking probe
// and under media_lock.
bool start_file(const std::shared_ptr<Session> &s, BranchOutput &out) {
  gst_bin_add_many(GST_BIN(s->pipeline), GST_ELEMENT(gst_object_ref(s->mux)),
                   GST_ELEMENT(gst_object_ref(s->sink)), nullptr);
  if (!gst_element_link(s->mux, s->sink) || !link_to_mux(*s, out)) {
    log_line("session %s: cannot link the recording branch", s->id.c_str());
    return false;
  }
  GstPad *mux_src = gst_element_get_static_pad(s->mux, "src");
  gst_pad_add_probe(
      mux_src,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER_LIST | GST_PAD_PROBE_TYPE_BUFFER),
      mux_started, new std::weak_ptr<Session>(s),
      [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
  gst_object_unref(mux_src);
  gst_element_sync_state_with_parent(s->sink);
  gst_element_sync_state_with_parent(s->mux);
  return true;
}

// An audio output whose caps are known joins the file with the keyframe that starts it, so
// the tracks start together. Its caps must reach the muxer before the muxer's first packet:
// its sticky events are sent to the new muxer pad now, from the video's thread (the audio
// gate only lets buffers through once `linked` is set, under the same lock; GStreamer sends
// the same events again before the audio's next buffer, which changes nothing).
void link_audio_with_video(Session &s) {
  for (BranchOutput &o : s.outputs) {
    if (o.kind != MediaKind::audio || o.linked || !gst_pad_has_current_caps(o.pad))
      continue;
    if (!link_to_mux(s, o))
      continue;
    GstPad *peer = gst_pad_get_peer(o.pad);
    gst_pad_sticky_events_foreach(
        o.pad,
        [](GstPad *, GstEvent **ev, gpointer to) -> gboolean {
          const GstEventType t = GST_EVENT_TYPE(*ev);
          if (t == GST_EVENT_STREAM_START || t == GST_EVENT_CAPS || t == GST_EVENT_SEGMENT)
            gst_pad_send_event(GST_PAD(to), gst_event_ref(*ev));
          return TRUE;
        },
        peer);
    gst_object_unref(peer);
  }
}

// Under media_lock: the file starts now, from `out`'s buffer at `pts`. False: it cannot.
bool begin_recording(const std::shared_ptr<Session> &s, BranchOutput &out, int64_t pts) {
  if (!start_file(s, out)) {
    s->phase_ = Phase::ending; // no second attempt: the elements are already in the bin
    on_session_main(s, [](const std::shared_ptr<Session> &ss) {
      finish_session(ss);
      log_line("session ended: cannot link the recording branch");
    });
    return false;
  }
  s->phase_ = Phase::recording;
  s->file_started_us = g_get_monotonic_time();
  s->first_video_pts = out.kind == MediaKind::video ? pts : -1;
  if (out.kind == MediaKind::video) {
    link_audio_with_video(*s);
  }
  const double ms = static_cast<double>(s->file_started_us - s->started_us) / 1000.0;
  on_session_main(s, [ms](const std::shared_ptr<Session> &ss) { ss->first_frame_ms = ms; });
  return true;
}

bool audio_caps_known(Session &s) {
  for (const BranchOutput &o : s.outputs)
    if (o.kind == MediaKind::audio && gst_pad_has_current_caps(o.pad))
      return true;
  return false;
}

// The keyframe that starts the file waits (its streaming thread, up to kAudioWaitMs) for the
// audio's caps, so that both tracks start with it. After DTLS is up the first audio and video
// packets arrive as one burst, the keyframe a few ms before the first audio packet; without
// the wait the audio joined only after the muxer's first packet, 400-500 ms later.
constexpr int kAudioWaitMs = 500;

void wait_for_audio_caps(Session &s, std::unique_lock<std::mutex> &lk) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kAudioWaitMs);
  // Short slices: the caps become current on a pad outside media_lock, so a wake-up can be
  // missed; the slice bounds the cost of that.
  while (!audio_caps_known(s) && (s.phase_ == Phase::offered || s.phase_ == Phase::answered) &&
         std::chrono::steady_clock::now() < until)
    s.media_changed.wait_for(lk, std::chrono::milliseconds(5));
}

int64_t pts_of(GstBuffer *buf) {
  return GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_PTS(buf))
                                      : whip::AccessUnitTimeline::kNone;
}

// The video gate. The file starts with a keyframe: delta frames before the first one are
// dropped, and a keyframe is asked for until it comes. The first keyframe creates the file.
// Every unit written gets a strictly increasing DTS (the publisher's PTS where it allows).
// webrtcbin's segment starts at 0, so PTS here is running time, the base all branches share.
GstPadProbeReturn gate_video(GstPad *, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("keyframe gate", GST_PAD_PROBE_DROP, [&]() {
    auto *gate = static_cast<Gate *>(data);
    auto s = gate->session.lock();
    if (!s)
      return GST_PAD_PROBE_DROP;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    ++s->frames_in;
    {
      std::unique_lock<std::mutex> lk(s->media_lock);
      BranchOutput *out = output_for(*s, gate->out);
      if (!out)
        return GST_PAD_PROBE_DROP;
      if (!out->linked) {
        if (s->file_started_us != 0 ||
            (s->phase_ != Phase::offered && s->phase_ != Phase::answered))
          return GST_PAD_PROBE_DROP; // ending, or a second video stream: not recorded
        if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
          return GST_PAD_PROBE_DROP;
        if (s->expects_audio) {
          wait_for_audio_caps(*s, lk);
          out = output_for(*s, gate->out); // outputs may have grown meanwhile
        }
        if (!out || !begin_recording(s, *out, pts_of(buf)))
          return GST_PAD_PROBE_DROP;
      }
    }
    buf = gst_buffer_make_writable(buf);
    const int64_t pts = pts_of(buf);
    GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(gate->dts.dts_for(pts));
    if (!GST_BUFFER_PTS_IS_VALID(buf))
      GST_BUFFER_PTS(buf) = GST_BUFFER_DTS(buf);
    const int64_t duration = GST_BUFFER_DURATION_IS_VALID(buf)
                                 ? static_cast<int64_t>(GST_BUFFER_DURATION(buf))
                                 : 33 * GST_MSECOND;
    s->video_end = static_cast<int64_t>(GST_BUFFER_PTS(buf)) + duration;
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    ++s->frames_out;
    // PASS, not OK: OK on a blocking probe would block the pad.
    return GST_PAD_PROBE_PASS;
  });
}

// One Opus packet that decodes to 20 ms of silence (CELT, fullband, one frame; the same
// three bytes WebRTC stacks send for muted audio), stereo when the stream is.
GstBuffer *opus_silence(int channels, int64_t pts) {
  const guint8 toc = channels > 1 ? 0xFC : 0xF8;
  const guint8 bytes[] = {toc, 0xFF, 0xFE};
  GstBuffer *b = gst_buffer_new_memdup(bytes, sizeof(bytes));
  GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = static_cast<GstClockTime>(pts);
  GST_BUFFER_DURATION(b) = kOpusFrameNs;
  return b;
}

// Pushes silence packets on `pad` from gate->next_audio up to `until` (running time): DTX and
// muted stretches leave no hole in the track, and its timeline stays the sender's.
void fill_silence(Gate &gate, Session &s, GstPad *pad, int64_t until) {
  if (gate.next_audio < 0 || until - gate.next_audio < kOpusFrameNs / 2 ||
      until - gate.next_audio > kMaxFillNs)
    return;
  gate.filling = true;
  while (until - gate.next_audio >= kOpusFrameNs / 2) {
    if (gst_pad_push(pad, opus_silence(gate.channels, gate.next_audio)) != GST_FLOW_OK)
      break;
    gate.next_audio += kOpusFrameNs;
    ++s.audio_filled;
  }
  gate.filling = false;
}

int64_t duration_of(GstBuffer *buf) {
  return GST_BUFFER_DURATION_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_DURATION(buf))
                                           : kOpusFrameNs;
}

// An audio packet about to be written (writable, valid PTS): DTS = PTS, an Opus gap before
// it filled with silence, counted. False: it overlaps what was written (a late packet).
bool admit_audio(Gate &gate, Session &s, GstPad *pad, GstBuffer *buf, int64_t first_video_pts) {
  const int64_t pts = pts_of(buf);
  if (gate.fill_opus)
    fill_silence(gate, s, pad, pts);
  if (gate.next_audio >= 0 && pts < gate.next_audio - kOpusFrameNs / 2)
    return false;
  if (gate.next_audio < 0 && first_video_pts >= 0)
    log_line("session %s: audio starts at %+.1f ms of the video", s.id.c_str(),
             static_cast<double>(pts - first_video_pts) / 1e6);
  GST_BUFFER_DTS(buf) = GST_BUFFER_PTS(buf);
  gate.next_audio = pts + duration_of(buf);
  ++s.audio_out;
  return true;
}

// Packets held before the file started, written now (in order, before the current one),
// except those that end before the first video frame.
void push_held(Gate &gate, Session &s, GstPad *pad, int64_t first_video_pts) {
  while (!gate.held.empty()) {
    GstBuffer *b = gate.held.front();
    gate.held.pop_front();
    if (pts_of(b) + duration_of(b) <= first_video_pts) {
      gst_buffer_unref(b);
      continue;
    }
    b = gst_buffer_make_writable(b);
    if (!admit_audio(gate, s, pad, b, first_video_pts)) {
      gst_buffer_unref(b);
      continue;
    }
    gate.filling = true;
    const GstFlowReturn ret = gst_pad_push(pad, b);
    gate.filling = false;
    if (ret != GST_FLOW_OK)
      break;
  }
}

// The audio gate. Before the file starts, packets are held (up to kHeldAudio): the first
// packets of a session arrive as one burst once DTLS is up, audio often before the keyframe,
// and those that do not end before the keyframe belong in the file. In an audio-only session
// the first packet starts the file. An audio branch that appears after the file started joins
// once the muxer wrote its first packet (its pad then cannot be caught without caps).
GstPadProbeReturn gate_audio(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("audio gate", GST_PAD_PROBE_DROP, [&]() {
    auto *gate = static_cast<Gate *>(data);
    if (gate->filling)
      return GST_PAD_PROBE_PASS;
    auto s = gate->session.lock();
    if (!s)
      return GST_PAD_PROBE_DROP;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    const int64_t pts = pts_of(buf);
    ++s->audio_in;
    if (pts == whip::AccessUnitTimeline::kNone)
      return GST_PAD_PROBE_DROP;
    int64_t first_video_pts = -1;
    {
      std::lock_guard<std::mutex> lk(s->media_lock);
      BranchOutput *out = output_for(*s, gate->out);
      if (!out)
        return GST_PAD_PROBE_DROP;
      if (!out->linked) {
        if (s->phase_ != Phase::offered && s->phase_ != Phase::answered &&
            s->phase_ != Phase::recording)
          return GST_PAD_PROBE_DROP;
        const bool wait = s->file_started_us == 0 ? s->expects_video : !s->mux_started;
        if (wait) {
          gate->held.push_back(gst_buffer_ref(buf));
          while (gate->held.size() > kHeldAudio) {
            gst_buffer_unref(gate->held.front());
            gate->held.pop_front();
          }
          return GST_PAD_PROBE_DROP;
        }
        if (s->file_started_us == 0 ? !begin_recording(s, *out, pts) : !link_to_mux(*s, *out)) {
          log_line("session %s: cannot link the audio branch", s->id.c_str());
          return GST_PAD_PROBE_DROP;
        }
      }
      first_video_pts = s->first_video_pts;
    }
    push_held(*gate, *s, pad, first_video_pts);
    if (gate->next_audio < 0 && pts + duration_of(buf) <= first_video_pts)
      return GST_PAD_PROBE_DROP;
    buf = gst_buffer_make_writable(buf);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    return admit_audio(*gate, *s, pad, buf, first_video_pts) ? GST_PAD_PROBE_PASS
                                                             : GST_PAD_PROBE_DROP;
  });
}

// The audio output's caps: the channel count for silence packets; a keyframe may be waiting
// for them.
GstPadProbeReturn audio_caps(GstPad *, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("audio caps probe", GST_PAD_PROBE_OK, [&]() {
    auto *gate = static_cast<Gate *>(data);
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
      return GST_PAD_PROBE_OK;
    GstCaps *caps = nullptr;
    gst_event_parse_caps(ev, &caps);
    gst_structure_get_int(gst_caps_get_structure(caps, 0), "channels", &gate->channels);
    if (auto s = gate->session.lock())
      s->media_changed.notify_all();
    return GST_PAD_PROBE_OK;
  });
}

// EOS reaching the Opus parser: silence up to the end of the video first, so a track that went
// quiet (DTX) ends with the picture. On the parser's sink pad: once EOS is on a source pad,
// that pad takes no more buffers.
GstPadProbeReturn audio_eos(GstPad *, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("audio EOS probe", GST_PAD_PROBE_OK, [&]() {
    auto *gate = static_cast<Gate *>(data);
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS || gate->next_audio < 0)
      return GST_PAD_PROBE_OK;
    if (auto s = gate->session.lock())
      fill_silence(*gate, *s, gate->out, s->video_end.load());
    return GST_PAD_PROBE_OK;
  });
}

// Parts of one picture (same RTP time) leave rtph264depay as separate units when a publisher
// puts SPS/PPS between the slices of an IDR (rtph264pay config-interval=-1 with sliced-thread
// x264 does); h264parse then gives the second part no timestamp and the file gets a PES
// without PTS/DTS. The parts are joined here, one picture late (the second part keeps only
// its slices, so h264parse sees one access unit); EOS flushes the last one, from the next
// element's sink pad (once EOS is on the depayloader's source pad, that pad takes no buffer).
struct AccessUnitJoiner {
  GstBuffer *held = nullptr;
  whip::AccessUnitTimeline timeline;
  ~AccessUnitJoiner() {
    if (held)
      gst_buffer_unref(held);
  }
};

using JoinerPtr = std::shared_ptr<AccessUnitJoiner>; // shared by the two probes below

GstPadProbeReturn join_picture_parts(GstPad *, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("access unit joiner", GST_PAD_PROBE_OK, [&]() {
    auto *j = static_cast<JoinerPtr *>(data)->get();
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
      GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP && j->held) {
        gst_buffer_unref(j->held);
        j->held = nullptr;
      }
      return GST_PAD_PROBE_OK;
    }
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

// EOS reaching the element after the depayloader: the held picture goes in first.
GstPadProbeReturn flush_held_picture(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("access unit joiner EOS", GST_PAD_PROBE_OK, [&]() {
    auto *j = static_cast<JoinerPtr *>(data)->get();
    if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS && j->held) {
      GstBuffer *last = j->held;
      j->held = nullptr;
      gst_pad_chain(pad, last);
    }
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
  MediaKind kind = MediaKind::video;
  std::string codec;               // "h264", "vp8->h264", "opus", "opus->aac"
  GstElement *dropqueue = nullptr; // borrowed: the pipeline holds it
  GstPad *depay_sink = nullptr;    // owned reference (video: keyframe requests go here)
  GstPad *entry = nullptr;         // owned reference (webrtcbin's pad)
};

void release(BuiltBranch &b) {
  gst_clear_object(&b.depay_sink);
  gst_clear_object(&b.entry);
}

// Main loop: the session takes what the branch built. For video, keyframes are asked for
// now, and every 500 ms until the file started; with a dropqueue, again whenever it dropped
// (the decoder then needs a fresh start).
void adopt_branch(const std::shared_ptr<Session> &s, BuiltBranch b) {
  s->entries.push_back(b.entry);
  if (b.kind == MediaKind::audio) {
    s->audio_codec = b.codec;
    gst_clear_object(&b.depay_sink);
  } else {
    s->codec = b.codec;
    s->dropqueue = b.dropqueue;
    if (s->depay_sink)
      gst_object_unref(s->depay_sink);
    s->depay_sink = b.depay_sink;
  }
  const Phase phase = s->phase();
  if (phase == Phase::ending && s->has_file()) {
    send_eos(b.entry); // the session began to end before this branch reached the main loop
    return;
  }
  if (phase == Phase::ending || phase == Phase::finished || b.kind == MediaKind::audio)
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

// The video chain for `encoding`; `out` is its last element.
std::vector<GstElement *> video_chain(const std::string &encoding, bool transcode, GstElement *pipe,
                                      BuiltBranch &built) {
  if (encoding == "H264" && !transcode) {
    GstElement *bytestream = // what join_picture_parts reads
        make_capsfilter("video/x-h264,stream-format=byte-stream,alignment=au", pipe);
    GstElement *filter =
        make_capsfilter("video/x-h264,stream-format=byte-stream,alignment=au", pipe);
    std::vector<GstElement *> chain = {make("rtph264depay", pipe), bytestream,
                                       make("h264parse", pipe), filter};
    auto joiner = std::make_shared<AccessUnitJoiner>();
    auto free_joiner = [](gpointer p) { delete static_cast<JoinerPtr *>(p); };
    GstPad *depay_src = gst_element_get_static_pad(chain.front(), "src");
    gst_pad_add_probe(depay_src,
                      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                   GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                      join_picture_parts, new JoinerPtr(joiner), free_joiner);
    gst_object_unref(depay_src);
    GstPad *next_sink = gst_element_get_static_pad(bytestream, "sink");
    gst_pad_add_probe(next_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, flush_held_picture,
                      new JoinerPtr(joiner), free_joiner);
    gst_object_unref(next_sink);
    built.codec = "h264";
    return chain;
  }
  const char *depay = encoding == "H264"  ? "rtph264depay"
                      : encoding == "VP8" ? "rtpvp8depay"
                                          : "rtpvp9depay";
  const char *dec = encoding == "H264" ? "avdec_h264" : encoding == "VP8" ? "vp8dec" : "vp9dec";
  GstElement *enc = make("x264enc", pipe);
  g_object_set(enc, "tune", 0x4 /* zerolatency */, nullptr);
  gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
  g_object_set(enc, "key-int-max", 60, nullptr);
  built.dropqueue = make("dropqueue", pipe);
  built.codec = encoding + "->h264";
  for (auto &c : built.codec)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // The encoder's output starts with a keyframe by itself; asking upstream helps the decoder.
  return {make(depay, pipe),
          make(dec, pipe),
          make("videoconvert", pipe),
          make_capsfilter("video/x-raw,format=I420", pipe),
          built.dropqueue,
          enc,
          make("h264parse", pipe)};
}

// The audio chain: Opus as it arrives (opusparse gives each packet its duration), or decoded,
// made continuous (audiorate) and encoded to AAC-LC.
std::vector<GstElement *> audio_chain(AudioMode mode, GstElement *pipe, BuiltBranch &built) {
  built.kind = MediaKind::audio;
  if (mode == AudioMode::opus) {
    built.codec = "opus";
    return {make("rtpopusdepay", pipe), make("opusparse", pipe)};
  }
  built.codec = "opus->aac";
  GstElement *rate = make("audiorate", pipe);
  g_object_set(rate, "tolerance", static_cast<guint64>(10 * GST_MSECOND), "skip-to-first", TRUE,
               nullptr);
  GstElement *aac = make("avenc_aac", pipe);
  g_object_set(aac, "bitrate", 128000, nullptr);
  return {make("rtpopusdepay", pipe),
          make("opusdec", pipe),
          make("audioconvert", pipe),
          make("audioresample", pipe),
          rate,
          aac,
          make("aacparse", pipe)};
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
  const AudioMode audio = s->app->opt.audio;
  try {
    std::vector<GstElement *> chain;
    BuiltBranch built;
    if (encoding == "H264" || encoding == "VP8" || encoding == "VP9") {
      chain = video_chain(encoding, s->app->opt.transcode, pipe, built);
    } else if (encoding == "OPUS" && audio != AudioMode::none) {
      chain = audio_chain(audio, pipe, built);
    } else {
      if (encoding == "OPUS") {
        // --audio none: received (the peer sees a normal session) and discarded.
        log_line("session %s: Opus audio received, not recorded (--audio none)", s->id.c_str());
        on_session_main(
            s, [](const std::shared_ptr<Session> &ss) { ss->audio_codec = "opus (not recorded)"; });
      } else {
        log_line("session %s: ignoring a %s stream", s->id.c_str(), encoding.c_str());
      }
      GstElement *discard = make("fakesink", pipe);
      g_object_set(discard, "sync", FALSE, "async", FALSE, nullptr);
      link_branch(pad, {discard});
      return;
    }
    GstPad *out = gst_element_get_static_pad(chain.back(), "src");
    auto *gate = new Gate{};
    gate->session = weak;
    gate->kind = built.kind;
    gate->out = out;
    gate->fill_opus = built.kind == MediaKind::audio && audio == AudioMode::opus;
    gst_pad_add_probe(
        out, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BLOCK),
        built.kind == MediaKind::video ? gate_video : gate_audio, gate,
        [](gpointer p) { delete static_cast<Gate *>(p); });
    if (built.kind == MediaKind::video)
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, watch_video_caps,
                        new std::weak_ptr<Session>(weak),
                        [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
    else // the same gate, on the same streaming thread; deleted with the buffer probe
      gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, audio_caps, gate, nullptr);
    if (gate->fill_opus) {
      GstPad *parse_sink = gst_element_get_static_pad(chain.back(), "sink");
      gst_pad_add_probe(parse_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, audio_eos, gate, nullptr);
      gst_object_unref(parse_sink);
    }
    {
      std::lock_guard<std::mutex> lk(s->media_lock);
      s->outputs.push_back({built.kind, out, false}); // takes `out`'s reference
    }
    link_branch(pad, chain);
    built.depay_sink = gst_element_get_static_pad(chain.front(), "sink");
    built.entry = GST_PAD(gst_object_ref(pad));
    on_main([weak, b = built]() mutable {
      if (auto ss = weak.lock())
        adopt_branch(ss, b);
      else
        release(b);
    });
  } catch (const std::exception &e) {
    log_line("session %s: %s", s->id.c_str(), e.what());
  }
}

} // namespace keepup::record
