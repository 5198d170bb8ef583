// SPDX-License-Identifier: LGPL-2.1-or-later
// Session lifecycle for keepup-record: offer -> answer (non-trickle, once ICE gathering is
// complete) -> recording -> EOS -> finalized file. Main loop, except where noted.
#include "session.hpp"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

#include "branch.hpp"
#include "cluster.hpp"
#include "ice_config.hpp"
#include "routes.hpp"
#include "ts_writer.hpp"

namespace keepup::record {

const char *phase_name(Phase p) {
  switch (p) {
  case Phase::offered:
    return "offered";
  case Phase::answered:
    return "answered";
  case Phase::recording:
    return "recording";
  case Phase::ending:
    return "ending";
  case Phase::finished:
    return "finished";
  }
  return "unknown";
}

namespace {

struct TimeoutData {
  std::weak_ptr<Session> session;
  std::function<bool(const std::shared_ptr<Session> &)> tick;
};

} // namespace

guint session_timeout(const std::shared_ptr<Session> &s, guint interval_ms,
                      std::function<bool(const std::shared_ptr<Session> &)> tick) {
  return g_timeout_add_full(
      G_PRIORITY_DEFAULT, interval_ms,
      [](gpointer d) -> gboolean {
        return whip::guarded("session timer", G_SOURCE_REMOVE, [&]() -> gboolean {
          auto *t = static_cast<TimeoutData *>(d);
          auto ss = t->session.lock();
          return ss && t->tick(ss) ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
        });
      },
      new TimeoutData{s, std::move(tick)},
      [](gpointer d) { delete static_cast<TimeoutData *>(d); });
}

void on_session_main(const std::weak_ptr<Session> &weak,
                     std::function<void(const std::shared_ptr<Session> &)> f) {
  on_main([weak, f = std::move(f)]() {
    if (auto s = weak.lock())
      f(s);
  });
}

namespace {

// offered -> answered only: a session that began to end (or whose file started) keeps its
// phase; phases never go back.
void mark_answered(Session &s) {
  std::lock_guard<std::mutex> lk(s.media_lock);
  if (s.phase_ == Phase::offered)
    s.phase_ = Phase::answered;
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

// A peer that never connects must not hold its slot: the session ends after the timeout.
void check_connected(const std::shared_ptr<Session> &s) {
  s->connect_timer = 0;
  GstWebRTCICEConnectionState st;
  g_object_get(s->webrtc, "ice-connection-state", &st, nullptr);
  if (st != GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED &&
      st != GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) {
    const std::string why =
        "no ICE connection within " + std::to_string(s->app->opt.connect_timeout_s) + " s";
    end_session(s, why.c_str());
  }
}

// Transport-wide congestion control (RTP header extension): the browser estimates bandwidth
// from the feedback rtpsession sends for it (RTCP transport-cc), which it does once the
// extension is in the negotiated caps.
constexpr const char *kTwccUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// rtpsession sends TWCC feedback with its RTCP, which for a receive-only session of the default
// bandwidth comes every ~430 ms; the browser's estimate wants it every 50-250 ms (libwebrtc's
// own receivers send it every 100 ms). An interval of 100 ms and a larger RTCP budget for
// receivers (early RTCP is allowed once per regular interval) bring it to 100-150 ms.
constexpr guint64 kTwccFeedbackIntervalNs = 100 * GST_MSECOND;
constexpr int kRtcpReceiverBandwidth = 32000;

void set_twcc_feedback_interval(GstElement *webrtc, guint sessions) {
  GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
  if (!rtpbin)
    return;
  for (guint id = 0; id < sessions; ++id) {
    GObject *session = nullptr;
    g_signal_emit_by_name(rtpbin, "get-internal-session", id, &session);
    if (!session)
      continue;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(session), "twcc-feedback-interval"))
      g_object_set(session, "twcc-feedback-interval", kTwccFeedbackIntervalNs, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(session), "rtcp-rr-bandwidth"))
      g_object_set(session, "rtcp-rr-bandwidth", kRtcpReceiverBandwidth, nullptr);
    g_object_unref(session);
  }
  gst_object_unref(rtpbin);
}

// Where the answer negotiates transport-cc feedback, its video fmtp gains x-google-start-bitrate:
// Chromium then starts its estimate (and picks its first resolution) there instead of at
// 300 kbit/s, and the feedback corrects it within a second where the path has less.
constexpr int kStartBitrateKbps = 2000;

void add_start_bitrate(GstSDPMessage *answer) {
  for (guint i = 0; i < gst_sdp_message_medias_len(answer); ++i) {
    auto *m = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(answer, i));
    if (g_strcmp0(gst_sdp_media_get_media(m), "video") != 0 || gst_sdp_media_formats_len(m) == 0)
      continue;
    const std::string pt = gst_sdp_media_get_format(m, 0);
    bool fb = false, ext = false; // rtcp-fb transport-cc and the header extension: both
    for (guint a = 0; a < gst_sdp_media_attributes_len(m); ++a) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
      const std::string value = attr->value ? attr->value : "";
      fb = fb || (g_strcmp0(attr->key, "rtcp-fb") == 0 && value == pt + " transport-cc");
      ext =
          ext || (g_strcmp0(attr->key, "extmap") == 0 && value.find(kTwccUri) != std::string::npos);
    }
    const bool feedback = fb && ext;
    if (!feedback)
      continue;
    const std::string param = "x-google-start-bitrate=" + std::to_string(kStartBitrateKbps);
    bool replaced = false;
    for (guint a = 0; a < gst_sdp_media_attributes_len(m) && !replaced; ++a) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
      const std::string value = attr->value ? attr->value : "";
      if (g_strcmp0(attr->key, "fmtp") != 0 || value.rfind(pt + " ", 0) != 0)
        continue;
      GstSDPAttribute updated;
      gst_sdp_attribute_set(&updated, "fmtp", (value + ";" + param).c_str());
      gst_sdp_media_replace_attribute(m, a, &updated);
      replaced = true;
    }
    if (!replaced)
      gst_sdp_media_add_attribute(m, "fmtp", (pt + " " + param).c_str());
  }
}

void answer_if_gathered(const std::shared_ptr<Session> &s) {
  if (s->phase() != Phase::offered || !s->pending_offer)
    return;
  GstWebRTCICEGatheringState gathering;
  g_object_get(s->webrtc, "ice-gathering-state", &gathering, nullptr);
  if (gathering != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  GstWebRTCSessionDescription *local = nullptr;
  g_object_get(s->webrtc, "local-description", &local, nullptr);
  if (!local)
    return;
  set_twcc_feedback_interval(s->webrtc, gst_sdp_message_medias_len(local->sdp));
  // What the peer gets; webrtcbin keeps its own (the parameter only concerns the sender).
  GstSDPMessage *answer = nullptr;
  gst_sdp_message_copy(local->sdp, &answer);
  gst_webrtc_session_description_free(local);
  add_start_bitrate(answer);
  gchar *sdp = gst_sdp_message_as_text(answer);
  gst_sdp_message_free(answer);
  SoupServerMessage *msg = s->pending_offer;
  s->pending_offer = nullptr;
  mark_answered(*s);
  answer_offer(msg, *s, sdp);
  g_free(sdp);
  soup_server_message_unpause(msg);
  log_line("session %s: answered (%s), recording to %s", s->id.c_str(), s->stream.c_str(),
           s->path.c_str());
  // A publisher that vanishes without DELETE (browser killed, network gone) is not noticed by
  // ICE here (1.22 keeps "connected"): no RTP packet for --media-timeout ends the session.
  s->media_seen_us = g_get_monotonic_time();
  s->media_timer = session_timeout(s, 1000, [](const std::shared_ptr<Session> &ss) {
    const guint64 seen = ss->frames_in.load() + ss->audio_in.load();
    const gint64 now = g_get_monotonic_time();
    if (seen != ss->media_seen) {
      ss->media_seen = seen;
      ss->media_seen_us = now;
      return true;
    }
    if (now - ss->media_seen_us <
        static_cast<gint64>(ss->app->opt.media_timeout_s) * G_USEC_PER_SEC)
      return true;
    ss->media_timer = 0;
    const std::string why = "no media for " + std::to_string(ss->app->opt.media_timeout_s) + " s";
    end_session(ss, why.c_str());
    return false;
  });
  s->connect_timer = session_timeout(s, static_cast<guint>(s->app->opt.connect_timeout_s) * 1000,
                                     [](const std::shared_ptr<Session> &ss) {
                                       check_connected(ss);
                                       return false;
                                     });
}

void handle_bus_message(const std::shared_ptr<Session> &s, GstMessage *msg) {
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *st = gst_message_get_structure(msg);
    if (st && gst_structure_has_name(st, "tsrecordsink-finished")) {
      guint64 bytes = 0;
      gst_structure_get_uint64(st, "bytes", &bytes);
      s->bytes += bytes; // one message per file: several with --segment-seconds
      file_finished(*s->app, st);
      if (s->app->opt.routes.segment_seconds == 0 || s->phase() == Phase::ending)
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

// The caps of a receive transceiver for an offered codec: payload, name, clock rate, and what
// the offer proposes for feedback: rtcp-fb nack, nack pli, ccm fir, transport-cc, goog-remb for
// this payload, and the transport-wide-cc extension with the offer's id. Without the last two
// the answer had no a=extmap for it, the browser got no congestion feedback and stayed at
// 320-640 px wide for 10-14 s (issue 12).
GstCaps *codec_caps(const char *media, const whip::RtpCodec &c, const GstSDPMessage *offer) {
  GstCaps *caps =
      gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, media, "encoding-name",
                          G_TYPE_STRING, c.name.c_str(), "payload", G_TYPE_INT, c.payload_type,
                          "clock-rate", G_TYPE_INT, c.clock_rate, nullptr);
  GstStructure *st = gst_caps_get_structure(caps, 0);
  const std::string pt = std::to_string(c.payload_type);
  for (guint i = 0; i < gst_sdp_message_medias_len(offer); ++i) {
    const GstSDPMedia *m = gst_sdp_message_get_media(offer, i);
    if (g_strcmp0(gst_sdp_media_get_media(m), media) != 0)
      continue;
    bool has_pt = false;
    for (guint f = 0; f < gst_sdp_media_formats_len(m); ++f)
      has_pt = has_pt || pt == gst_sdp_media_get_format(m, f);
    if (!has_pt)
      continue;
    for (guint a = 0; a < gst_sdp_media_attributes_len(m); ++a) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
      const std::string key = attr->key ? attr->key : "", value = attr->value ? attr->value : "";
      if (key == "rtcp-fb" && value.rfind(pt + " ", 0) == 0) {
        const std::string fb = value.substr(pt.size() + 1);
        if (fb == "nack" || fb == "nack pli" || fb == "ccm fir" || fb == "transport-cc" ||
            fb == "goog-remb") {
          std::string field = "rtcp-fb-" + fb;
          std::replace(field.begin(), field.end(), ' ', '-');
          gst_structure_set(st, field.c_str(), G_TYPE_BOOLEAN, TRUE, nullptr);
        }
      } else if (key == "extmap") {
        // "<id>[/<direction>] <uri> [<attributes>]"
        const auto space = value.find(' ');
        if (space == std::string::npos)
          continue;
        const int id = std::atoi(value.c_str());
        std::string uri = value.substr(space + 1);
        uri = uri.substr(0, uri.find(' '));
        if (uri == kTwccUri && id >= 1 && id <= 255)
          gst_structure_set(st, ("extmap-" + std::to_string(id)).c_str(), G_TYPE_STRING, kTwccUri,
                            nullptr);
      }
    }
    break;
  }
  return caps;
}

void add_transceiver(GstElement *webrtc, GstCaps *caps) {
  GstWebRTCRTPTransceiver *trans = nullptr;
  g_signal_emit_by_name(webrtc, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                        caps, &trans);
  gst_caps_unref(caps);
  if (trans)
    gst_object_unref(trans);
}

void on_pad_added(GstElement *, GstPad *pad, gpointer data) {
  whip::guarded("pad-added",
                [&]() { add_branch(*static_cast<std::weak_ptr<Session> *>(data), pad); });
}

// webrtcbin's thread: ICE failed ends the session; disconnected ends it if it lasts 5 s.
void on_ice_connection_state(GstElement *webrtc, GParamSpec *, gpointer d) {
  whip::guarded("notify::ice-connection-state", [&]() {
    GstWebRTCICEConnectionState st;
    g_object_get(webrtc, "ice-connection-state", &st, nullptr);
    if (st != GST_WEBRTC_ICE_CONNECTION_STATE_FAILED &&
        st != GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
      return;
    const bool failed = st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED;
    on_session_main(
        *static_cast<std::weak_ptr<Session> *>(d), [failed](const std::shared_ptr<Session> &s) {
          if (failed) {
            end_session(s, "ICE failed");
            return;
          }
          if (s->ice_timer)
            return;
          s->ice_timer = session_timeout(s, 5000, [](const std::shared_ptr<Session> &ss) {
            ss->ice_timer = 0;
            GstWebRTCICEConnectionState now;
            g_object_get(ss->webrtc, "ice-connection-state", &now, nullptr);
            if (now == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED ||
                now == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
              end_session(ss, "ICE disconnected for 5 s");
            return false;
          });
        });
  });
}

// set-remote-description -> create-answer -> set-local-description, chained by promises on
// webrtcbin's thread; failures and the answer go to the main loop.
void on_answer_created(GstPromise *promise, gpointer d) {
  whip::guarded("create-answer reply", [&]() {
    auto weak = *static_cast<std::weak_ptr<Session> *>(d);
    const GstStructure *reply = gst_promise_get_reply(promise);
    GstWebRTCSessionDescription *answer = nullptr;
    if (reply)
      gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
    gst_promise_unref(promise);
    auto s = weak.lock();
    if (!s)
      return;
    if (!answer) {
      on_session_main(weak, [](const std::shared_ptr<Session> &ss) {
        fail_offer(ss, "no answer for this offer (no codec in common?)");
      });
      return;
    }
    g_signal_emit_by_name(s->webrtc, "set-local-description", answer, nullptr);
    gst_webrtc_session_description_free(answer);
    on_session_main(weak, answer_if_gathered);
  });
}

void on_remote_description_set(GstPromise *promise, gpointer d) {
  whip::guarded("set-remote-description reply", [&]() {
    auto weak = *static_cast<std::weak_ptr<Session> *>(d);
    const bool ok = gst_promise_get_reply(promise) == nullptr ||
                    !gst_structure_has_field(gst_promise_get_reply(promise), "error");
    gst_promise_unref(promise);
    auto s = weak.lock();
    if (!s)
      return;
    if (!ok) {
      on_session_main(weak, [](const std::shared_ptr<Session> &ss) {
        fail_offer(ss, "webrtcbin rejected the offer");
      });
      return;
    }
    GstPromise *answer_promise = gst_promise_new_with_change_func(
        on_answer_created, new std::weak_ptr<Session>(weak),
        [](gpointer p) { delete static_cast<std::weak_ptr<Session> *>(p); });
    g_signal_emit_by_name(s->webrtc, "create-answer", nullptr, answer_promise);
  });
}

} // namespace

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
        return app.reserved_paths.count(path) != 0 || keepup::file_exists(path) ||
               keepup::file_exists(keepup::ts::temp_path_for(path));
      });
  app.reserved_paths.insert(s->path);
  s->started_us = g_get_monotonic_time();
  s->pipeline = gst_pipeline_new(("session-" + s->id).c_str());
  s->webrtc = gst_element_factory_make("webrtcbin", nullptr);
  if (!s->webrtc)
    throw std::runtime_error("missing GStreamer element webrtcbin");
  gst_bin_add(GST_BIN(s->pipeline), s->webrtc);
  gst_util_set_object_arg(G_OBJECT(s->webrtc), "bundle-policy", "max-bundle");
  // Not in the pipeline yet: the first keyframe adds them (branch.cpp, start_file).
  for (auto [element, factory] : {std::pair{&s->mux, "mpegtsmux"}, {&s->sink, "tsrecordsink"}}) {
    *element = gst_element_factory_make(factory, nullptr);
    if (!*element)
      throw std::runtime_error(std::string("missing GStreamer element ") + factory);
    gst_object_ref_sink(*element);
  }
  configure_sink(app, s->sink, s->path); // with --segment-seconds: numbered files
  whip::configure_ice(s->webrtc, app.opt.ice_addresses);
  configure_ice_servers(app, s->webrtc);
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
  const auto audio = whip::pick_audio(offer);
  s->expects_video = video.has_value();
  s->expects_audio = audio.has_value() && app.opt.audio != AudioMode::none;
  if (video)
    add_transceiver(s->webrtc, codec_caps("video", *video, sdp.get()));
  if (audio)
    add_transceiver(s->webrtc, codec_caps("audio", *audio, sdp.get()));

  auto *weak = new std::weak_ptr<Session>(s);
  g_signal_connect_data(
      s->webrtc, "pad-added", G_CALLBACK(on_pad_added), weak,
      [](gpointer d, GClosure *) { delete static_cast<std::weak_ptr<Session> *>(d); },
      static_cast<GConnectFlags>(0));
  g_signal_connect(s->webrtc, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GstElement *, GParamSpec *, gpointer d) {
                     whip::guarded("notify::ice-gathering-state", [&]() {
                       on_session_main(*static_cast<std::weak_ptr<Session> *>(d),
                                       answer_if_gathered);
                     });
                   }),
                   weak);
  g_signal_connect(s->webrtc, "notify::ice-connection-state", G_CALLBACK(on_ice_connection_state),
                   weak);
  GstBus *bus = gst_element_get_bus(s->pipeline);
  s->bus_watch =
      gst_bus_add_watch_full(bus, G_PRIORITY_DEFAULT, on_bus, new std::weak_ptr<Session>(s),
                             [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
  gst_object_unref(bus);

  app.sessions[s->id] = s;
  cluster_sessions_changed(app);
  s->pending_offer = msg;
  soup_server_message_pause(msg);
  if (gst_element_set_state(s->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fail_offer(s, "cannot start the recording pipeline");
    return;
  }
  log_line("session %s: offer for '%s' (video %s, audio %s)", s->id.c_str(), stream.c_str(),
           video ? video->name.c_str() : "none",
           !audio                             ? "none"
           : app.opt.audio == AudioMode::opus ? "OPUS, recorded as Opus"
           : app.opt.audio == AudioMode::aac  ? "OPUS, recorded as AAC"
                                              : "OPUS, not recorded");

  GstWebRTCSessionDescription *desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp.release());
  GstPromise *p = gst_promise_new_with_change_func(
      on_remote_description_set, new std::weak_ptr<Session>(s),
      [](gpointer d) { delete static_cast<std::weak_ptr<Session> *>(d); });
  g_signal_emit_by_name(s->webrtc, "set-remote-description", desc, p);
  gst_webrtc_session_description_free(desc);

  // No answer within 15 s (ICE gathering stuck): give up with 500, never hang the client.
  s->answer_timer = session_timeout(s, 15000, [](const std::shared_ptr<Session> &ss) {
    ss->answer_timer = 0;
    if (ss->pending_offer)
      fail_offer(ss, "no answer within 15 s (ICE gathering did not complete)");
    return false;
  });
}

// EOS into the recording: every branch's entry gets it, the mux finishes the file.
void end_session(const std::shared_ptr<Session> &s, const char *why) {
  bool has_file = false;
  {
    std::lock_guard<std::mutex> lk(s->media_lock);
    if (s->phase_ == Phase::ending || s->phase_ == Phase::finished)
      return;
    s->phase_ = Phase::ending; // from here on no streaming thread starts a file
    has_file = s->file_started_us != 0;
  }
  s->end_reason = why;
  log_line("session %s: ending (%s)", s->id.c_str(), why);
  if (!has_file) { // no file was started: nothing to finish
    finish_session(s);
    return;
  }
  // A branch that reaches the main loop after this gets its EOS there (adopt_branch).
  for (GstPad *p : s->entries)
    send_eos(p);
  // A mux that cannot drain is not waited on forever.
  s->eos_timer = session_timeout(s, 10000, [](const std::shared_ptr<Session> &ss) {
    ss->eos_timer = 0;
    log_line("session %s: no EOS 10 s after it was sent, tearing down", ss->id.c_str());
    finish_session(ss);
    return false;
  });
}

void finish_session(const std::shared_ptr<Session> &s) {
  App &app = *s->app;
  if (!app.sessions.count(s->id))
    return;
  app.sessions.erase(s->id);
  cluster_sessions_changed(app);
  bool has_file = false;
  {
    std::lock_guard<std::mutex> lk(s->media_lock);
    s->phase_ = Phase::finished; // from here on no streaming thread starts a file
    has_file = s->file_started_us != 0;
  }
  // Every source that points at the session goes, the bus watch first: it holds the bus
  // (two sockets) and, through it, would keep the session's memory for ever.
  for (guint *id : {&s->bus_watch, &s->answer_timer, &s->ice_timer, &s->keyframe_poll,
                    &s->connect_timer, &s->eos_timer, &s->media_timer})
    if (*id) {
      g_source_remove(*id);
      *id = 0;
    }
  if (s->depay_sink)
    gst_object_unref(s->depay_sink);
  s->depay_sink = nullptr;
  for (GstPad *p : s->entries)
    gst_object_unref(p);
  s->entries.clear();
  // Stopping from the main loop: tsrecordsink finalizes on PLAYING -> READY as well.
  gst_element_set_state(s->pipeline, GST_STATE_NULL);
  {
    std::lock_guard<std::mutex> lk(s->media_lock);
    for (BranchOutput &o : s->outputs)
      gst_object_unref(o.pad);
    s->outputs.clear();
  }
  if (has_file && !s->bytes) {
    struct stat st {};
    if (::stat(s->path.c_str(), &st) == 0)
      s->bytes = static_cast<guint64>(st.st_size);
  }
  const double seconds = static_cast<double>(g_get_monotonic_time() - s->started_us) / 1e6;
  log_line("session %s: ended after %.1f s: %s %dx%d, frames in %" G_GUINT64_FORMAT
           " recorded %" G_GUINT64_FORMAT "; audio %s, packets in %" G_GUINT64_FORMAT
           " recorded %" G_GUINT64_FORMAT " (+%" G_GUINT64_FORMAT " silence); %" G_GUINT64_FORMAT
           " bytes -> %s",
           s->id.c_str(), seconds, s->codec.empty() ? "no video" : s->codec.c_str(), s->width,
           s->height, s->frames_in.load(), s->frames_out.load(),
           s->audio_codec.empty() ? "none" : s->audio_codec.c_str(), s->audio_in.load(),
           s->audio_out.load(), s->audio_filled.load(), s->bytes,
           has_file ? s->path.c_str() : "no file (no keyframe received)");
  session_finished(app, *s, has_file);
  for (SoupServerMessage *msg : s->pending_deletes) {
    cors(msg);
    respond(msg, SOUP_STATUS_OK,
            has_file ? "finished " + s->path + "\n" : "ended, nothing was recorded\n");
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

nlohmann::json session_status(Session &s) {
  guint64 dropped = 0, written = 0;
  if (s.dropqueue)
    g_object_get(s.dropqueue, "dropped", &dropped, nullptr);
  if (s.sink) {
    GstStructure *st = nullptr;
    g_object_get(s.sink, "stats", &st, nullptr);
    if (st) {
      gst_structure_get_uint64(st, "bytes-written", &written);
      gst_structure_free(st);
    }
  }
  return {{"id", s.id},
          {"stream", s.stream},
          {"location", s.location},
          {"phase", phase_name(s.phase())},
          {"codec", s.codec},
          {"audio", s.audio_codec},
          {"audio_packets_in", s.audio_in.load()},
          {"audio_packets", s.audio_out.load()},
          {"audio_packets_filled", s.audio_filled.load()},
          {"width", s.width},
          {"height", s.height},
          {"frames_in", s.frames_in.load()},
          {"frames_out", s.frames_out.load()},
          {"frames_dropped", dropped},
          {"bytes_written", written},
          {"file", s.path},
          {"first_frame_ms", s.first_frame_ms},
          {"seconds", static_cast<double>(g_get_monotonic_time() - s.started_us) / 1e6}};
}

void stop_all(App &app, const char *why) {
  if (app.stopping)
    return;
  app.stopping = true;
  cluster_sessions_changed(app);
  log_line("%s: finishing %zu open recording(s)", why, app.sessions.size());
  if (app.sessions.empty()) {
    g_main_loop_quit(app.loop);
    return;
  }
  const auto copy = app.sessions;
  for (const auto &[id, s] : copy)
    end_session(s, why);
}

} // namespace keepup::record
