// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-whip-publish: a GStreamer-only WHIP publisher (the CI-friendly sender).
//
//   keepup-whip-publish URL [--pattern ball] [--seconds 10] [--codec h264|vp8] [--token T]
//                       [--size 1280x720] [--ice-address ADDR]... [--rtp-config-interval 0]
//
// videotestsrc -> leaky queue -> x264enc | vp8enc -> RTP payloader -> webrtcbin; the offer goes
// to URL once ICE gathering is complete (non-trickle), the answer comes back, the stream runs
// for --seconds, then the session is DELETEd. Prints how many frames were sent; exit 0 on a
// clean session, 1 with the server's reply otherwise.
#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>
#include <nice/agent.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "callback_guard.hpp"
#include "ice_config.hpp"

namespace {

namespace whip = keepup::whip;

struct Options {
  bool help = false; // -h / --help: usage on stdout, exit 0
  std::string url, pattern = "ball", codec = "h264", token;
  int seconds = 10, width = 1280, height = 720;
  // rtph264pay config-interval. x264enc repeats SPS/PPS before every IDR by itself; -1 made
  // rtph264pay 1.22 insert them again before every IDR *slice* (x264 zerolatency encodes a
  // picture as several slices), which splits the picture at the receiver. Kept as an option
  // to reproduce such publishers.
  int rtp_config_interval = 0;
  bool audio = false;
  std::vector<std::string> ice_addresses;
};

struct Publisher {
  Options opt;
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr, *webrtc = nullptr;
  SoupSession *http = nullptr;
  std::string location;
  bool offered = false, failed = false;
  std::atomic<guint64> frames{0};
};

void fail(Publisher &p, const std::string &why) {
  std::fprintf(stderr, "keepup-whip-publish: %s\n", why.c_str());
  p.failed = true;
  g_main_loop_quit(p.loop);
}

SoupMessage *request(Publisher &p, const char *method, const std::string &url) {
  SoupMessage *msg = soup_message_new(method, url.c_str());
  if (msg && !p.opt.token.empty())
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                 ("Bearer " + p.opt.token).c_str());
  return msg;
}

void finish_after_delete(Publisher &p) {
  if (p.location.empty()) {
    g_main_loop_quit(p.loop);
    return;
  }
  GUri *base = g_uri_parse(p.opt.url.c_str(), G_URI_FLAGS_NONE, nullptr);
  GUri *abs = g_uri_parse_relative(base, p.location.c_str(), G_URI_FLAGS_NONE, nullptr);
  gchar *target = g_uri_to_string(abs);
  g_uri_unref(abs);
  g_uri_unref(base);
  SoupMessage *msg = request(p, "DELETE", target);
  g_free(target);
  soup_session_send_and_read_async(
      p.http, msg, G_PRIORITY_DEFAULT, nullptr,
      [](GObject *src, GAsyncResult *res, gpointer d) {
        whip::guarded("DELETE reply", [&]() {
          auto &pub = *static_cast<Publisher *>(d);
          GError *err = nullptr;
          GBytes *body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &err);
          SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
          const guint status = m ? soup_message_get_status(m) : 0;
          if (!body || status != SOUP_STATUS_OK)
            std::fprintf(stderr, "keepup-whip-publish: DELETE answered %u%s%s\n", status,
                         err ? ": " : "", err ? err->message : "");
          if (body)
            g_bytes_unref(body);
          g_clear_error(&err);
          g_main_loop_quit(pub.loop);
        });
      },
      &p);
  g_object_unref(msg);
}

void post_offer(Publisher &p) {
  GstWebRTCSessionDescription *local = nullptr;
  g_object_get(p.webrtc, "local-description", &local, nullptr);
  if (!local)
    return;
  gchar *sdp = gst_sdp_message_as_text(local->sdp);
  gst_webrtc_session_description_free(local);
  SoupMessage *msg = request(p, "POST", p.opt.url);
  if (!msg) {
    g_free(sdp);
    fail(p, "not a URL: " + p.opt.url);
    return;
  }
  GBytes *body = g_bytes_new_take(sdp, std::strlen(sdp));
  soup_message_set_request_body_from_bytes(msg, "application/sdp", body);
  g_bytes_unref(body);
  soup_session_send_and_read_async(
      p.http, msg, G_PRIORITY_DEFAULT, nullptr,
      [](GObject *src, GAsyncResult *res, gpointer d) {
        whip::guarded("POST reply", [&]() {
          auto &pub = *static_cast<Publisher *>(d);
          GError *err = nullptr;
          GBytes *answer = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &err);
          SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
          const guint status = m ? soup_message_get_status(m) : 0;
          gsize size = 0;
          const char *text =
              answer ? static_cast<const char *>(g_bytes_get_data(answer, &size)) : "";
          const std::string reply(text ? text : "", size);
          if (answer)
            g_bytes_unref(answer);
          if (err || status != SOUP_STATUS_CREATED) {
            fail(pub, "POST " + pub.opt.url + " answered " + std::to_string(status) + ": " +
                          (err ? err->message : reply));
            g_clear_error(&err);
            return;
          }
          GstSDPMessage *sdp = nullptr;
          if (gst_sdp_message_new_from_text(reply.c_str(), &sdp) != GST_SDP_OK || !sdp) {
            fail(pub, "the answer is not SDP: " + reply.substr(0, 200));
            return;
          }
          const char *loc =
              soup_message_headers_get_one(soup_message_get_response_headers(m), "Location");
          pub.location = loc ? loc : "";
          GstWebRTCSessionDescription *desc =
              gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
          g_signal_emit_by_name(pub.webrtc, "set-remote-description", desc, nullptr);
          gst_webrtc_session_description_free(desc);
          std::printf("published to %s (session %s) for %d s\n", pub.opt.url.c_str(),
                      pub.location.c_str(), pub.opt.seconds);
          g_timeout_add_seconds(
              static_cast<guint>(pub.opt.seconds),
              [](gpointer dd) -> gboolean {
                whip::guarded("run timer",
                              [&]() { finish_after_delete(*static_cast<Publisher *>(dd)); });
                return G_SOURCE_REMOVE;
              },
              &pub);
        });
      },
      &p);
  g_object_unref(msg);
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") {
      o.help = true;
      return true;
    }
    if (a == "--audio") {
      o.audio = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      if (!o.url.empty())
        return false;
      o.url = a;
      continue;
    }
    if (!v)
      return false;
    ++i;
    if (a == "--pattern")
      o.pattern = v;
    else if (a == "--seconds")
      o.seconds = std::max(1, std::atoi(v));
    else if (a == "--codec")
      o.codec = v;
    else if (a == "--token")
      o.token = v;
    else if (a == "--ice-address")
      o.ice_addresses.push_back(v);
    else if (a == "--rtp-config-interval")
      o.rtp_config_interval = std::atoi(v);
    else if (a == "--size") {
      if (std::sscanf(v, "%dx%d", &o.width, &o.height) != 2)
        return false;
    } else
      return false;
  }
  return !o.url.empty() && (o.codec == "h264" || o.codec == "vp8");
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  gst_init(&argc, &argv);
  Publisher p;
  const bool parsed = parse(argc, argv, p.opt);
  if (!parsed || p.opt.help) {
    std::fprintf(parsed ? stdout : stderr,
                 "usage: keepup-whip-publish URL [--pattern ball] [--seconds 10] "
                 "[--codec h264|vp8] [--audio] [--token T] [--size WxH] "
                 "[--ice-address ADDR]... [--rtp-config-interval N]\n");
    return parsed ? 0 : 2;
  }
  const Options &o = p.opt;
  const std::string raw = "videotestsrc is-live=true pattern=" + o.pattern +
                          " ! video/x-raw,width=" + std::to_string(o.width) +
                          ",height=" + std::to_string(o.height) +
                          ",framerate=30/1 ! queue leaky=downstream max-size-buffers=2 ! ";
  const std::string enc =
      o.codec == "vp8"
          ? "vp8enc deadline=1 keyframe-max-dist=60 name=enc ! rtpvp8pay ! "
            "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! "
          : "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 name=enc ! "
            "video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=" +
                std::to_string(o.rtp_config_interval) +
                " ! "
                "application/x-rtp,media=video,encoding-name=H264,payload=96 ! ";
  const std::string audio = o.audio ? " audiotestsrc is-live=true wave=ticks ! audioconvert ! "
                                      "audioresample ! opusenc ! rtpopuspay ! "
                                      "application/x-rtp,media=audio,encoding-name=OPUS,payload=97 "
                                      "! w."
                                    : "";
  GError *err = nullptr;
  p.pipeline = gst_parse_launch(
      (raw + enc + "webrtcbin name=w bundle-policy=max-bundle" + audio).c_str(), &err);
  if (!p.pipeline) {
    std::fprintf(stderr, "keepup-whip-publish: %s\n", err ? err->message : "pipeline");
    return 1;
  }
  p.webrtc = gst_bin_get_by_name(GST_BIN(p.pipeline), "w");
  keepup::whip::configure_ice(p.webrtc, o.ice_addresses);
  GstElement *encoder = gst_bin_get_by_name(GST_BIN(p.pipeline), "enc");
  GstPad *encoded = gst_element_get_static_pad(encoder, "src");
  gst_pad_add_probe(
      encoded, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad *, GstPadProbeInfo *, gpointer d) noexcept {
        ++static_cast<Publisher *>(d)->frames;
        return GST_PAD_PROBE_OK;
      },
      &p, nullptr);
  gst_object_unref(encoded);
  gst_object_unref(encoder);

  p.loop = g_main_loop_new(nullptr, FALSE);
  p.http = soup_session_new();
  g_signal_connect(p.webrtc, "on-negotiation-needed", G_CALLBACK(+[](GstElement *w, gpointer d) {
                     whip::guarded("on-negotiation-needed", [&]() {
                       GstPromise *promise = gst_promise_new_with_change_func(
                           [](GstPromise *pr, gpointer dd) {
                             whip::guarded("create-offer reply", [&]() {
                               auto &pub = *static_cast<Publisher *>(dd);
                               GstWebRTCSessionDescription *offer = nullptr;
                               if (const GstStructure *r = gst_promise_get_reply(pr))
                                 gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                                                   &offer, nullptr);
                               gst_promise_unref(pr);
                               if (offer) {
                                 g_signal_emit_by_name(pub.webrtc, "set-local-description", offer,
                                                       nullptr);
                                 gst_webrtc_session_description_free(offer);
                               }
                             });
                           },
                           d, nullptr);
                       g_signal_emit_by_name(w, "create-offer", nullptr, promise);
                     });
                   }),
                   &p);
  g_signal_connect(p.webrtc, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GstElement *w, GParamSpec *, gpointer d) {
                     whip::guarded("notify::ice-gathering-state", [&]() {
                       GstWebRTCICEGatheringState st;
                       g_object_get(w, "ice-gathering-state", &st, nullptr);
                       if (st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
                         return;
                       g_main_context_invoke(
                           nullptr,
                           [](gpointer dd) -> gboolean {
                             whip::guarded("post offer", [&]() {
                               auto &pub = *static_cast<Publisher *>(dd);
                               if (!pub.offered) {
                                 pub.offered = true;
                                 post_offer(pub);
                               }
                             });
                             return G_SOURCE_REMOVE;
                           },
                           d);
                     });
                   }),
                   &p);
  GstBus *bus = gst_element_get_bus(p.pipeline);
  gst_bus_add_watch(
      bus,
      [](GstBus *, GstMessage *m, gpointer d) -> gboolean {
        whip::guarded("bus watch", [&]() {
          if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError *e = nullptr;
            gst_message_parse_error(m, &e, nullptr);
            fail(*static_cast<Publisher *>(d), e->message);
            g_clear_error(&e);
          }
        });
        return TRUE;
      },
      &p);
  gst_object_unref(bus);
  // Never hang: everything (offer, run, DELETE) must be over within run time + 30 s.
  g_timeout_add_seconds(
      static_cast<guint>(o.seconds + 30),
      [](gpointer d) -> gboolean {
        whip::guarded("deadline", [&]() { fail(*static_cast<Publisher *>(d), "timed out"); });
        return G_SOURCE_REMOVE;
      },
      &p);
  gst_element_set_state(p.pipeline, GST_STATE_PLAYING);
  g_main_loop_run(p.loop);
  gst_element_set_state(p.pipeline, GST_STATE_NULL);
  std::printf("sent %llu frames\n", static_cast<unsigned long long>(p.frames.load()));
  gst_object_unref(p.webrtc);
  gst_object_unref(p.pipeline);
  g_object_unref(p.http);
  g_main_loop_unref(p.loop);
  return p.failed ? 1 : 0;
}
