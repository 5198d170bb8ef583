// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's fleet (--cluster redis://... --advertise URL): the node registers itself in
// Redis with a TTL heartbeat and reads the other nodes' records (scheme: cluster_core.hpp);
// a POST to a full node is redirected (307) to the least-loaded live node.
//
// Threads: all Redis I/O runs on the cluster's own thread with its own connection, so a slow
// or dead Redis never stalls HTTP or media. The main loop tells it the session count (and
// wakes it for an early heartbeat); it hands each fleet snapshot, and the log lines about
// Redis going away and coming back, to the main loop through on_main(). Redirect decisions
// are taken on the main loop from the last snapshot, which ages there: without fresh reads
// (Redis down) every other node goes stale after the TTL and a full node answers 503.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "app.hpp"

namespace keepup::record {

// True when `name` is a cluster option (--cluster, --advertise, --node-id, --heartbeat); then
// `value` was used and `error` says why it is not acceptable (empty when it is).
bool parse_cluster_option(const std::string &name, const char *value, Options &o,
                          std::string &error);
// After all options: --cluster and --advertise go together; fills the default node id.
bool check_cluster_options(Options &o, std::string &error);
extern const char *const kClusterUsage;

// Starts the cluster thread (nothing without --cluster). Main loop.
void start_cluster(App &app);
// Deregisters the node (best effort, bounded) and joins the thread. After the loop ended.
void stop_cluster(App &app);
// The session count or the stopping flag changed: the next heartbeat goes now.
void cluster_sessions_changed(App &app);
// For a POST this node cannot take: the Location of the least-loaded live node with room
// (counted as a redirect), or empty (answer 503). `redirected`: the POST already came here
// through a redirect (then it is never sent on).
std::string cluster_redirect(App &app, const std::string &stream, bool redirected);
// GET /status?cluster=1: this node, Redis's state and the fleet as last read.
nlohmann::json cluster_status(App &app);
// For /metrics: redirects sent and POSTs refused with 503 while clustered.
struct ClusterCounters {
  bool enabled = false;
  double redirects = 0, refused = 0, live_nodes = 0;
  bool redis_up = false;
};
ClusterCounters cluster_counters(App &app);

} // namespace keepup::record
