// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's process-wide state: the options, the live sessions, the HTTP server and its
// connection table. Everything here belongs to the main loop; streaming threads reach it only
// through on_main().
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "callback_guard.hpp"
#include "route_options.hpp"
#include "whip_core.hpp"

namespace keepup::record {

namespace whip = keepup::whip;

// What happens to the offer's Opus audio.
enum class AudioMode {
  opus, // passthrough: Opus in MPEG-TS (mpegtsmux writes the Opus control header)
  aac,  // decoded and encoded to AAC-LC (avenc_aac), for players without Opus-in-TS
  none, // received (the peer sees a normal session) and discarded
};

struct Options {
  bool help = false; // -h / --help: usage on stdout, exit 0
  std::string host = "127.0.0.1";
  int port = 8089;
  std::string output_dir = "recordings";
  std::string token;
  int max_sessions = 8;
  int connect_timeout_s = 10; // answered -> ICE connected, else the session ends
  int media_timeout_s = 10;   // no RTP packet for this long (publisher gone): the session ends
  int idle_timeout_s = 30;    // HTTP connections without a request in flight
  int max_connections = 256;  // open HTTP connections; the longest idle goes first
  std::vector<std::string> ice_addresses;
  bool transcode = false;
  bool trace = false;
  AudioMode audio = AudioMode::opus;
  RouteOptions routes; // --stun/--turn, segments, retention, hook (route_options.hpp)
  // --cluster redis://... --advertise URL [--node-id ID] [--heartbeat S] (cluster.hpp)
  std::string cluster_uri, advertise, node_id;
  int heartbeat_ms = 2000;
};

struct Session;
class Cluster;

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
  guint idle_check = 0;
  std::shared_ptr<RouteState> route_state; // metrics, hooks, retention (routes.cpp)
  std::shared_ptr<Cluster> cluster;        // --cluster: the fleet (cluster.cpp), else null
};

// "[HH:MM:SS] text" on stdout, one line, flushed.
void log_line(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

// Runs `f` on the main loop (from any thread); an exception from it is logged, never thrown
// into GLib.
inline void on_main(std::function<void()> f) {
  auto *fn = new std::function<void()>(std::move(f));
  g_main_context_invoke_full(
      nullptr, G_PRIORITY_DEFAULT,
      [](gpointer d) -> gboolean {
        whip::guarded("main-loop call", [&]() { (*static_cast<std::function<void()> *>(d))(); });
        return G_SOURCE_REMOVE;
      },
      fn, [](gpointer d) { delete static_cast<std::function<void()> *>(d); });
}

} // namespace keepup::record
