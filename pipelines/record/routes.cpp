// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's HTTP routes: POST /whip/<stream> (SDP offer -> 201 + answer + Location),
// DELETE /whip/<stream>/<session>, GET /status, GET / (the publisher page), CORS preflight;
// and the HTTP connection table (idle timeout, connection bound). Main loop only.
#include "routes.hpp"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <sys/socket.h>

#include <string>

#include <nlohmann/json.hpp>

#include "publisher_page.hpp"
#include "session.hpp"

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
  soup_message_headers_replace(h, "Access-Control-Allow-Methods", "POST, DELETE, OPTIONS");
  soup_message_headers_replace(h, "Access-Control-Allow-Headers", "Authorization, Content-Type");
  soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Location");
}

void answer_offer(SoupServerMessage *msg, const Session &s, const std::string &sdp) {
  cors(msg);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                               s.location.c_str());
  respond(msg, SOUP_STATUS_CREATED, sdp, "application/sdp");
}

namespace {

std::string status_json(App &app) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto &[id, s] : app.sessions)
    sessions.push_back(session_status(*s));
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
  if (!whip::pick_video(offer) && !(whip::pick_audio(offer) && app.opt.audio != AudioMode::none)) {
    respond(msg, SOUP_STATUS_BAD_REQUEST,
            app.opt.audio == AudioMode::none
                ? "no video codec we record (H264, VP8, VP9); audio is not recorded (--audio none)\n"
                : "no codec we record (video H264, VP8, VP9; audio Opus)\n");
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

} // namespace

void install_routes(App &app) {
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
  if (app.idle_check)
    g_source_remove(app.idle_check);
  app.idle_check = 0;
  for (auto &[id, sock] : app.sockets)
    g_object_weak_unref(G_OBJECT(sock), on_socket_freed, &app);
  app.sockets.clear();
}

} // namespace keepup::record
