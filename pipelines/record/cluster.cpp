// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's fleet: options, the heartbeat thread (Redis I/O), the main-loop view of the
// fleet and the redirect decision. See cluster.hpp for the threads, cluster_core.hpp for the
// Redis scheme and the pure rules.
#include "cluster.hpp"

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "cluster_core.hpp"
#include "redis_client.hpp"
#include "redis_uri.hpp"

namespace keepup::record {

namespace cl = keepup::whip::cluster;

const char *const kClusterUsage =
    "                     [--cluster redis://[[user]:pass@]host[:port][/db] --advertise URL]\n"
    "                     [--node-id ID] [--heartbeat 2]\n";

bool parse_cluster_option(const std::string &name, const char *value, Options &o,
                          std::string &error) {
  if (name != "--cluster" && name != "--advertise" && name != "--node-id" && name != "--heartbeat")
    return false;
  if (!value) {
    error = name + " needs a value";
    return true;
  }
  const std::string v = value;
  if (name == "--cluster") {
    std::string why;
    if (!keepup::redis::parse_uri(v, &why)) {
      error = "--cluster: " + why;
      return true;
    }
    o.cluster_uri = v;
  } else if (name == "--advertise") {
    std::string why;
    const auto url = cl::normalize_advertise_url(v, &why);
    if (!url) {
      error = "--advertise: " + why + " (this node's public base URL, e.g. http://10.0.0.5:8089)";
      return true;
    }
    o.advertise = *url;
  } else if (name == "--node-id") {
    if (!cl::valid_node_id(v)) {
      error = "--node-id: '" + v + "' is not [A-Za-z0-9_.:[]-]{1,128}";
      return true;
    }
    o.node_id = v;
  } else {
    char *end = nullptr;
    const double s = g_ascii_strtod(value, &end);
    if (v.empty() || !end || *end || !(s >= 0.1 && s <= 60)) {
      error = "--heartbeat takes seconds from 0.1 to 60, not '" + v + "'";
      return true;
    }
    o.heartbeat_ms = static_cast<int>(s * 1000.0 + 0.5);
  }
  return true;
}

bool check_cluster_options(Options &o, std::string &error) {
  if (o.cluster_uri.empty() && !o.advertise.empty()) {
    error = "--advertise needs --cluster redis://... (the fleet to advertise in)";
    return false;
  }
  if (o.cluster_uri.empty() && (!o.node_id.empty() || o.heartbeat_ms != Options{}.heartbeat_ms)) {
    error = "--node-id and --heartbeat need --cluster redis://... (they describe this node in "
            "the fleet)";
    return false;
  }
  if (o.cluster_uri.empty())
    return true;
  if (o.advertise.empty()) {
    error = "--cluster needs --advertise URL: the base URL other nodes redirect publishers to "
            "(e.g. --advertise http://10.0.0.5:" +
            std::to_string(o.port) + ")";
    return false;
  }
  if (o.node_id.empty())
    o.node_id = cl::default_node_id(o.advertise);
  if (!cl::valid_node_id(o.node_id)) {
    error = "cannot make a node id from --advertise " + o.advertise + ": give --node-id";
    return false;
  }
  return true;
}

class Cluster {
public:
  Cluster(App &app, keepup::redis::Uri uri)
      : uri_(std::move(uri)), node_(app.opt.node_id), url_(app.opt.advertise),
        capacity_(app.opt.max_sessions), heartbeat_ms_(app.opt.heartbeat_ms),
        ttl_ms_(3LL * app.opt.heartbeat_ms) {}

  // ---- main loop
  void start(const std::shared_ptr<Cluster> &self) {
    std::weak_ptr<Cluster> weak = self;
    thread_ =
        std::thread([this, weak]() { whip::guarded("cluster thread", [&]() { run(weak); }); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }
  void sessions_changed(int active, bool draining) {
    {
      std::lock_guard<std::mutex> lk(m_);
      if (active == active_ && draining == draining_)
        return;
      active_ = active;
      draining_ = draining;
      dirty_ = true;
    }
    cv_.notify_all();
  }
  std::string redirect(const std::string &stream, bool redirected) {
    if (!redirected && snapshot_) {
      const auto target =
          cl::pick_target(*snapshot_, node_, url_, sent_, g_get_monotonic_time(), ttl_ms_);
      if (target) {
        sent_[target->node] += 1;
        redirects_ += 1;
        return cl::redirect_location(target->url, stream, node_);
      }
    }
    refused_ += 1;
    return {};
  }
  nlohmann::json status() const {
    nlohmann::json nodes = nlohmann::json::array();
    const gint64 now = g_get_monotonic_time();
    if (snapshot_)
      for (const auto &n : snapshot_->nodes) {
        const std::int64_t age = cl::age_now_ms(n, *snapshot_, now);
        nodes.push_back({{"node", n.record.node},
                         {"url", n.record.url},
                         {"capacity", n.record.capacity},
                         {"active", n.record.active},
                         {"draining", n.record.draining},
                         {"age_s", static_cast<double>(age) / 1000.0},
                         {"live", cl::is_live(age, ttl_ms_)},
                         {"self", n.record.node == node_}});
      }
    return {{"enabled", true},
            {"node", node_},
            {"url", url_},
            {"redis", uri_.redacted()},
            {"redis_up", redis_up_},
            {"redis_error", redis_error_},
            {"heartbeat_s", static_cast<double>(heartbeat_ms_) / 1000.0},
            {"ttl_s", static_cast<double>(ttl_ms_) / 1000.0},
            {"redirects", redirects_},
            {"refused", refused_},
            {"nodes", nodes}};
  }
  ClusterCounters counters() const {
    ClusterCounters c;
    c.enabled = true;
    c.redirects = static_cast<double>(redirects_);
    c.refused = static_cast<double>(refused_);
    c.redis_up = redis_up_;
    if (snapshot_) {
      const gint64 now = g_get_monotonic_time();
      for (const auto &n : snapshot_->nodes)
        c.live_nodes += cl::is_live(cl::age_now_ms(n, *snapshot_, now), ttl_ms_) ? 1 : 0;
    }
    return c;
  }

private:
  // ---- main loop: what the thread reports
  void apply(cl::Snapshot s) {
    snapshot_ = std::move(s);
    sent_.clear(); // the records now include what was sent before
    redis_up_ = true;
    redis_error_.clear();
  }
  void redis_failed(const std::string &why) {
    redis_up_ = false;
    redis_error_ = why;
  }

  // ---- cluster thread
  void run(const std::weak_ptr<Cluster> &weak) {
    std::unique_ptr<keepup::redis::Connection> conn;
    int failures = 0;
    bool registered_once = false;
    std::unique_lock<std::mutex> lk(m_);
    while (!stop_) {
      const int active = active_;
      const bool draining = draining_;
      dirty_ = false;
      lk.unlock();
      std::string error;
      std::optional<cl::Snapshot> snap = beat(conn, active, draining, &error);
      if (snap) {
        if (failures > 0 || !registered_once) {
          const std::string line =
              failures > 0 ? "cluster: Redis " + uri_.redacted() + " is back; node " + node_ +
                                 " registered again (" + url_ + ")"
                           : "cluster: node " + node_ + " registered in " + uri_.redacted() +
                                 " as " + url_ + " (heartbeat " + std::to_string(heartbeat_ms_) +
                                 " ms, TTL " + std::to_string(ttl_ms_) + " ms)";
          on_main([line]() { log_line("%s", line.c_str()); });
        }
        registered_once = true;
        failures = 0;
        on_main([weak, s = std::move(*snap)]() mutable {
          if (auto c = weak.lock())
            c->apply(std::move(s));
        });
      } else {
        conn.reset();
        if (++failures == 1) { // warned once per outage
          const std::string line =
              "cluster: warning: " + error +
              "; recording locally; redirects stop once the fleet view is older than its "
              "TTL (retrying with backoff)";
          on_main([line]() { log_line("%s", line.c_str()); });
        }
        on_main([weak, error]() {
          if (auto c = weak.lock())
            c->redis_failed(error);
        });
      }
      lk.lock();
      const auto wait = std::chrono::milliseconds(
          failures > 0 ? std::min<std::int64_t>(cl::retry_delay_ms(failures), 8000)
                       : heartbeat_ms_);
      // After a failure only stop cuts the wait short; a session change does not bypass
      // the backoff.
      cv_.wait_for(lk, wait, [&]() { return stop_ || (failures == 0 && dirty_); });
    }
    lk.unlock();
    if (conn && conn->ok())
      deregister(*conn);
  }

  bool connect(std::unique_ptr<keepup::redis::Connection> &conn, std::string *error) {
    if (conn && conn->ok())
      return true;
    const auto timeout = std::chrono::milliseconds(std::clamp(heartbeat_ms_, 250, 1000));
    conn = keepup::redis::Connection::open(uri_, timeout, error);
    return conn != nullptr;
  }

  // One heartbeat: write our record, read the fleet. nullopt with *error on any failure.
  std::optional<cl::Snapshot> beat(std::unique_ptr<keepup::redis::Connection> &conn, int active,
                                   bool draining, std::string *error) {
    using keepup::redis::Reply;
    if (!connect(conn, error))
      return std::nullopt;
    Reply time;
    if (!conn->command({"TIME"}, &time, error))
      return std::nullopt;
    if (time.type != Reply::Type::Array || time.elements.size() != 2) {
      *error = uri_.redacted() + ": TIME answered " + (time.is_error() ? time.str : "no time");
      return std::nullopt;
    }
    const std::int64_t now_ms = std::strtoll(time.elements[0].str.c_str(), nullptr, 10) * 1000 +
                                std::strtoll(time.elements[1].str.c_str(), nullptr, 10) / 1000;
    cl::NodeRecord me;
    me.node = node_;
    me.url = url_;
    me.capacity = capacity_;
    me.active = active;
    me.draining = draining;
    me.updated_ms = now_ms;
    const std::string index(cl::kIndexKey);
    conn->append({"SET", cl::node_key(node_), cl::to_json(me), "PX", std::to_string(ttl_ms_)});
    conn->append({"ZADD", index, std::to_string(now_ms), node_});
    // Index members older than the TTL have no record any more (same clock: Redis's).
    conn->append({"ZREMRANGEBYSCORE", index, "-inf", "(" + std::to_string(now_ms - ttl_ms_)});
    conn->append({"ZRANGE", index, "0", "-1"});
    Reply replies[4];
    for (Reply &r : replies) {
      if (!conn->read_reply(&r, error))
        return std::nullopt;
      if (r.is_error()) {
        *error = uri_.redacted() + ": " + r.str;
        return std::nullopt;
      }
    }
    cl::Snapshot snap;
    std::vector<std::string> members;
    for (const Reply &m : replies[3].elements)
      members.push_back(m.str);
    if (!members.empty()) {
      std::vector<std::string> mget = {"MGET"};
      for (const auto &m : members)
        mget.push_back(cl::node_key(m));
      Reply records;
      if (!conn->command(mget, &records, error))
        return std::nullopt;
      if (records.is_error() || records.elements.size() != members.size()) {
        *error = uri_.redacted() + ": MGET answered " + records.str;
        return std::nullopt;
      }
      std::vector<std::string> gone;
      for (std::size_t i = 0; i < members.size(); ++i) {
        const Reply &r = records.elements[i];
        if (r.is_nil()) {
          gone.push_back(members[i]);
          continue;
        }
        std::string why;
        auto rec = cl::from_json(r.str, &why);
        if (!rec || rec->node != members[i])
          continue; // not ours to judge: left for its owner (or its TTL)
        if (auto seen = cl::seen_at(std::move(*rec), now_ms))
          snap.nodes.push_back(std::move(*seen));
      }
      if (!gone.empty()) {
        std::vector<std::string> zrem = {"ZREM", index};
        zrem.insert(zrem.end(), gone.begin(), gone.end());
        Reply ignored;
        if (!conn->command(zrem, &ignored, error))
          return std::nullopt;
      }
    }
    snap.read_at_us = g_get_monotonic_time();
    return snap;
  }

  void deregister(keepup::redis::Connection &conn) {
    conn.set_timeout(std::chrono::milliseconds(500));
    conn.append({"DEL", cl::node_key(node_)});
    conn.append({"ZREM", std::string(cl::kIndexKey), node_});
    keepup::redis::Reply r;
    std::string error;
    const bool ok = conn.read_reply(&r, &error) && conn.read_reply(&r, &error);
    // The main loop has ended: the thread that logs is the only one left.
    log_line("cluster: node %s %s", node_.c_str(),
             ok ? "deregistered" : ("not deregistered (" + error + "), it expires").c_str());
  }

  const keepup::redis::Uri uri_;
  const std::string node_, url_;
  const int capacity_, heartbeat_ms_;
  const std::int64_t ttl_ms_;

  // main loop only
  std::optional<cl::Snapshot> snapshot_;
  std::map<std::string, int> sent_;
  bool redis_up_ = false;
  std::string redis_error_ = "not connected yet";
  std::uint64_t redirects_ = 0, refused_ = 0;

  // shared with the thread, under m_
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false, dirty_ = true, draining_ = false;
  int active_ = 0;
  std::thread thread_;
};

void start_cluster(App &app) {
  if (app.opt.cluster_uri.empty())
    return;
  std::string error;
  auto uri = keepup::redis::parse_uri(app.opt.cluster_uri, &error);
  if (!uri) // checked when the options were read
    return;
  app.cluster = std::make_shared<Cluster>(app, *uri);
  app.cluster->start(app.cluster);
}

void stop_cluster(App &app) {
  if (app.cluster)
    app.cluster->stop();
}

void cluster_sessions_changed(App &app) {
  if (app.cluster)
    app.cluster->sessions_changed(static_cast<int>(app.sessions.size()), app.stopping);
}

std::string cluster_redirect(App &app, const std::string &stream, bool redirected) {
  return app.cluster ? app.cluster->redirect(stream, redirected) : std::string();
}

nlohmann::json cluster_status(App &app) {
  return app.cluster ? app.cluster->status() : nlohmann::json({{"enabled", false}});
}

ClusterCounters cluster_counters(App &app) {
  return app.cluster ? app.cluster->counters() : ClusterCounters{};
}

} // namespace keepup::record
