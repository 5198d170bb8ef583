// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record: a WHIP (RFC 9725) server that records every published session to a
// crash-safe MPEG-TS file.
//
//   keepup-record [--listen 127.0.0.1:8089] [--output-dir ./recordings] [--token T]
//                 [--max-sessions 8] [--connect-timeout 10] [--idle-timeout 30]
//                 [--max-connections 256] [--ice-address ADDR]... [--transcode] [--trace]
//
// POST /whip/<stream> (application/sdp) -> 201, Location /whip/<stream>/<session>, the SDP
// answer (non-trickle: sent once ICE gathering is complete). DELETE <Location> ends the
// session and finalizes its file. GET /status: sessions as JSON. GET /: a publisher page.
// H.264 is recorded as it arrives; VP8/VP9 are decoded and encoded to H.264 behind a
// dropqueue; Opus audio is received but not recorded (see on_pad_added). Each session:
// webrtcbin -> depay -> [decode -> dropqueue -> x264enc] -> mpegtsmux -> tsrecordsink
// <dir>/<stream>-<UTC>[-<n>].ts; mpegtsmux and tsrecordsink join the pipeline at the first
// keyframe, so a session without media leaves no file.
#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <nice/agent.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "callback_guard.hpp"
#include "ice_config.hpp"
#include "publisher_page.hpp"
#include "ts_writer.hpp"
#include "whip_core.hpp"

namespace {

namespace whip = keepup::whip;

constexpr std::size_t kMaxBody = 64 * 1024;

struct Options {
  bool help = false; // -h / --help: usage on stdout, exit 0
  std::string host = "127.0.0.1";
  int port = 8089;
  std::string output_dir = "recordings";
  std::string token;
  int max_sessions = 8;
  int connect_timeout_s = 10; // answered -> ICE connected, else the session ends
  int idle_timeout_s = 30;    // HTTP connections without a request in flight
  int max_connections = 256;  // open HTTP connections; the longest idle goes first
  std::vector<std::string> ice_addresses;
  bool transcode = false;
  bool trace = false;
};

struct App;

struct Session {
  App *app = nullptr;
  std::string id, stream, path, location;
  GstElement *pipeline = nullptr, *webrtc = nullptr;
  // Owned references; added to the pipeline at the first keyframe (file_started).
  GstElement *mux = nullptr, *sink = nullptr;
  std::string codec, audio_codec;
  int width = 0, height = 0;
  std::atomic<guint64> frames_in{0}, frames_out{0};
  GstElement *dropqueue = nullptr;
  SoupServerMessage *pending_offer = nullptr; // answered once ICE gathering completes
  std::vector<SoupServerMessage *> pending_deletes;
  bool answered = false, finished = false;
  std::atomic<bool> keyframe_seen{false};
  guint answer_timer = 0, ice_timer = 0, keyframe_poll = 0, connect_timer = 0, bus_watch = 0;
  GstPad *depay_sink = nullptr;
  std::mutex pads_lock;              // guards the three below, shared with streaming threads
  std::vector<GstPad *> branch_pads; // webrtcbin src pads feeding the recording
  bool ending = false;               // no file is started once set
  bool file_started = false;         // mux and sink are in the pipeline, the file exists
  whip::AccessUnitTimeline dts;      // streaming thread only
  guint64 dropped_at_last_request = 0, keyframe_requests = 0;
  gint64 started_us = 0;                  // when the offer arrived
  std::atomic<double> first_frame_ms{-1}; // offer -> first recorded (key)frame
  guint64 bytes = 0;
};

struct App {
  Options opt;
  GMainLoop *loop = nullptr;
  SoupServer *server = nullptr;
  std::map<std::string, std::shared_ptr<Session>> sessions;
  bool stopping = false;
  guint64 next_id = 1;
  std::set<std::string> reserved_paths; // recording paths of live sessions
  // HTTP connections, for the idle timeout and the bound (main loop only).
  std::unique_ptr<whip::ConnectionTable> connections;
  std::map<std::uintptr_t, GSocket *> sockets; // weak: removed when libsoup frees the socket
};

bool is_ending(Session &s) {
  std::lock_guard<std::mutex> lk(s.pads_lock);
  return s.ending;
}

void log_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_line(const char *fmt, ...) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof(when), "%H:%M:%S", &tm);
  std::printf("[%s] ", when);
  va_list args;
  va_start(args, fmt);
  std::vprintf(fmt, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

void respond(SoupServerMessage *msg, guint status, const std::string &body,
             const char *type = "text/plain") {
  soup_server_message_set_status(msg, status, nullptr);
  if (!body.empty())
    soup_server_message_set_response(msg, type, SOUP_MEMORY_COPY, body.data(), body.size());
}

void cors(SoupServerMessage *msg) {
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace(h, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
  soup_message_headers_replace(h, "Access-Control-Allow-Headers", "Authorization, Content-Type");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Location");
}

// ---------------------------------------------------------------- session life

void finish_session(const std::shared_ptr<Session> &s);
void end_session(const std::shared_ptr<Session> &s, const char *why);
void end_session_on_main(const std::weak_ptr<Session> &s, const char *why);

// Asks the sender for a keyframe: an upstream force-key-unit from the depayloader's sink pad
// becomes an RTCP PLI in webrtcbin's RTP session.
void request_keyframe(GstPad *depay_sink) {
  gst_pad_push_event(depay_sink,
                     gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM,
                                          gst_structure_new("GstForceKeyUnit", "all-headers",
                                                            G_TYPE_BOOLEAN, TRUE, nullptr)));
}

struct BranchProbe {
  std::weak_ptr<Session> session;
};

// Puts mpegtsmux and tsrecordsink behind `src` (the parser's source pad): the recording file
// exists from here on. Called from the blocking probe, so the pad's sticky events (caps,
// segment) reach the muxer before the buffer that started it.
bool start_file(Session &s, GstPad *src) {
  gst_bin_add_many(GST_BIN(s.pipeline), GST_ELEMENT(gst_object_ref(s.mux)),
                   GST_ELEMENT(gst_object_ref(s.sink)), nullptr);
  GstPad *mux_sink = gst_element_request_pad_simple(s.mux, "sink_%d");
  const bool linked =
      gst_element_link(s.mux, s.sink) && mux_sink && gst_pad_link(src, mux_sink) == GST_PAD_LINK_OK;
  if (mux_sink)
    gst_object_unref(mux_sink);
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
GstPadProbeReturn gate_until_keyframe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  return whip::guarded("keyframe gate", GST_PAD_PROBE_DROP, [&]() {
    auto *probe = static_cast<BranchProbe *>(data);
    auto s = probe->session.lock();
    if (!s)
      return GST_PAD_PROBE_DROP;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    ++s->frames_in;
    {
      std::lock_guard<std::mutex> lk(s->pads_lock);
      if (s->ending && !s->file_started)
        return GST_PAD_PROBE_DROP;
      if (!s->file_started) {
        if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
          return GST_PAD_PROBE_DROP;
        if (!start_file(*s, pad)) {
          s->ending = true; // no second attempt: the elements are already in the bin
          end_session_on_main(s, "cannot link the recording branch");
          return GST_PAD_PROBE_DROP;
        }
        s->file_started = true;
        s->keyframe_seen = true;
        s->first_frame_ms = static_cast<double>(g_get_monotonic_time() - s->started_us) / 1000.0;
      }
    }
    buf = gst_buffer_make_writable(buf);
    const int64_t pts = GST_BUFFER_PTS_IS_VALID(buf) ? static_cast<int64_t>(GST_BUFFER_PTS(buf))
                                                     : whip::AccessUnitTimeline::kNone;
    GST_BUFFER_DTS(buf) = static_cast<GstClockTime>(s->dts.dts_for(pts));
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

void link_branch(GstPad *src, const std::vector<GstElement *> &chain) {
  GstPad *sink = gst_element_get_static_pad(chain.front(), "sink");
  gst_pad_link(src, sink);
  gst_object_unref(sink);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i)
    gst_element_link(chain[i], chain[i + 1]);
  for (GstElement *e : chain)
    gst_element_sync_state_with_parent(e);
}

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
  try {
    std::vector<GstElement *> chain;
    GstElement *parse_out = nullptr;
    if (encoding == "H264" && !s->app->opt.transcode) {
      GstElement *filter = make("capsfilter", pipe);
      GstCaps *au = gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au");
      g_object_set(filter, "caps", au, nullptr);
      gst_caps_unref(au);
      GstElement *bytestream = make("capsfilter", pipe); // what join_picture_parts reads
      GstCaps *bs = gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au");
      g_object_set(bytestream, "caps", bs, nullptr);
      gst_caps_unref(bs);
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
      s->dropqueue = make("dropqueue", pipe);
      GstElement *filter = make("capsfilter", pipe);
      GstCaps *i420 = gst_caps_from_string("video/x-raw,format=I420");
      g_object_set(filter, "caps", i420, nullptr);
      gst_caps_unref(i420);
      chain = {make(depay, pipe),
               make(dec, pipe),
               make("videoconvert", pipe),
               filter,
               s->dropqueue,
               enc,
               make("h264parse", pipe)};
      parse_out = chain.back();
      // The encoder's output starts with a keyframe by itself; asking upstream helps the decoder.
    } else if (encoding == "OPUS") {
      // Not recorded yet: with an Opus pad on mpegtsmux, live audio and video from
      // webrtcbin stalled the video branch (4-46 of ~100 frames written in tests). The audio is
      // received (the peer sees a normal session) and discarded.
      log_line("session %s: Opus audio received, not recorded (video only)", s->id.c_str());
      s->audio_codec = "opus (not recorded)";
      chain = {make("fakesink", pipe)};
      g_object_set(chain.front(), "sync", FALSE, "async", FALSE, nullptr);
    } else {
      log_line("session %s: ignoring a %s stream", s->id.c_str(), encoding.c_str());
      chain = {make("fakesink", pipe)};
      g_object_set(chain.front(), "sync", FALSE, "async", FALSE, nullptr);
    }
    if (parse_out) {
      s->codec = encoding == "H264" && !s->app->opt.transcode ? "h264" : encoding + "->h264";
      for (auto &c : s->codec)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      GstPad *out = gst_element_get_static_pad(parse_out, "src");
      auto *probe = new BranchProbe{weak};
      gst_pad_add_probe(
          out, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BLOCK),
          gate_until_keyframe, probe, [](gpointer p) { delete static_cast<BranchProbe *>(p); });
      // Resolution for /status, from the parsed caps.
      gst_pad_add_probe(
          out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
          [](GstPad *, GstPadProbeInfo *info, gpointer d) -> GstPadProbeReturn {
            whip::guarded("caps probe", [&]() {
              GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
              if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
                GstCaps *c = nullptr;
                gst_event_parse_caps(ev, &c);
                if (auto ss = static_cast<std::weak_ptr<Session> *>(d)->lock()) {
                  gst_structure_get_int(gst_caps_get_structure(c, 0), "width", &ss->width);
                  gst_structure_get_int(gst_caps_get_structure(c, 0), "height", &ss->height);
                }
              }
            });
            return GST_PAD_PROBE_OK;
          },
          new std::weak_ptr<Session>(weak),
          [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
      gst_object_unref(out);
    }
    link_branch(pad, chain);
    if (parse_out) {
      std::lock_guard<std::mutex> lk(s->pads_lock);
      s->branch_pads.push_back(GST_PAD(gst_object_ref(pad)));
    }
    if (parse_out) {
      // Ask for a keyframe now, and every 500 ms until one arrived; with a dropqueue, again
      // whenever it dropped (the decoder then needs a fresh start).
      s->depay_sink = gst_element_get_static_pad(chain.front(), "sink");
      request_keyframe(s->depay_sink);
      s->keyframe_poll = g_timeout_add_full(
          G_PRIORITY_DEFAULT, 500,
          [](gpointer d) -> gboolean {
            return whip::guarded("keyframe poll", G_SOURCE_REMOVE, [&]() -> gboolean {
              auto *w = static_cast<std::weak_ptr<Session> *>(d);
              auto ss = w->lock();
              if (!ss)
                return G_SOURCE_REMOVE;
              if (is_ending(*ss)) {
                ss->keyframe_poll = 0;
                return G_SOURCE_REMOVE;
              }
              guint64 dropped = 0;
              if (ss->dropqueue)
                g_object_get(ss->dropqueue, "dropped", &dropped, nullptr);
              if (!ss->keyframe_seen || dropped > ss->dropped_at_last_request) {
                ss->dropped_at_last_request = dropped;
                request_keyframe(ss->depay_sink);
                ++ss->keyframe_requests;
              }
              return G_SOURCE_CONTINUE;
            });
          },
          new std::weak_ptr<Session>(weak),
          [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
    }
  } catch (const std::exception &e) {
    log_line("session %s: %s", s->id.c_str(), e.what());
  }
}

void on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  whip::guarded("pad-added",
                [&]() { add_branch(*static_cast<std::weak_ptr<Session> *>(data), pad); });
}

// From webrtcbin's threads: move to the main loop.
template <typename F> void on_main(F &&f) {
  auto *fn = new std::function<void()>(std::forward<F>(f));
  g_main_context_invoke_full(
      nullptr, G_PRIORITY_DEFAULT,
      [](gpointer d) -> gboolean {
        whip::guarded("main-loop call", [&]() { (*static_cast<std::function<void()> *>(d))(); });
        return G_SOURCE_REMOVE;
      },
      fn, [](gpointer d) { delete static_cast<std::function<void()> *>(d); });
}

void end_session_on_main(const std::weak_ptr<Session> &weak, const char *why) {
  on_main([weak, why]() {
    if (auto s = weak.lock())
      finish_session(s); // ending is already set: no file to finish, nothing to wait for
    log_line("session ended: %s", why);
  });
}

void answer_if_gathered(const std::shared_ptr<Session> &s) {
  if (s->answered || !s->pending_offer)
    return;
  GstWebRTCICEGatheringState gathering;
  g_object_get(s->webrtc, "ice-gathering-state", &gathering, nullptr);
  if (gathering != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  GstWebRTCSessionDescription *local = nullptr;
  g_object_get(s->webrtc, "local-description", &local, nullptr);
  if (!local)
    return;
  gchar *sdp = gst_sdp_message_as_text(local->sdp);
  gst_webrtc_session_description_free(local);
  SoupServerMessage *msg = s->pending_offer;
  s->pending_offer = nullptr;
  s->answered = true;
  cors(msg);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                               s->location.c_str());
  respond(msg, SOUP_STATUS_CREATED, sdp, "application/sdp");
  g_free(sdp);
  soup_server_message_unpause(msg);
  log_line("session %s: answered (%s), recording to %s", s->id.c_str(), s->stream.c_str(),
           s->path.c_str());
  // A peer that never connects must not hold its slot: end the session after the timeout.
  s->connect_timer = g_timeout_add_seconds_full(
      G_PRIORITY_DEFAULT, static_cast<guint>(s->app->opt.connect_timeout_s),
      [](gpointer d) -> gboolean {
        whip::guarded("connect timeout", [&]() {
          auto ss = static_cast<std::weak_ptr<Session> *>(d)->lock();
          if (!ss)
            return;
          ss->connect_timer = 0;
          GstWebRTCICEConnectionState st;
          g_object_get(ss->webrtc, "ice-connection-state", &st, nullptr);
          if (st != GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED &&
              st != GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) {
            const std::string why =
                "no ICE connection within " + std::to_string(ss->app->opt.connect_timeout_s) + " s";
            end_session(ss, why.c_str());
          }
        });
        return G_SOURCE_REMOVE;
      },
      new std::weak_ptr<Session>(s),
      [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
}

void fail_offer(const std::shared_ptr<Session> &s, const std::string &why) {
  if (SoupServerMessage *msg = s->pending_offer) {
    s->pending_offer = nullptr;
    cors(msg);
    respond(msg, SOUP_STATUS_BAD_REQUEST, why + "\n");
    soup_server_message_unpause(msg);
  }
  log_line("session %s: %s", s->id.c_str(), why.c_str());
  finish_session(s);
}

void handle_bus_message(const std::shared_ptr<Session> &s, GstMessage *msg) {
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *st = gst_message_get_structure(msg);
    if (st && gst_structure_has_name(st, "tsrecordsink-finished")) {
      gst_structure_get_uint64(st, "bytes", &s->bytes);
      s->finished = true;
      finish_session(s);
    }
    break;
  }
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    log_line("session %s: error from %s: %s (%s)", s->id.c_str(),
             GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message, dbg ? dbg : "");
    g_clear_error(&err);
    g_free(dbg);
    if (s->pending_offer)
      fail_offer(s, "the session could not start");
    else
      finish_session(s);
    break;
  }
  case GST_MESSAGE_EOS:
    // tsrecordsink posts finished before EOS reaches the bus; nothing more to wait for.
    s->finished = true;
    finish_session(s);
    break;
  default:
    break;
  }
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data) {
  whip::guarded("bus watch", [&]() {
    if (auto s = static_cast<std::weak_ptr<Session> *>(data)->lock())
      handle_bus_message(s, msg);
  });
  return TRUE;
}

// EOS into the recording: every branch's first element gets it, the mux finishes the file.
void end_session(const std::shared_ptr<Session> &s, const char *why) {
  std::vector<GstPad *> pads;
  {
    std::lock_guard<std::mutex> lk(s->pads_lock);
    if (s->ending)
      return;
    s->ending = true;
    if (s->file_started)
      pads = s->branch_pads;
  }
  log_line("session %s: ending (%s)", s->id.c_str(), why);
  if (pads.empty()) { // no file was started (no keyframe yet): nothing to finish
    finish_session(s);
    return;
  }
  // RTP carries no EOS: each branch gets one at its entry, from an idle probe on webrtcbin's
  // source pad, so it is never pushed while that pad's thread is inside the branch (sending
  // it straight into the muxer can deadlock against a streaming thread waiting there).
  for (GstPad *p : pads)
    gst_pad_add_probe(
        p, GST_PAD_PROBE_TYPE_IDLE,
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
  // A mux that cannot drain is not waited on forever.
  g_timeout_add_seconds_full(
      G_PRIORITY_DEFAULT, 10,
      [](gpointer d) -> gboolean {
        whip::guarded("EOS timeout", [&]() {
          if (auto ss = static_cast<std::weak_ptr<Session> *>(d)->lock(); ss && !ss->finished) {
            log_line("session %s: no EOS 10 s after it was sent, tearing down", ss->id.c_str());
            finish_session(ss);
          }
        });
        return G_SOURCE_REMOVE;
      },
      new std::weak_ptr<Session>(s),
      [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
}

void finish_session(const std::shared_ptr<Session> &s) {
  App &app = *s->app;
  if (!app.sessions.count(s->id))
    return;
  app.sessions.erase(s->id);
  {
    std::lock_guard<std::mutex> lk(s->pads_lock);
    s->ending = true; // from here on no streaming thread starts a file
  }
  // Every source that points at the session goes, the bus watch first: it holds the bus
  // (two sockets) and, through it, would keep the session's memory for ever.
  for (guint *id :
       {&s->bus_watch, &s->answer_timer, &s->ice_timer, &s->keyframe_poll, &s->connect_timer})
    if (*id) {
      g_source_remove(*id);
      *id = 0;
    }
  if (s->depay_sink)
    gst_object_unref(s->depay_sink);
  s->depay_sink = nullptr;
  {
    std::lock_guard<std::mutex> lk(s->pads_lock);
    for (GstPad *p : s->branch_pads)
      gst_object_unref(p);
    s->branch_pads.clear();
  }
  // Stopping from the main loop: tsrecordsink finalizes on PLAYING -> READY as well.
  gst_element_set_state(s->pipeline, GST_STATE_NULL);
  bool file_started = false;
  {
    std::lock_guard<std::mutex> lk(s->pads_lock);
    file_started = s->file_started;
  }
  if (file_started && !s->bytes) {
    struct stat st {};
    if (::stat(s->path.c_str(), &st) == 0)
      s->bytes = static_cast<guint64>(st.st_size);
  }
  const double seconds = static_cast<double>(g_get_monotonic_time() - s->started_us) / 1e6;
  log_line("session %s: ended after %.1f s: %s %dx%d, frames in %" G_GUINT64_FORMAT
           " recorded %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " bytes -> %s",
           s->id.c_str(), seconds, s->codec.empty() ? "no video" : s->codec.c_str(), s->width,
           s->height, s->frames_in.load(), s->frames_out.load(), s->bytes,
           file_started ? s->path.c_str() : "no file (no keyframe received)");
  for (SoupServerMessage *msg : s->pending_deletes) {
    cors(msg);
    respond(msg, SOUP_STATUS_OK,
            file_started ? "finished " + s->path + "\n" : "ended, nothing was recorded\n");
    soup_server_message_unpause(msg);
  }
  s->pending_deletes.clear();
  if (s->pending_offer) {
    respond(s->pending_offer, SOUP_STATUS_INTERNAL_SERVER_ERROR, "session ended\n");
    soup_server_message_unpause(s->pending_offer);
    s->pending_offer = nullptr;
  }
  gst_object_unref(s->pipeline);
  s->pipeline = nullptr;
  // The sink's stats stay readable until here; the pipeline held its own references.
  gst_clear_object(&s->mux);
  gst_clear_object(&s->sink);
  app.reserved_paths.erase(s->path);
  if (app.stopping && app.sessions.empty())
    g_main_loop_quit(app.loop);
}

GstCaps *codec_caps(const char *media, const whip::RtpCodec &c) {
  return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, media, "encoding-name",
                             G_TYPE_STRING, c.name.c_str(), "payload", G_TYPE_INT, c.payload_type,
                             "clock-rate", G_TYPE_INT, c.clock_rate, nullptr);
}

using SdpPtr = std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)>;

void start_session(App &app, SoupServerMessage *msg, const std::string &stream, SdpPtr sdp,
                   const whip::OfferSummary &offer) {
  auto s = std::make_shared<Session>();
  s->app = &app;
  s->id = std::to_string(app.next_id++) + "-" + std::to_string(g_random_int() % 100000);
  s->stream = stream;
  s->location = "/whip/" + stream + "/" + s->id;
  // Unique among live sessions and files on disk, so two publishes to one stream within a
  // second never share a file (the second start used to "recover" the first one's temp file).
  s->path = whip::unique_recording_path(
      app.opt.output_dir, stream, std::time(nullptr), [&app](const std::string &path) {
        return app.reserved_paths.count(path) != 0 || keepup::ts::file_exists(path) ||
               keepup::ts::file_exists(keepup::ts::temp_path_for(path, ".recording.ts"));
      });
  app.reserved_paths.insert(s->path);
  s->started_us = g_get_monotonic_time();
  s->pipeline = gst_pipeline_new(("session-" + s->id).c_str());
  s->webrtc = make("webrtcbin", s->pipeline);
  gst_util_set_object_arg(G_OBJECT(s->webrtc), "bundle-policy", "max-bundle");
  // Not in the pipeline yet: the first keyframe adds them (gate_until_keyframe).
  for (auto [element, factory] : {std::pair{&s->mux, "mpegtsmux"}, {&s->sink, "tsrecordsink"}}) {
    *element = gst_element_factory_make(factory, nullptr);
    if (!*element)
      throw std::runtime_error(std::string("missing GStreamer element ") + factory);
    gst_object_ref_sink(*element);
  }
  g_object_set(s->sink, "location", s->path.c_str(), nullptr);
  whip::configure_ice(s->webrtc, app.opt.ice_addresses);
  // Timestamps from the sender's RTP times only. In the default "slave" mode the jitter buffer
  // stamps the burst that arrives once DTLS is up at arrival time and then slides towards the
  // sender's clock: the first second of a recording had frames 13-27 ms apart, which players
  // see as colliding DTS. A recording wants the capture timing.
  if (GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(s->webrtc), "rtpbin")) {
    gst_util_set_object_arg(G_OBJECT(rtpbin), "buffer-mode", "none");
    gst_object_unref(rtpbin);
  }

  // Codec preferences before the offer: webrtcbin 1.22 otherwise keeps the first offered
  // codec (VP8 for Chromium).
  const auto video = whip::pick_video(offer);
  GstWebRTCRTPTransceiver *trans = nullptr;
  GstCaps *vcaps = codec_caps("video", *video);
  g_signal_emit_by_name(s->webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                        vcaps, &trans);
  gst_caps_unref(vcaps);
  if (trans)
    gst_object_unref(trans);
  if (const auto audio = whip::pick_audio(offer)) {
    GstCaps *acaps = codec_caps("audio", *audio);
    g_signal_emit_by_name(s->webrtc, "add-transceiver",
                          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, acaps, &trans);
    gst_caps_unref(acaps);
    if (trans)
      gst_object_unref(trans);
  }

  auto *weak = new std::weak_ptr<Session>(s);
  g_signal_connect_data(
      s->webrtc, "pad-added", G_CALLBACK(on_pad_added), weak,
      [](gpointer d, GClosure *) { delete static_cast<std::weak_ptr<Session> *>(d); },
      static_cast<GConnectFlags>(0));
  g_signal_connect(s->webrtc, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
                     whip::guarded("notify::ice-gathering-state", [&]() {
                       auto w = *static_cast<std::weak_ptr<Session> *>(d);
                       on_main([w]() {
                         if (auto ss = w.lock())
                           answer_if_gathered(ss);
                       });
                     });
                   }),
                   weak);
  g_signal_connect(s->webrtc, "notify::ice-connection-state",
                   G_CALLBACK(+[](GstElement *w, GParamSpec *, gpointer d) {
                     whip::guarded("notify::ice-connection-state", [&]() {
                       GstWebRTCICEConnectionState st;
                       g_object_get(w, "ice-connection-state", &st, nullptr);
                       if (st != GST_WEBRTC_ICE_CONNECTION_STATE_FAILED &&
                           st != GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
                         return;
                       auto ws = *static_cast<std::weak_ptr<Session> *>(d);
                       const bool failed = st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED;
                       on_main([ws, failed]() {
                         auto ss = ws.lock();
                         if (!ss)
                           return;
                         if (failed) {
                           end_session(ss, "ICE failed");
                           return;
                         }
                         // Disconnected may recover: end only if it lasts 5 s.
                         if (!ss->ice_timer)
                           ss->ice_timer = g_timeout_add_seconds_full(
                               G_PRIORITY_DEFAULT, 5,
                               [](gpointer p) -> gboolean {
                                 whip::guarded("ICE disconnect timer", [&]() {
                                   auto *w2 = static_cast<std::weak_ptr<Session> *>(p);
                                   if (auto s2 = w2->lock()) {
                                     s2->ice_timer = 0;
                                     GstWebRTCICEConnectionState now;
                                     g_object_get(s2->webrtc, "ice-connection-state", &now,
                                                  nullptr);
                                     if (now == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED ||
                                         now == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
                                       end_session(s2, "ICE disconnected for 5 s");
                                   }
                                 });
                                 return G_SOURCE_REMOVE;
                               },
                               new std::weak_ptr<Session>(ws),
                               [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
                       });
                     });
                   }),
                   weak);
  GstBus *bus = gst_element_get_bus(s->pipeline);
  s->bus_watch =
      gst_bus_add_watch_full(bus, G_PRIORITY_DEFAULT, on_bus, new std::weak_ptr<Session>(s),
                             [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
  gst_object_unref(bus);

  app.sessions[s->id] = s;
  s->pending_offer = msg;
  soup_server_message_pause(msg);
  if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fail_offer(s, "cannot start the recording pipeline");
    return;
  }
  log_line("session %s: offer for '%s' (video %s%s)", s->id.c_str(), stream.c_str(),
           video->name.c_str(), whip::pick_audio(offer) ? ", audio OPUS" : "");

  GstWebRTCSessionDescription *desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp.release());
  // set-remote-description -> create-answer -> set-local-description, chained by promises.
  auto *w = new std::weak_ptr<Session>(s);
  GstPromise *p = gst_promise_new_with_change_func(
      [](GstPromise *promise, gpointer d) {
        whip::guarded("set-remote-description reply", [&]() {
          auto weak_s = *static_cast<std::weak_ptr<Session> *>(d);
          const bool ok = gst_promise_get_reply(promise) == nullptr ||
                          !gst_structure_has_field(gst_promise_get_reply(promise), "error");
          gst_promise_unref(promise);
          auto ss = weak_s.lock();
          if (!ss)
            return;
          if (!ok) {
            on_main([weak_s]() {
              if (auto s2 = weak_s.lock())
                fail_offer(s2, "webrtcbin rejected the offer");
            });
            return;
          }
          GstPromise *answer_promise = gst_promise_new_with_change_func(
              [](GstPromise *ap, gpointer d2) {
                whip::guarded("create-answer reply", [&]() {
                  auto ws2 = *static_cast<std::weak_ptr<Session> *>(d2);
                  const GstStructure *reply = gst_promise_get_reply(ap);
                  GstWebRTCSessionDescription *answer = nullptr;
                  if (reply)
                    gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer,
                                      nullptr);
                  gst_promise_unref(ap);
                  auto s3 = ws2.lock();
                  if (!s3)
                    return;
                  if (!answer) {
                    on_main([ws2]() {
                      if (auto s4 = ws2.lock())
                        fail_offer(s4, "no answer for this offer (no codec in common?)");
                    });
                    return;
                  }
                  g_signal_emit_by_name(s3->webrtc, "set-local-description", answer, nullptr);
                  gst_webrtc_session_description_free(answer);
                  on_main([ws2]() {
                    if (auto s4 = ws2.lock())
                      answer_if_gathered(s4);
                  });
                });
              },
              new std::weak_ptr<Session>(weak_s),
              [](gpointer d2) { delete static_cast<std::weak_ptr<Session> *>(d2); });
          g_signal_emit_by_name(ss->webrtc, "create-answer", nullptr, answer_promise);
        });
      },
      w, [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
  g_signal_emit_by_name(s->webrtc, "set-remote-description", desc, p);
  gst_webrtc_session_description_free(desc);

  // No answer within 15 s (ICE gathering stuck): give up with 500, never hang the client.
  s->answer_timer = g_timeout_add_seconds_full(
      G_PRIORITY_DEFAULT, 15,
      [](gpointer d) -> gboolean {
        whip::guarded("answer timeout", [&]() {
          if (auto ss = static_cast<std::weak_ptr<Session> *>(d)->lock()) {
            ss->answer_timer = 0;
            if (ss->pending_offer)
              fail_offer(ss, "no answer within 15 s (ICE gathering did not complete)");
          }
        });
        return G_SOURCE_REMOVE;
      },
      new std::weak_ptr<Session>(s),
      [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
}

// ---------------------------------------------------------------- HTTP

std::string status_json(App &app) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto &[id, s] : app.sessions) {
    guint64 dropped = 0, written = 0;
    if (s->dropqueue)
      g_object_get(s->dropqueue, "dropped", &dropped, nullptr);
    if (s->sink) {
      GstStructure *st = nullptr;
      g_object_get(s->sink, "stats", &st, nullptr);
      if (st) {
        gst_structure_get_uint64(st, "bytes-written", &written);
        gst_structure_free(st);
      }
    }
    sessions.push_back(
        {{"id", id},
         {"stream", s->stream},
         {"location", s->location},
         {"codec", s->codec},
         {"audio", s->audio_codec},
         {"width", s->width},
         {"height", s->height},
         {"frames_in", s->frames_in.load()},
         {"frames_out", s->frames_out.load()},
         {"frames_dropped", dropped},
         {"bytes_written", written},
         {"file", s->path},
         {"first_frame_ms", s->first_frame_ms.load()},
         {"seconds", static_cast<double>(g_get_monotonic_time() - s->started_us) / 1e6}});
  }
  return nlohmann::json({{"sessions", sessions}, {"max_sessions", app.opt.max_sessions}}).dump(2);
}

void handle_request(App &app, SoupServerMessage *msg, const char *path) {
  const std::string method = soup_server_message_get_method(msg);
  const std::string p = path;
  cors(msg);
  if (method == "OPTIONS") { // CORS preflight
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Accept-Post",
                                 "application/sdp");
    respond(msg, SOUP_STATUS_NO_CONTENT, "");
    return;
  }
  if (p == "/" && method == "GET") {
    respond(msg, SOUP_STATUS_OK, whip::kPublisherPage, "text/html; charset=utf-8");
    return;
  }
  if (p == "/status" && method == "GET") {
    respond(msg, SOUP_STATUS_OK, status_json(app), "application/json");
    return;
  }
  if (p.rfind("/whip/", 0) != 0) {
    respond(msg, SOUP_STATUS_NOT_FOUND, "not found\n");
    return;
  }
  const char *auth =
      soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (!whip::authorized(auth, app.opt.token)) {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "WWW-Authenticate",
                                 "Bearer");
    respond(msg, SOUP_STATUS_UNAUTHORIZED, "a valid Authorization: Bearer token is required\n");
    return;
  }
  const std::string rest = p.substr(6);
  const auto slash = rest.find('/');
  const std::string stream = rest.substr(0, slash);
  if (!whip::valid_stream_name(stream)) {
    respond(msg, SOUP_STATUS_BAD_REQUEST, "stream names are [A-Za-z0-9_-]{1,64}\n");
    return;
  }
  if (slash != std::string::npos) { // /whip/<stream>/<session>
    const std::string id = rest.substr(slash + 1);
    auto it = app.sessions.find(id);
    if (it == app.sessions.end() || it->second->stream != stream) {
      respond(msg, SOUP_STATUS_NOT_FOUND, "no such session\n");
      return;
    }
    if (method != "DELETE") {
      respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "DELETE ends a session\n");
      return;
    }
    auto s = it->second;
    s->pending_deletes.push_back(msg);
    soup_server_message_pause(msg);
    end_session(s, "DELETE");
    return;
  }
  if (method != "POST") {
    respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST an SDP offer\n");
    return;
  }
  SoupMessageBody *body = soup_server_message_get_request_body(msg);
  if (body->length > static_cast<goffset>(kMaxBody)) {
    respond(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "SDP offers are limited to 64 KiB\n");
    return;
  }
  const char *type =
      soup_message_headers_get_content_type(soup_server_message_get_request_headers(msg), nullptr);
  if (!type || g_ascii_strcasecmp(type, "application/sdp") != 0) {
    respond(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/sdp\n");
    return;
  }
  if (static_cast<int>(app.sessions.size()) >= app.opt.max_sessions || app.stopping) {
    respond(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "too many sessions\n");
    return;
  }
  GBytes *bytes = soup_message_body_flatten(body);
  gsize size = 0;
  const auto *data_ptr = static_cast<const char *>(g_bytes_get_data(bytes, &size));
  const std::string offer_text(data_ptr ? data_ptr : "", size);
  g_bytes_unref(bytes);
  const auto offer = whip::summarize_offer(offer_text);
  // Parsed once: the same message becomes the session's remote description.
  GstSDPMessage *raw = nullptr;
  gst_sdp_message_new(&raw);
  SdpPtr parsed(raw, &gst_sdp_message_free);
  const bool parses = gst_sdp_message_parse_buffer(
                          reinterpret_cast<const guint8 *>(offer_text.data()),
                          static_cast<guint>(offer_text.size()), parsed.get()) == GST_SDP_OK;
  if (!offer.valid || !parses) {
    respond(msg, SOUP_STATUS_BAD_REQUEST, (offer.valid ? "malformed SDP" : offer.error) + "\n");
    return;
  }
  if (!whip::pick_video(offer)) {
    respond(msg, SOUP_STATUS_BAD_REQUEST, "no video codec we record (H264, VP8, VP9)\n");
    return;
  }
  try {
    start_session(app, msg, stream, std::move(parsed), offer);
  } catch (const std::exception &e) {
    respond(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, std::string(e.what()) + "\n");
  }
}

void handle(SoupServer *, SoupServerMessage *msg, const char *path, GHashTable *, gpointer data) {
  const bool ok = whip::guarded("HTTP handler", false, [&]() {
    handle_request(*static_cast<App *>(data), msg, path ? path : "");
    return true;
  });
  if (!ok)
    respond(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "internal error\n");
}

// ---------------------------------------------------------------- HTTP connections
// libsoup 3 has no idle timeout and no connection limit: a connection that never sends (or
// never finishes) a request is held for ever. Each connection is seen at "request-started"
// (emitted as soon as it is accepted, and again before each keep-alive request); it is busy
// from its request's headers to the end of its response (a paused WHIP POST is busy), idle
// otherwise. A timer shuts idle ones down after --idle-timeout; beyond --max-connections the
// longest idle one goes. Shutting the socket down (not closing it) lets libsoup see EOF and
// release the connection itself.

void close_connection(App &app, std::uintptr_t id) {
  if (auto it = app.sockets.find(id); it != app.sockets.end())
    g_socket_shutdown(it->second, TRUE, TRUE, nullptr);
  app.connections->closed(id);
}

void on_socket_freed(gpointer data, GObject *where_it_was) {
  whip::guarded("socket weak ref", [&]() {
    App &app = *static_cast<App *>(data);
    const auto id = reinterpret_cast<std::uintptr_t>(where_it_was);
    app.sockets.erase(id);
    app.connections->closed(id);
  });
}

void on_request_started(SoupServer *, SoupServerMessage *msg, gpointer data) {
  whip::guarded("request-started", [&]() {
    App &app = *static_cast<App *>(data);
    GSocket *sock = soup_server_message_get_socket(msg);
    if (!sock)
      return;
    const auto id = reinterpret_cast<std::uintptr_t>(sock);
    const gint64 now = g_get_monotonic_time();
    if (!app.sockets.count(id)) {
      app.sockets[id] = sock;
      g_object_weak_ref(G_OBJECT(sock), on_socket_freed, &app);
      for (std::uintptr_t victim : app.connections->opened(id, now))
        close_connection(app, victim);
    } else {
      app.connections->idle(id, now);
    }
    g_signal_connect(msg, "got-headers", G_CALLBACK(+[](SoupServerMessage *m, gpointer d) {
                       whip::guarded("got-headers", [&]() {
                         if (GSocket *s = soup_server_message_get_socket(m))
                           static_cast<App *>(d)->connections->busy(
                               reinterpret_cast<std::uintptr_t>(s), g_get_monotonic_time());
                       });
                     }),
                     &app);
  });
}

void on_request_done(SoupServer *, SoupServerMessage *msg, gpointer data) {
  whip::guarded("request-finished", [&]() {
    if (GSocket *s = soup_server_message_get_socket(msg))
      static_cast<App *>(data)->connections->idle(reinterpret_cast<std::uintptr_t>(s),
                                                  g_get_monotonic_time());
  });
}

gboolean close_idle_connections(gpointer data) {
  whip::guarded("idle connection timer", [&]() {
    App &app = *static_cast<App *>(data);
    for (std::uintptr_t id : app.connections->expired(g_get_monotonic_time()))
      close_connection(app, id);
    // libsoup 3.2 does not notice a client that closes a keep-alive connection between
    // requests (it stays in CLOSE_WAIT): an idle socket that reads EOF is closed now.
    for (std::uintptr_t id : app.connections->idle_connections())
      if (auto it = app.sockets.find(id); it != app.sockets.end()) {
        char byte;
        if (recv(g_socket_get_fd(it->second), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
          // A shutdown is not enough here: libsoup holds such a socket after the response
          // whatever happens to it. GSocket marks itself closed, so the fd number is never
          // used through it again.
          g_socket_close(it->second, nullptr);
          app.connections->closed(id);
        }
      }
  });
  return G_SOURCE_CONTINUE;
}

void stop_all(App &app, const char *why) {
  if (app.stopping)
    return;
  app.stopping = true;
  log_line("%s: finishing %zu open recording(s)", why, app.sessions.size());
  if (app.sessions.empty()) {
    g_main_loop_quit(app.loop);
    return;
  }
  const auto copy = app.sessions;
  for (const auto &[id, s] : copy)
    end_session(s, why);
}

// Temp files left by a killed run become playable recordings before anything else starts.
void recover_leftovers(const std::string &dir) {
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d)
    return;
  std::vector<std::string> temps;
  while (const gchar *name = g_dir_read_name(d))
    if (g_str_has_suffix(name, ".recording.ts"))
      temps.push_back(dir + "/" + name);
  g_dir_close(d);
  for (const auto &t : temps) {
    // cam1-<time>.recording.ts -> cam1-<time>.recovered-<n>.ts, then the temp file goes.
    const std::string final_path = t.substr(0, t.size() - std::strlen(".recording.ts")) + ".ts";
    const std::string out = keepup::ts::recovered_path_for(final_path);
    const keepup::ts::RecoveryReport r = keepup::ts::recover_ts(t, out);
    if (r.ok) {
      std::remove(t.c_str());
      log_line("recovered %s -> %s (%llu packets)", t.c_str(), out.c_str(),
               static_cast<unsigned long long>(r.packets));
    } else {
      log_line("cannot recover %s: %s", t.c_str(), r.error.c_str());
    }
  }
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--transcode") {
      o.transcode = true;
    } else if (a == "--trace") {
      o.trace = true;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
      return true;
    } else if (!v) {
      std::fprintf(stderr, "keepup-record: %s needs a value\n", a.c_str());
      return false;
    } else if (a == "--listen") {
      const std::string hp = argv[++i];
      const auto colon = hp.rfind(':');
      if (colon == std::string::npos || (o.port = std::atoi(hp.c_str() + colon + 1)) <= 0) {
        std::fprintf(stderr, "keepup-record: --listen takes HOST:PORT\n");
        return false;
      }
      o.host = hp.substr(0, colon);
    } else if (a == "--output-dir") {
      o.output_dir = argv[++i];
    } else if (a == "--token") {
      o.token = argv[++i];
    } else if (a == "--max-sessions") {
      o.max_sessions = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--connect-timeout" || a == "--idle-timeout" || a == "--max-connections") {
      const int n = std::atoi(argv[++i]);
      if (n < 1) {
        std::fprintf(stderr, "keepup-record: %s takes a positive number\n", a.c_str());
        return false;
      }
      (a == "--connect-timeout" ? o.connect_timeout_s
       : a == "--idle-timeout"  ? o.idle_timeout_s
                                : o.max_connections) = n;
    } else if (a == "--ice-address") {
      o.ice_addresses.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "keepup-record: unknown option %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  App app;
  const bool parsed = parse(argc, argv, app.opt);
  if (!parsed || app.opt.help) {
    std::fprintf(parsed ? stdout : stderr,
                 "usage: keepup-record [--listen 127.0.0.1:8089] [--output-dir DIR] [--token T]\n"
                 "                     [--max-sessions 8] [--connect-timeout 10] "
                 "[--idle-timeout 30]\n"
                 "                     [--max-connections 256] [--ice-address ADDR]... "
                 "[--transcode] [--trace]\n");
    return parsed ? 0 : 2;
  }
  if (app.opt.trace && !g_getenv("GST_TRACERS"))
    g_setenv("GST_TRACERS", "stagelatency(interval=10)", TRUE);
  gst_init(&argc, &argv);
  for (const char *needed : {"webrtcbin", "tsrecordsink", "dropqueue", "mpegtsmux", "nicesrc"})
    if (GstElementFactory *f = gst_element_factory_find(needed)) {
      gst_object_unref(f);
    } else {
      std::fprintf(stderr, "keepup-record: GStreamer element %s is missing (%s)\n", needed,
                   std::string(needed) == "nicesrc" ? "apt-get install gstreamer1.0-nice"
                                                    : "see the README");
      return 1;
    }
  if (g_mkdir_with_parents(app.opt.output_dir.c_str(), 0755) != 0) {
    std::fprintf(stderr, "keepup-record: cannot create %s: %s\n", app.opt.output_dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  recover_leftovers(app.opt.output_dir);

  app.loop = g_main_loop_new(nullptr, FALSE);
  app.server = soup_server_new("server-header", "keepup-record", nullptr);
  soup_server_add_handler(app.server, nullptr, handle, &app, nullptr);
  app.connections = std::make_unique<whip::ConnectionTable>(
      static_cast<int64_t>(app.opt.idle_timeout_s) * G_USEC_PER_SEC,
      static_cast<std::size_t>(app.opt.max_connections));
  g_signal_connect(app.server, "request-started", G_CALLBACK(on_request_started), &app);
  g_signal_connect(app.server, "request-finished", G_CALLBACK(on_request_done), &app);
  g_signal_connect(app.server, "request-aborted", G_CALLBACK(on_request_done), &app);
  // Checked every second: an idle connection is closed within the timeout + 1 s.
  const guint idle_check = g_timeout_add_seconds(1, close_idle_connections, &app);
  GError *err = nullptr;
  GInetAddress *ia = g_inet_address_new_from_string(app.opt.host.c_str());
  if (!ia) {
    std::fprintf(stderr, "keepup-record: %s is not an IP address\n", app.opt.host.c_str());
    return 2;
  }
  GSocketAddress *sa = g_inet_socket_address_new(ia, static_cast<guint16>(app.opt.port));
  g_object_unref(ia);
  // Our own listening socket: soup_server_listen() keeps GSocket's backlog of 10, so a burst
  // of connections (200 idle ones) filled the accept queue and every further client, /status
  // included, waited for a SYN retransmit (1 s, then 3 s).
  GSocket *listener = g_socket_new(g_socket_address_get_family(sa), G_SOCKET_TYPE_STREAM,
                                   G_SOCKET_PROTOCOL_TCP, &err);
  if (listener) {
    g_socket_set_listen_backlog(listener, std::max(128, app.opt.max_connections));
    if (!g_socket_bind(listener, sa, TRUE, &err) || !g_socket_listen(listener, &err) ||
        !soup_server_listen_socket(app.server, listener, static_cast<SoupServerListenOptions>(0),
                                   &err))
      g_clear_object(&listener);
  }
  g_object_unref(sa);
  if (!listener) {
    std::fprintf(stderr, "keepup-record: cannot listen on %s:%d: %s\n", app.opt.host.c_str(),
                 app.opt.port, err ? err->message : "unknown error");
    g_clear_error(&err);
    return 1;
  }
  g_object_unref(listener); // the server holds it
  log_line("keepup-record listening on http://%s:%d/ (WHIP: /whip/<stream>), recordings in %s%s",
           app.opt.host.c_str(), app.opt.port, app.opt.output_dir.c_str(),
           app.opt.token.empty() ? "" : ", token required");
  g_unix_signal_add(
      SIGINT,
      [](gpointer d) -> gboolean {
        whip::guarded("SIGINT", [&]() { stop_all(*static_cast<App *>(d), "SIGINT"); });
        return G_SOURCE_CONTINUE;
      },
      &app);
  g_unix_signal_add(
      SIGTERM,
      [](gpointer d) -> gboolean {
        whip::guarded("SIGTERM", [&]() { stop_all(*static_cast<App *>(d), "SIGTERM"); });
        return G_SOURCE_CONTINUE;
      },
      &app);
  g_main_loop_run(app.loop);
  g_source_remove(idle_check);
  soup_server_disconnect(app.server);
  for (auto &[id, sock] : app.sockets)
    g_object_weak_unref(G_OBJECT(sock), on_socket_freed, &app);
  app.sockets.clear();
  g_object_unref(app.server);
  g_main_loop_unref(app.loop);
  log_line("keepup-record stopped");
  return 0;
}
