// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record: a WHIP (RFC 9725) server that records every published session to a
// crash-safe MPEG-TS file.
//
//   keepup-record [--listen 127.0.0.1:8089] [--output-dir ./recordings] [--token T]
//                 [--max-sessions 8] [--connect-timeout 10] [--media-timeout 10]
//                 [--idle-timeout 30]
//                 [--max-connections 256] [--ice-address ADDR]... [--audio opus|aac|none]
//                 [--transcode] [--trace]
//                 [--cluster redis://HOST:PORT/DB --advertise URL [--node-id ID] [--heartbeat 2]]
//
// POST /whip/<stream> (application/sdp) -> 201, Location /whip/<stream>/<session>, the SDP
// answer (non-trickle: sent once ICE gathering is complete). DELETE <Location> ends the
// session and finalizes its file. GET /status: sessions as JSON. GET /: a publisher page.
// With --cluster the node joins a fleet in Redis and a full node answers 307 to the
// least-loaded live node instead of 503 (cluster.cpp).
// The parts: session.cpp (a session's life), branch.cpp (what runs behind each webrtcbin
// pad, and the start of the file), routes.cpp (HTTP), cluster.cpp (the fleet); this file:
// options and main().
#include <gst/gst.h>
#include <glib-unix.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cerrno>
#include <clocale>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "app.hpp"
#include "cluster.hpp"
#include "routes.hpp"
#include "session.hpp"
#include "ts_writer.hpp"

namespace keepup::record {

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

} // namespace keepup::record

namespace {

using namespace keepup::record;

// Temp files left by a killed run become playable recordings before anything else starts.
void recover_leftovers(const std::string &dir) {
  GDir *d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d)
    return;
  std::vector<std::string> temps;
  while (const gchar *name = g_dir_read_name(d))
    if (keepup::ts::is_temp_name(name))
      temps.push_back(dir + "/" + name);
  g_dir_close(d);
  for (const auto &t : temps) {
    // cam1-<time>.recording.ts -> cam1-<time>.recovered-<n>.ts, then the temp file goes.
    const std::string final_path = keepup::ts::final_path_for_temp(t);
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
    } else if (a == "--audio") {
      const std::string mode = argv[++i];
      if (mode == "opus" || mode == "aac" || mode == "none") {
        o.audio = mode == "opus"  ? AudioMode::opus
                  : mode == "aac" ? AudioMode::aac
                                  : AudioMode::none;
      } else {
        std::fprintf(stderr, "keepup-record: --audio takes opus, aac or none\n");
        return false;
      }
    } else if (a == "--output-dir") {
      o.output_dir = argv[++i];
    } else if (a == "--token") {
      o.token = argv[++i];
    } else if (a == "--max-sessions") {
      o.max_sessions = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--connect-timeout" || a == "--idle-timeout" || a == "--max-connections" ||
               a == "--media-timeout") {
      const int n = std::atoi(argv[++i]);
      if (n < 1) {
        std::fprintf(stderr, "keepup-record: %s takes a positive number\n", a.c_str());
        return false;
      }
      (a == "--connect-timeout" ? o.connect_timeout_s
       : a == "--media-timeout" ? o.media_timeout_s
       : a == "--idle-timeout"  ? o.idle_timeout_s
                                : o.max_connections) = n;
    } else if (std::string error; parse_route_option(a, argv[i + 1], o.routes, error)) {
      ++i;
      if (!error.empty()) {
        std::fprintf(stderr, "keepup-record: %s\n", error.c_str());
        return false;
      }
    } else if (std::string error; parse_cluster_option(a, argv[i + 1], o, error)) {
      ++i;
      if (!error.empty()) {
        std::fprintf(stderr, "keepup-record: %s\n", error.c_str());
        return false;
      }
    } else if (a == "--ice-address") {
      o.ice_addresses.push_back(argv[++i]);
    } else {
      std::fprintf(stderr, "keepup-record: unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (std::string error; !check_cluster_options(o, error)) {
    std::fprintf(stderr, "keepup-record: %s\n", error.c_str());
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // The user's locale for what people read (the log); machine output (/status, /metrics,
  // /recordings) is nlohmann JSON and std::to_chars, the same under any locale.
  std::setlocale(LC_ALL, "");
  App app;
  const bool parsed = parse(argc, argv, app.opt);
  if (!parsed || app.opt.help) {
    std::fprintf(
        parsed ? stdout : stderr,
        "usage: keepup-record [--listen 127.0.0.1:8089] [--output-dir DIR] [--token T]\n"
        "                     [--max-sessions 8] [--connect-timeout 10] [--media-timeout 10] "
        "[--idle-timeout 30]\n"
        "                     [--max-connections 256] [--ice-address ADDR]... "
        "[--audio opus|aac|none]\n"
        "                     [--transcode] [--trace]\n%s%s",
        kRouteUsage, kClusterUsage);
    return parsed ? 0 : 2;
  }
  if (app.opt.trace && !g_getenv("GST_TRACERS"))
    g_setenv("GST_TRACERS", "stagelatency(interval=10)", TRUE);
  gst_init(&argc, &argv);
  std::vector<const char *> elements = {"webrtcbin", "tsrecordsink", "dropqueue", "mpegtsmux",
                                        "nicesrc"};
  if (app.opt.audio != AudioMode::none)
    elements.insert(elements.end(), {"rtpopusdepay", "opusparse"});
  if (app.opt.audio == AudioMode::aac)
    elements.insert(elements.end(), {"opusdec", "audiorate", "avenc_aac", "aacparse"});
  for (const char *needed : elements)
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
  // One recorder per folder: a second one's start-up recovery would take the first one's live
  // temp files for crash leftovers. The lock is flock on the folder itself (nothing is added
  // to it); it goes with the process, a crash included, and the descriptor stays open.
  const int lock_fd = open(app.opt.output_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::fprintf(stderr,
                 "keepup-record: %s is in use by another keepup-record (%s); give each recorder "
                 "an --output-dir of its own\n",
                 app.opt.output_dir.c_str(), lock_fd < 0 ? std::strerror(errno) : "locked");
    return 1;
  }
  recover_leftovers(app.opt.output_dir);

  app.loop = g_main_loop_new(nullptr, FALSE);
  app.server = soup_server_new("server-header", "keepup-record", nullptr);
  install_routes(app);
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
  start_cluster(app);
  g_main_loop_run(app.loop);
  stop_cluster(app);
  soup_server_disconnect(app.server);
  remove_routes(app);
  g_object_unref(app.server);
  g_main_loop_unref(app.loop);
  log_line("keepup-record stopped");
  return 0;
}
