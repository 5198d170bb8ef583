// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP routes: POST /whip/<stream> (SDP offer -> 201 + answer + Location +
// ETag + Link ice-server headers), PATCH /whip/<stream>/<session> (trickle ICE, RFC 9725 4.3),
// DELETE /whip/<stream>/<session>, GET /status, GET /metrics (metrics_http.cpp),
// GET /recordings[/<name>] (recordings_http.cpp), GET / (the publisher page), CORS preflight;
// and the HTTP connection table (idle timeout, connection bound). Main loop only.
#include "routes.hpp"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <sys/socket.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster.hpp"
#include "cluster_core.hpp"
#include "publisher_page.hpp"
#include "route_state.hpp"
#include "session.hpp"
#include "trickle.hpp"

namespace keepup::record {

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;

} // namespace

void respond(SoupServerMessage *msg, guint status, const std::string &body, const char *type) {
  soup_server_message_set_status(msg, status, nullptr);
  if (!body.empty())
    soup_server_message_set_response(msg, type, SOUP_MEMORY_COPY, body.data(), body.size());
}

void cors(SoupServerMessage *msg) {
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_message_headers_replace(h, "Access-Control-Allow-Methods",
                               "GET, POST, PATCH, DELETE, OPTIONS");
  soup_message_headers_replace(h, "Access-Control-Allow-Headers",
                               "Authorization, Content-Type, If-Match, Range");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers",
                               "Location, ETag, Link, Accept-Patch, Content-Range");
}

namespace {

// Link: <uri>; rel="ice-server" for every --stun, and for every --turn when `with_credentials`
// (the TURN password goes only to clients that passed the token check).
void ice_server_links(const App &app, SoupServerMessage *msg, bool with_credentials) {
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  for (const auto &l : app.opt.routes.stun_links)
    soup_message_headers_append(h, "Link", l.c_str());
  if (with_credentials)
    for (const auto &l : app.opt.routes.turn_links)
      soup_message_headers_append(h, "Link", l.c_str());
}

} // namespace

std::string session_etag(const App &app, const Session &s) {
  const std::uint64_t salt = app.route_state ? app.route_state->etag_salt : 0;
  return whip::make_etag(salt ^ (std::hash<std::string>{}(s.id) * 0x9e3779b97f4a7c15ULL));
}

void configure_ice_servers(const App &app, GstElement *webrtc) {
  if (!app.opt.routes.stun_uris.empty())
    g_object_set(webrtc, "stun-server", app.opt.routes.stun_uris.front().c_str(), nullptr);
  for (const auto &t : app.opt.routes.turn_uris) {
    gboolean added = FALSE;
    g_signal_emit_by_name(webrtc, "add-turn-server", t.c_str(), &added);
    if (!added)
      log_line("webrtcbin refused the TURN server %s", t.c_str());
  }
}

const char *const kRouteUsage =
    "                     [--stun URI]... [--turn URI]... [--segment-seconds N]\n"
    "                     [--retain-hours H] [--retain-gb G] [--on-segment-complete CMD]\n"
    "                     [--hook-concurrency 4]\n";

bool parse_route_option(const std::string &name, const char *value, RouteOptions &o,
                        std::string &error) {
  static const char *const kNames[] = {"--stun",
                                       "--turn",
                                       "--segment-seconds",
                                       "--retain-hours",
                                       "--retain-gb",
                                       "--on-segment-complete",
                                       "--hook-concurrency"};
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames))
    return false;
  if (!value) {
    error = name + " needs a value";
    return true;
  }
  const std::string v = value;
  const auto number = [&](double lo, double hi, double &out) {
    char *end = nullptr;
    const double d = g_ascii_strtod(value, &end);
    if (v.empty() || !end || *end || !(d >= lo && d <= hi)) {
      error = name + " takes a number from " + std::to_string(static_cast<long long>(lo)) + " to " +
              std::to_string(static_cast<long long>(hi)) + ", not '" + v + "'";
      return false;
    }
    out = d;
    return true;
  };
  double d = 0;
  if (name == "--stun" || name == "--turn") {
    const bool turn = name == "--turn";
    const whip::IceServer server = whip::parse_ice_server(v, turn);
    if (!server.error.empty()) {
      error = name + ": " + server.error;
      return true;
    }
    if (!turn && !o.stun_uris.empty()) {
      error = "--stun: webrtcbin takes one STUN server";
      return true;
    }
    (turn ? o.turn_uris : o.stun_uris).push_back(server.webrtcbin_uri);
    (turn ? o.turn_links : o.stun_links).push_back(server.link);
  } else if (name == "--segment-seconds") {
    if (number(1, 86400, d))
      o.segment_seconds = static_cast<int>(d);
  } else if (name == "--retain-hours") {
    if (number(0, 1e6, d))
      o.retain_hours = d;
  } else if (name == "--retain-gb") {
    if (number(0, 1e9, d))
      o.retain_gb = d;
  } else if (name == "--hook-concurrency") {
    if (number(1, 64, d))
      o.hook_concurrency = static_cast<int>(d);
  } else {
    const whip::HookCommand cmd = whip::parse_hook_command(v);
    if (!cmd.error.empty()) {
      error = "--on-segment-complete: " + cmd.error;
      return true;
    }
    o.on_segment_complete = v;
    o.hook_argv = cmd.argv;
  }
  return true;
}

void answer_offer(SoupServerMessage *msg, const Session &s, const std::string &sdp) {
  cors(msg);
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Location", s.location.c_str());
  soup_message_headers_replace(h, "ETag", session_etag(*s.app, s).c_str());
  soup_message_headers_replace(h, "Accept-Patch", "application/trickle-ice-sdpfrag");
  ice_server_links(*s.app, msg, true);
  respond(msg, SOUP_STATUS_CREATED, sdp, "application/sdp");
}

namespace {

// The value of `name` in the request's query string, nullopt when absent.
std::optional<std::string> query_param(SoupServerMessage *msg, const char *name) {
  const char *query = g_uri_get_query(soup_server_message_get_uri(msg));
  if (!query)
    return std::nullopt;
  GHashTable *params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, nullptr);
  if (!params)
    return std::nullopt;
  std::optional<std::string> out;
  if (const auto *v = static_cast<const char *>(g_hash_table_lookup(params, name)))
    out = v;
  g_hash_table_unref(params);
  return out;
}

// With ?cluster=1: also the fleet as this node last read it (cluster.cpp).
std::string status_json(App &app, bool with_cluster) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto &[id, s] : app.sessions)
    sessions.push_back(session_status(*s));
  nlohmann::json j = {{"sessions", sessions}, {"max_sessions", app.opt.max_sessions}};
  if (with_cluster)
    j["cluster"] = cluster_status(app);
  return j.dump(2);
}

// The remote ICE credentials and m-line mids of a session's offer.
struct RemoteIce {
  bool known = false;
  std::string ufrag, pwd;
  std::vector<std::string> mids;
};

RemoteIce remote_ice(Session &s) {
  RemoteIce r;
  GstWebRTCSessionDescription *remote = nullptr;
  g_object_get(s.webrtc, "remote-description", &remote, nullptr);
  if (!remote)
    return r;
  r.known = true;
  const GstSDPMessage *sdp = remote->sdp;
  const char *su = gst_sdp_message_get_attribute_val(sdp, "ice-ufrag");
  const char *sp = gst_sdp_message_get_attribute_val(sdp, "ice-pwd");
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
    const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
    const char *mid = gst_sdp_media_get_attribute_val(m, "mid");
    r.mids.push_back(mid ? mid : "");
    if (!su)
      su = gst_sdp_media_get_attribute_val(m, "ice-ufrag");
    if (!sp)
      sp = gst_sdp_media_get_attribute_val(m, "ice-pwd");
  }
  r.ufrag = su ? su : "";
  r.pwd = sp ? sp : "";
  gst_webrtc_session_description_free(remote);
  return r;
}

// PATCH /whip/<stream>/<session> with application/trickle-ice-sdpfrag: the candidates go to
// webrtcbin (we are on the main loop), 204. ICE restarts are refused with 405.
void handle_patch(App &app, SoupServerMessage *msg, Session &s) {
  SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
  const char *type = soup_message_headers_get_content_type(req, nullptr);
  if (!type || g_ascii_strcasecmp(type, "application/trickle-ice-sdpfrag") != 0) {
    respond(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/trickle-ice-sdpfrag\n");
    return;
  }
  const std::string etag = session_etag(app, s);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "ETag", etag.c_str());
  const char *if_match = soup_message_headers_get_one(req, "If-Match");
  if (if_match && !whip::if_match_allows(if_match, etag)) {
    respond(msg, SOUP_STATUS_PRECONDITION_FAILED,
            "If-Match " + std::string(if_match).substr(0, 80) + " is not this session's ETag " +
                etag + "\n");
    return;
  }
  const Phase phase = s.phase();
  if (phase == Phase::ending || phase == Phase::finished) {
    respond(msg, SOUP_STATUS_CONFLICT, "the session is ending\n");
    return;
  }
  SoupMessageBody *body = soup_server_message_get_request_body(msg);
  if (body->length > static_cast<goffset>(whip::kMaxSdpFragBytes)) {
    respond(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "fragments are limited to 64 KiB\n");
    return;
  }
  GBytes *bytes = soup_message_body_flatten(body);
  gsize size = 0;
  const auto *data = static_cast<const char *>(g_bytes_get_data(bytes, &size));
  const std::string text(data ? data : "", size);
  g_bytes_unref(bytes);
  const whip::SdpFragParse frag = whip::parse_sdpfrag(text);
  if (!frag.valid) {
    respond(msg, SOUP_STATUS_BAD_REQUEST, frag.error + "\n");
    return;
  }
  const RemoteIce remote = remote_ice(s);
  if (!remote.known) {
    respond(msg, SOUP_STATUS_CONFLICT, "the session has no remote description yet\n");
    return;
  }
  const whip::TricklePlan plan =
      whip::plan_trickle(frag.frag, remote.ufrag, remote.pwd, remote.mids);
  if (plan.kind == whip::TricklePlan::Kind::kIceRestart) {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                 "PATCH, DELETE");
    respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
            "ICE restarts are not supported (new ice-ufrag " + frag.frag.ufrag() +
                "): DELETE this session and POST a new offer\n");
    return;
  }
  if (plan.kind == whip::TricklePlan::Kind::kError) {
    respond(msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, plan.error + "\n");
    return;
  }
  for (const auto &c : plan.candidates)
    g_signal_emit_by_name(s.webrtc, "add-ice-candidate", c.mline_index, c.candidate.c_str());
  if (app.route_state) {
    app.route_state->trickle_requests += 1;
    app.route_state->trickle_candidates += static_cast<double>(plan.candidates.size());
  }
  log_line("session %s: trickled %zu candidate(s)%s", s.id.c_str(), plan.candidates.size(),
           plan.end_of_candidates ? ", end of candidates" : "");
  respond(msg, SOUP_STATUS_NO_CONTENT, "");
}

void handle_request(App &app, SoupServerMessage *msg, const char *path) {
  const std::string method = soup_server_message_get_method(msg);
  const std::string p = path;
  cors(msg);
  if (method == "OPTIONS") { // CORS preflight
    SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Accept-Post", "application/sdp");
    soup_message_headers_replace(h, "Accept-Patch", "application/trickle-ice-sdpfrag");
    // TURN credentials only to a client that could POST (a browser's preflight carries no
    // Authorization, so with a token it gets the STUN servers only).
    const char *auth =
        soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
    ice_server_links(app, msg, whip::authorized(auth, app.opt.token));
    respond(msg, SOUP_STATUS_NO_CONTENT, "");
    return;
  }
  if (p == "/" && method == "GET") {
    respond(msg, SOUP_STATUS_OK, whip::kPublisherPage, "text/html; charset=utf-8");
    return;
  }
  if (p == "/status" && method == "GET") {
    const auto cluster = query_param(msg, "cluster");
    respond(msg, SOUP_STATUS_OK, status_json(app, cluster && *cluster != "0"), "application/json");
    return;
  }
  if (p == "/metrics" && method == "GET") {
    respond(msg, SOUP_STATUS_OK, metrics_text(app), "text/plain; version=0.0.4; charset=utf-8");
    return;
  }
  if (p == "/recordings" || p.rfind("/recordings/", 0) == 0) {
    handle_recordings(app, msg, p);
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
    if (method == "PATCH") {
      handle_patch(app, msg, *it->second);
      return;
    }
    if (method != "DELETE") {
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                   "PATCH, DELETE");
      respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
              "DELETE ends a session, PATCH (application/trickle-ice-sdpfrag) trickles ICE\n");
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
    // In a fleet, the least-loaded live node with room takes it (RFC 9725 allows redirects
    // of the POST); a POST that was already redirected once is not sent on (no loops).
    const bool redirected =
        query_param(msg, std::string(whip::cluster::kRedirectedParam).c_str()).has_value();
    const std::string location = cluster_redirect(app, stream, redirected);
    if (!location.empty()) {
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                                   location.c_str());
      log_line("POST /whip/%s: %s, redirected to %s", stream.c_str(),
               app.stopping ? "stopping" : "full", location.c_str());
      respond(msg, SOUP_STATUS_TEMPORARY_REDIRECT,
              std::string(app.stopping ? "this node is stopping" : "this node is full") +
                  ", redirected to " + location + "\n");
      return;
    }
    respond(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
            app.cluster ? (redirected ? "too many sessions (already redirected once)\n"
                                      : "too many sessions on every live node\n")
                        : "too many sessions\n");
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
  if (!whip::pick_video(offer) && !(whip::pick_audio(offer) && app.opt.audio != AudioMode::none)) {
    respond(
        msg, SOUP_STATUS_BAD_REQUEST,
        app.opt.audio == AudioMode::none
            ? "no video codec we record (H264, VP8, VP9); audio is not recorded (--audio none)\n"
            : "no codec we record (video H264, VP8, VP9; audio Opus)\n");
    return;
  }
  try {
    if (app.route_state)
      app.route_state->sessions_total += 1;
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

} // namespace

void install_routes(App &app) {
  app.route_state = std::make_shared<RouteState>();
  app.route_state->etag_salt = (static_cast<std::uint64_t>(g_random_int()) << 32) | g_random_int();
  app.route_state->hooks =
      whip::HookQueue(static_cast<std::size_t>(app.opt.routes.hook_concurrency), 256);
  start_metrics(app);
  start_recordings(app);
  soup_server_add_handler(app.server, nullptr, handle, &app, nullptr);
  app.connections = std::make_unique<whip::ConnectionTable>(
      static_cast<int64_t>(app.opt.idle_timeout_s) * G_USEC_PER_SEC,
      static_cast<std::size_t>(app.opt.max_connections));
  g_signal_connect(app.server, "request-started", G_CALLBACK(on_request_started), &app);
  g_signal_connect(app.server, "request-finished", G_CALLBACK(on_request_done), &app);
  g_signal_connect(app.server, "request-aborted", G_CALLBACK(on_request_done), &app);
  // Checked every second: an idle connection is closed within the timeout + 1 s.
  app.idle_check = g_timeout_add_seconds(1, close_idle_connections, &app);
}

void remove_routes(App &app) {
  stop_metrics(app);
  stop_recordings(app);
  if (app.idle_check)
    g_source_remove(app.idle_check);
  app.idle_check = 0;
  for (auto &[id, sock] : app.sockets)
    g_object_weak_unref(G_OBJECT(sock), on_socket_freed, &app);
  app.sockets.clear();
}

} // namespace keepup::record
