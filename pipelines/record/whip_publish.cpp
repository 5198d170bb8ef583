// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-whip-publish: a GStreamer-only WHIP publisher (the CI-friendly sender).
//
//   keepup-whip-publish URL [--pattern ball] [--seconds 10] [--codec h264|vp8] [--token T]
//                       [--size 1280x720] [--ice-address ADDR]... [--rtp-config-interval 0]
//                       [--audio | --audio-only] [--audio-dtx]
//                       [--audio-silence-from S --audio-silence-seconds N]
//                       [--trickle] [--if-match ETAG]
//
// videotestsrc -> leaky queue -> x264enc | vp8enc -> RTP payloader -> webrtcbin, and with
// --audio audiotestsrc (ticks) -> volume -> opusenc -> rtpopuspay -> webrtcbin. Without
// --trickle the offer goes to URL once ICE gathering is complete; with --trickle it goes at
// once and the candidates follow in PATCH requests (application/trickle-ice-sdpfrag, RFC 9725
// 4.3) carrying If-Match with the POST reply's ETag, the last one with a=end-of-candidates.
// A 307/308 reply to the POST is followed (libsoup keeps the method and body) and the session
// URL is resolved against the final address. The answer comes back, the stream runs for
// --seconds, then the session is DELETEd. Prints how many frames and audio packets were sent;
// exit 0 on a clean session, 1 with the server's reply otherwise.
#include <gst/gst.h>
#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>
#include <nice/agent.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "callback_guard.hpp"
#include "ice_config.hpp"
#include "trickle.hpp"

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
  bool audio = false, audio_only = false;
  // opusenc dtx=true (voice mode) and rtpopuspay dtx=true: silence sends (almost) no packets,
  // as browsers do with a muted or quiet microphone.
  bool audio_dtx = false;
  // A muted stretch: from this many seconds after the answer, for this many seconds.
  double silence_from = -1, silence_seconds = 0;
  bool trickle = false;
  std::string if_match; // overrides the ETag sent with PATCH (to test the server's 412)
  std::vector<std::string> ice_addresses;
};

struct Publisher {
  Options opt;
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr, *webrtc = nullptr;
  SoupSession *http = nullptr;
  std::string resource; // the session's absolute URL (Location resolved on the final URL)
  std::string etag, offer_sdp;
  int redirects = 0;
  bool offered = false, failed = false;
  std::atomic<guint64> frames{0}, audio_packets{0};
  // Trickle state (main loop only).
  std::vector<std::pair<unsigned, std::string>> pending; // (m-line index, "candidate:...")
  bool gathering_done = false, end_sent = false, patch_in_flight = false, trickle_off = false;
  unsigned patches_ok = 0, candidates_sent = 0;
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

// `ref` (a Location header) resolved against `base`; empty when either is not a URI.
std::string resolve(const std::string &base, const std::string &ref) {
  GUri *b = g_uri_parse(base.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!b)
    return {};
  GUri *abs = g_uri_parse_relative(b, ref.c_str(), G_URI_FLAGS_NONE, nullptr);
  g_uri_unref(b);
  if (!abs)
    return {};
  gchar *text = g_uri_to_string(abs);
  g_uri_unref(abs);
  std::string out = text;
  g_free(text);
  return out;
}

// The local description's ICE credentials and m-lines, for the trickle fragments.
whip::SdpFrag local_frag_template(Publisher &p) {
  whip::SdpFrag frag;
  GstWebRTCSessionDescription *local = nullptr;
  g_object_get(p.webrtc, "local-description", &local, nullptr);
  if (!local)
    return frag;
  for (guint i = 0; i < gst_sdp_message_medias_len(local->sdp); ++i) {
    const GstSDPMedia *m = gst_sdp_message_get_media(local->sdp, i);
    whip::SdpFragMedia media;
    media.media_line = std::string(gst_sdp_media_get_media(m)) + " 9 " + gst_sdp_media_get_proto(m);
    for (guint f = 0; f < gst_sdp_media_formats_len(m); ++f)
      media.media_line += std::string(" ") + gst_sdp_media_get_format(m, f);
    if (const char *mid = gst_sdp_media_get_attribute_val(m, "mid"))
      media.mid = mid;
    if (i == 0) {
      const char *u = gst_sdp_media_get_attribute_val(m, "ice-ufrag");
      const char *pw = gst_sdp_media_get_attribute_val(m, "ice-pwd");
      frag.ice_ufrag = u ? u : "";
      frag.ice_pwd = pw ? pw : "";
    }
    frag.media.push_back(media);
  }
  gst_webrtc_session_description_free(local);
  return frag;
}

// Sends the candidates gathered so far (and end-of-candidates once gathering is over) in one
// PATCH, one request at a time so the server sees them in order.
void flush_trickle(Publisher &p) {
  if (!p.opt.trickle || p.trickle_off || p.resource.empty() || p.patch_in_flight || p.failed)
    return;
  const bool send_end = p.gathering_done && !p.end_sent;
  if (p.pending.empty() && !send_end)
    return;
  whip::SdpFrag frag = local_frag_template(p);
  if (frag.media.empty())
    return;
  for (const auto &[mline, cand] : p.pending)
    if (mline < frag.media.size())
      frag.media[mline].candidates.push_back(cand);
  // Only the sections with something to say; end-of-candidates goes on the first (bundle).
  std::vector<whip::SdpFragMedia> keep;
  for (std::size_t i = 0; i < frag.media.size(); ++i)
    if (!frag.media[i].candidates.empty() || (i == 0 && send_end))
      keep.push_back(frag.media[i]);
  if (send_end)
    keep.front().end_of_candidates = true;
  frag.media = keep;
  const unsigned count = static_cast<unsigned>(p.pending.size());
  p.pending.clear();
  if (send_end)
    p.end_sent = true;
  const std::string body = whip::format_sdpfrag(frag);
  SoupMessage *msg = request(p, "PATCH", p.resource);
  const std::string etag = p.opt.if_match.empty() ? p.etag : p.opt.if_match;
  if (!etag.empty())
    soup_message_headers_replace(soup_message_get_request_headers(msg), "If-Match", etag.c_str());
  GBytes *bytes = g_bytes_new(body.data(), body.size());
  soup_message_set_request_body_from_bytes(msg, "application/trickle-ice-sdpfrag", bytes);
  g_bytes_unref(bytes);
  p.patch_in_flight = true;
  struct Sent {
    Publisher *p;
    unsigned count;
  };
  soup_session_send_and_read_async(
      p.http, msg, G_PRIORITY_DEFAULT, nullptr,
      [](GObject *src, GAsyncResult *res, gpointer d) {
        const Sent sent = *static_cast<Sent *>(d);
        delete static_cast<Sent *>(d);
        whip::guarded("PATCH reply", [&]() {
          auto &pub = *sent.p;
          pub.patch_in_flight = false;
          GError *err = nullptr;
          GBytes *reply = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &err);
          SoupMessage *m = soup_session_get_async_result_message(SOUP_SESSION(src), res);
          const guint status = m ? soup_message_get_status(m) : 0;
          gsize size = 0;
          const char *text = reply ? static_cast<const char *>(g_bytes_get_data(reply, &size)) : "";
          const std::string why(text ? text : "", size);
          if (reply)
            g_bytes_unref(reply);
          if (status == SOUP_STATUS_NO_CONTENT) {
            ++pub.patches_ok;
            pub.candidates_sent += sent.count;
            flush_trickle(pub);
          } else if (status == SOUP_STATUS_METHOD_NOT_ALLOWED ||
                     status == SOUP_STATUS_NOT_IMPLEMENTED ||
                     status == SOUP_STATUS_UNPROCESSABLE_ENTITY) {
            // RFC 9725: a server without trickle says so; ICE still finds us (peer-reflexive).
            std::fprintf(stderr, "keepup-whip-publish: the server does not take trickle (%u %s)\n",
                         status, std::string(why.substr(0, why.find('\n'))).c_str());
            pub.trickle_off = true;
          } else {
            fail(pub, "PATCH " + pub.resource + " answered " + std::to_string(status) + ": " +
                          (err ? err->message : why));
          }
          g_clear_error(&err);
        });
      },
      new Sent{&p, count});
  g_object_unref(msg);
}

void set_mute(Publisher &p, bool mute) {
  if (GstElement *vol = gst_bin_get_by_name(GST_BIN(p.pipeline), "vol")) {
    g_object_set(vol, "mute", mute, nullptr);
    gst_object_unref(vol);
    std::printf("audio %s\n", mute ? "muted" : "unmuted");
  }
}

void finish_after_delete(Publisher &p) {
  if (p.resource.empty()) {
    g_main_loop_quit(p.loop);
    return;
  }
  SoupMessage *msg = request(p, "DELETE", p.resource);
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

// POSTs the offer to `url`; a 307/308 reply sends it again to its Location (libsoup follows
// redirects of safe methods only), at most kMaxRedirects times.
constexpr int kMaxRedirects = 5;

void send_offer(Publisher &p, const std::string &url, int redirects) {
  SoupMessage *msg = request(p, "POST", url);
  if (!msg) {
    fail(p, "not a URL: " + url);
    return;
  }
  p.redirects = redirects;
  GBytes *body = g_bytes_new(p.offer_sdp.data(), p.offer_sdp.size());
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
          const char *redirect =
              m ? soup_message_headers_get_one(soup_message_get_response_headers(m), "Location")
                : nullptr;
          gchar *uri_text = m ? g_uri_to_string(soup_message_get_uri(m)) : g_strdup("");
          const std::string posted_to = uri_text;
          g_free(uri_text);
          if (!err && redirect &&
              (status == SOUP_STATUS_TEMPORARY_REDIRECT ||
               status == SOUP_STATUS_PERMANENT_REDIRECT)) {
            const std::string next = resolve(posted_to, redirect);
            if (pub.redirects >= kMaxRedirects || next.empty()) {
              fail(pub, "POST " + posted_to + ": too many redirects or a bad Location '" +
                            redirect + "'");
              return;
            }
            std::printf("redirected (%u) to %s\n", status, next.c_str());
            send_offer(pub, next, pub.redirects + 1);
            return;
          }
          if (err || status != SOUP_STATUS_CREATED) {
            fail(pub, "POST " + posted_to + " answered " + std::to_string(status) + ": " +
                          (err ? err->message : reply));
            g_clear_error(&err);
            return;
          }
          GstSDPMessage *sdp = nullptr;
          if (gst_sdp_message_new_from_text(reply.c_str(), &sdp) != GST_SDP_OK || !sdp) {
            fail(pub, "the answer is not SDP: " + reply.substr(0, 200));
            return;
          }
          SoupMessageHeaders *headers = soup_message_get_response_headers(m);
          const char *loc = soup_message_headers_get_one(headers, "Location");
          const char *etag = soup_message_headers_get_one(headers, "ETag");
          pub.etag = etag ? etag : "";
          // Relative to where the POST ended up (after a 307/308), not to the first URL.
          gchar *final_text = g_uri_to_string(soup_message_get_uri(m));
          const std::string final_url = final_text;
          g_free(final_text);
          pub.resource = loc ? resolve(final_url, loc) : "";
          GstWebRTCSessionDescription *desc =
              gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
          g_signal_emit_by_name(pub.webrtc, "set-remote-description", desc, nullptr);
          gst_webrtc_session_description_free(desc);
          // After redirects: the node that took the offer.
          std::printf("published to %s (session %s) for %d s\n", final_url.c_str(),
                      pub.resource.c_str(), pub.opt.seconds);
          flush_trickle(pub);
          if (pub.opt.silence_from >= 0 && pub.opt.silence_seconds > 0) {
            const auto at = [](double s) { return static_cast<guint>(s * 1000.0); };
            g_timeout_add(
                at(pub.opt.silence_from),
                [](gpointer dd) -> gboolean {
                  whip::guarded("mute", [&]() { set_mute(*static_cast<Publisher *>(dd), true); });
                  return G_SOURCE_REMOVE;
                },
                &pub);
            g_timeout_add(
                at(pub.opt.silence_from + pub.opt.silence_seconds),
                [](gpointer dd) -> gboolean {
                  whip::guarded("unmute",
                                [&]() { set_mute(*static_cast<Publisher *>(dd), false); });
                  return G_SOURCE_REMOVE;
                },
                &pub);
          }
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

void post_offer(Publisher &p) {
  GstWebRTCSessionDescription *local = nullptr;
  g_object_get(p.webrtc, "local-description", &local, nullptr);
  if (!local)
    return;
  gchar *sdp = gst_sdp_message_as_text(local->sdp);
  gst_webrtc_session_description_free(local);
  p.offer_sdp = sdp;
  g_free(sdp);
  send_offer(p, p.opt.url, 0);
}

gboolean post_offer_once(gpointer d) {
  whip::guarded("post offer", [&]() {
    auto &pub = *static_cast<Publisher *>(d);
    if (!pub.offered) {
      pub.offered = true;
      post_offer(pub);
    }
  });
  return G_SOURCE_REMOVE;
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "-h" || a == "--help") {
      o.help = true;
      return true;
    }
    if (a == "--audio" || a == "--audio-only" || a == "--audio-dtx" || a == "--trickle") {
      (a == "--audio"        ? o.audio
       : a == "--audio-only" ? o.audio_only
       : a == "--audio-dtx"  ? o.audio_dtx
                             : o.trickle) = true;
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
    else if (a == "--if-match")
      o.if_match = v;
    else if (a == "--audio-silence-from" || a == "--audio-silence-seconds") {
      char *end = nullptr;
      const double s = g_ascii_strtod(v, &end);
      if (!end || *end || !(s >= 0) || s > 86400)
        return false;
      (a == "--audio-silence-from" ? o.silence_from : o.silence_seconds) = s;
    } else if (a == "--ice-address")
      o.ice_addresses.push_back(v);
    else if (a == "--rtp-config-interval")
      o.rtp_config_interval = std::atoi(v);
    else if (a == "--size") {
      if (std::sscanf(v, "%dx%d", &o.width, &o.height) != 2)
        return false;
    } else
      return false;
  }
  if (o.audio_only || o.audio_dtx || o.silence_from >= 0)
    o.audio = true;
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
                 "[--codec h264|vp8] [--audio | --audio-only] [--audio-dtx] "
                 "[--audio-silence-from S --audio-silence-seconds N] [--trickle] "
                 "[--if-match ETAG] [--token T] [--size WxH] "
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
  const std::string dtx = o.audio_dtx ? "true" : "false";
  const std::string audio =
      o.audio ? " audiotestsrc is-live=true wave=ticks ! audioconvert ! audioresample ! "
                "volume name=vol ! opusenc dtx=" +
                    dtx + (o.audio_dtx ? " audio-type=voice" : "") +
                    " ! rtpopuspay name=apay dtx=" + dtx +
                    " ! application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! w."
              : "";
  const std::string video = o.audio_only ? "" : raw + enc;
  GError *err = nullptr;
  p.pipeline =
      gst_parse_launch((video + "webrtcbin name=w bundle-policy=max-bundle" + audio).c_str(), &err);
  if (!p.pipeline) {
    std::fprintf(stderr, "keepup-whip-publish: %s\n", err ? err->message : "pipeline");
    return 1;
  }
  p.webrtc = gst_bin_get_by_name(GST_BIN(p.pipeline), "w");
  keepup::whip::configure_ice(p.webrtc, o.ice_addresses);
  // Sender reports carry capture times, not send times: the receiver lines audio up with video
  // by them, and under CPU load x264's output left late enough to put audio 0.5 s off.
  if (GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(p.webrtc), "rtpbin")) {
    g_object_set(rtpbin, "rtcp-sync-send-time", FALSE, nullptr);
    gst_object_unref(rtpbin);
  }
  const auto count_buffers = [&](const char *element, std::atomic<guint64> &counter) {
    GstElement *e = gst_bin_get_by_name(GST_BIN(p.pipeline), element);
    if (!e)
      return;
    GstPad *src = gst_element_get_static_pad(e, "src");
    gst_pad_add_probe(
        src, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer d) noexcept {
          ++*static_cast<std::atomic<guint64> *>(d);
          return GST_PAD_PROBE_OK;
        },
        &counter, nullptr);
    gst_object_unref(src);
    gst_object_unref(e);
  };
  count_buffers("enc", p.frames);
  count_buffers("apay", p.audio_packets);

  p.loop = g_main_loop_new(nullptr, FALSE);
  p.http = soup_session_new();
  g_signal_connect(
      p.webrtc, "on-negotiation-needed", G_CALLBACK(+[](GstElement *w, gpointer d) {
        whip::guarded("on-negotiation-needed", [&]() {
          GstPromise *promise = gst_promise_new_with_change_func(
              [](GstPromise *pr, gpointer dd) {
                whip::guarded("create-offer reply", [&]() {
                  auto &pub = *static_cast<Publisher *>(dd);
                  GstWebRTCSessionDescription *offer = nullptr;
                  if (const GstStructure *r = gst_promise_get_reply(pr))
                    gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer,
                                      nullptr);
                  gst_promise_unref(pr);
                  if (offer) {
                    // Trickle: the offer goes as soon as it is the local one.
                    GstPromise *set =
                        pub.opt.trickle ? gst_promise_new_with_change_func(
                                              [](GstPromise *s2, gpointer d3) {
                                                gst_promise_unref(s2);
                                                g_main_context_invoke(nullptr, post_offer_once, d3);
                                              },
                                              dd, nullptr)
                                        : nullptr;
                    g_signal_emit_by_name(pub.webrtc, "set-local-description", offer, set);
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
                             whip::guarded("gathering complete", [&]() {
                               auto &pub = *static_cast<Publisher *>(dd);
                               pub.gathering_done = true;
                               flush_trickle(pub);
                             });
                             return G_SOURCE_REMOVE;
                           },
                           d);
                       if (!static_cast<Publisher *>(d)->opt.trickle)
                         g_main_context_invoke(nullptr, post_offer_once, d);
                     });
                   }),
                   &p);
  if (o.trickle)
    g_signal_connect(p.webrtc, "on-ice-candidate",
                     G_CALLBACK(+[](GstElement *, guint mline, gchar *candidate, gpointer d) {
                       whip::guarded("on-ice-candidate", [&]() {
                         if (!candidate || !*candidate)
                           return;
                         struct Found {
                           Publisher *p;
                           unsigned mline;
                           std::string candidate;
                         };
                         g_main_context_invoke_full(
                             nullptr, G_PRIORITY_DEFAULT,
                             [](gpointer dd) -> gboolean {
                               whip::guarded("candidate", [&]() {
                                 auto *f = static_cast<Found *>(dd);
                                 f->p->pending.emplace_back(f->mline, f->candidate);
                                 flush_trickle(*f->p);
                               });
                               return G_SOURCE_REMOVE;
                             },
                             new Found{static_cast<Publisher *>(d), mline, candidate},
                             [](gpointer dd) { delete static_cast<Found *>(dd); });
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
  if (o.audio)
    std::printf("sent %llu audio packets\n",
                static_cast<unsigned long long>(p.audio_packets.load()));
  if (o.trickle)
    std::printf("trickled %u candidates in %u PATCH requests%s\n", p.candidates_sent, p.patches_ok,
                p.end_sent && !p.trickle_off ? " (end-of-candidates sent)" : "");
  gst_object_unref(p.webrtc);
  gst_object_unref(p.pipeline);
  g_object_unref(p.http);
  g_main_loop_unref(p.loop);
  return p.failed ? 1 : 0;
}
