// SPDX-License-Identifier: LGPL-2.1-or-later
// The decisions of keepup-record's fleet (--cluster / --advertise), apart from Redis and HTTP:
// what a node publishes about itself, where its record lives in Redis, when a record is too
// old to trust, which node a full node redirects a POST to, and how long to wait before the
// next attempt after Redis failed. Plain C++, unit-tested; time is always passed in.
//
// The Redis scheme (one per Redis db):
//   keepup:nodes:<node>  string, the node's record as JSON (to_json), SET with PX = the TTL
//                        (3 heartbeats): a node that stops heartbeating vanishes by itself.
//   keepup:nodes         sorted set, member <node>, score = the record's updated_ms: the
//                        index a node reads the fleet from (ZRANGE, then MGET the records).
//                        Members whose record expired are removed by whoever sees them.
// Times in records are Redis's clock (TIME), so nodes with skewed clocks agree on ages.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepup::whip::cluster {

inline constexpr std::string_view kIndexKey = "keepup:nodes";
// "keepup:nodes:<node>"
std::string node_key(const std::string &node);

// What a node says about itself in its heartbeat.
struct NodeRecord {
  std::string node;            // id, unique in the fleet
  std::string url;             // public base URL (--advertise), no trailing slash
  int capacity = 0;            // --max-sessions
  int active = 0;              // live sessions when the heartbeat was written
  bool draining = false;       // stopping (SIGTERM/SIGINT): takes no new sessions
  std::int64_t updated_ms = 0; // Redis time of the heartbeat (ms since the epoch)
};

// {"v":1,"node":..,"url":..,"capacity":..,"active":..,"draining":..,"updated_ms":..}
std::string to_json(const NodeRecord &r);
// nullopt (and *error) when the text is not such a record (bad JSON, missing or mistyped
// fields, negative numbers, an unknown "v").
std::optional<NodeRecord> from_json(const std::string &text, std::string *error);

// One node as a heartbeat read it: the record and its age at that moment.
struct NodeSeen {
  NodeRecord record;
  std::int64_t age_ms = 0; // Redis now - updated_ms when the fleet was read (>= 0)
};

// A record as read at Redis time now_ms: its age then, or nullopt when it claims a heartbeat
// more than a second in the future (every node writes Redis TIME, so only a forged or broken
// record does): such a record is not used.
std::optional<NodeSeen> seen_at(NodeRecord record, std::int64_t now_ms);

// The fleet as the last successful read saw it.
struct Snapshot {
  std::vector<NodeSeen> nodes;
  std::int64_t read_at_us = 0; // local monotonic time of the read
};

// A record's age now: its age when read plus the local time since the read. A snapshot that
// is not refreshed (Redis down) ages with it, so its nodes go stale and are no longer used.
std::int64_t age_now_ms(const NodeSeen &n, const Snapshot &s, std::int64_t now_us);
// Live: younger than the TTL (what Redis itself would still hold).
bool is_live(std::int64_t age_ms, std::int64_t ttl_ms);

// The node a full node sends a POST to: live, not itself (neither `self_node` nor a record
// advertising `self_url`, as a node restarted under another id would), with room by its last
// heartbeat once `sent` (redirects already sent to each node since the snapshot) is added to
// its active sessions; the least loaded by (active + sent) / capacity, then the most free
// slots, then the node id. nullopt: no such node (the POST gets 503).
std::optional<NodeRecord> pick_target(const Snapshot &s, const std::string &self_node,
                                      const std::string &self_url,
                                      const std::map<std::string, int> &sent, std::int64_t now_us,
                                      std::int64_t ttl_ms);

// A node's WHIP endpoint for a stream: "<base>/whip/<stream>?redirected=<from>". The query
// marks the POST as redirected once, so the node it reaches never redirects it again
// (no loops, even when two nodes act on stale heartbeats).
std::string redirect_location(const std::string &base_url, const std::string &stream,
                              const std::string &from_node);
inline constexpr std::string_view kRedirectedParam = "redirected";

// --advertise: http:// or https://, a host, an optional port 1..65535, an optional path; no
// query, fragment, user info or spaces. Returns the URL without trailing slashes, or nullopt
// with *error saying what is wrong.
std::optional<std::string> normalize_advertise_url(const std::string &text, std::string *error);
// The default node id: the advertised URL's host:port ("10.0.0.5:8080"; the scheme's port when
// the URL has none).
std::string default_node_id(const std::string &advertise_url);
// Node ids: [A-Za-z0-9_.:\[\]-]{1,128} (they are part of a Redis key and of /status).
bool valid_node_id(const std::string &id);

// Wait before the next attempt after `failures` consecutive Redis failures (1, 2, ...):
// 250 ms doubling up to 8 s; never more than `cap_ms`.
std::int64_t retry_delay_ms(int failures, std::int64_t cap_ms = 8000);

} // namespace keepup::whip::cluster
