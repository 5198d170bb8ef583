// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record --cluster: real keepup-record processes registered in a real redis-server
// (tests/common/redis_server.hpp), real publishers (keepup-whip-publish), all on loopback.
// Heartbeats every 0.5 s (TTL 1.5 s) keep the waits short; every wait is bounded.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "record_util.hpp"
#include "redis_server.hpp"
#include "test_util.hpp"

using namespace keepup::test;
using namespace keepup::record_test;

namespace {

constexpr const char *kHeartbeat = "0.5"; // s; TTL = 3 heartbeats = 1.5 s

// A node of the fleet: one session at most, advertised on its own loopback port.
std::unique_ptr<Server> node(const std::string &dir, const RedisServer &redis,
                             std::vector<std::string> extra = {}) {
  const int port = free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args = {"--max-sessions", "1",  "--cluster",   redis.uri(),
                                   "--advertise",    base, "--heartbeat", kHeartbeat};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<Server>(dir, args, std::vector<std::string>{}, true, port);
}

nlohmann::json fleet(Server &s) {
  const auto j =
      nlohmann::json::parse(request("GET", s.url("/status?cluster=1")).body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j.value("cluster", nlohmann::json());
}

// The fleet entry of the node at `url` as `s` sees it (null when not listed).
nlohmann::json entry(const nlohmann::json &cluster, const std::string &url) {
  for (const auto &n : cluster.value("nodes", nlohmann::json::array()))
    if (n.value("url", "") == url)
      return n;
  return nullptr;
}

bool live(const nlohmann::json &cluster, const std::string &url) {
  const auto n = entry(cluster, url);
  return !n.is_null() && n.value("live", false);
}

template <typename F> bool eventually(F &&done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A POST a full node answers before reading the offer (307 or 503).
Reply post_to_full(Server &s, const std::string &stream, const std::string &query = "") {
  return whip_request("POST", s.url("/whip/" + stream + query), "v=0\r\n");
}

bool have_ffprobe() {
  return g_file_test("/usr/bin/ffprobe", G_FILE_TEST_IS_EXECUTABLE);
}

// Video packets ffprobe counts in a recording (-1 when it cannot read it).
int video_packets(const std::string &file) {
  const Outcome o =
      run({"/usr/bin/ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
           "-show_entries", "stream=codec_name,nb_read_packets", "-of", "json", file});
  const auto j = nlohmann::json::parse(o.out, nullptr, false);
  if (!o.ok || j.is_discarded() || j.value("streams", nlohmann::json::array()).empty())
    return -1;
  const auto &s = j["streams"][0];
  if (s.value("codec_name", "") != "h264")
    return -1;
  return std::atoi(s.value("nb_read_packets", "0").c_str());
}

bool session_active(Server &s) {
  const auto j = nlohmann::json::parse(request("GET", s.url("/status")).body, nullptr, false);
  return !j.is_discarded() && !j["sessions"].empty();
}

// A redis-server and two nodes, A and B, that see each other live.
class RecordCluster : public ::testing::Test {
protected:
  void SetUp() override {
    if (RedisServer::binary().empty())
      GTEST_SKIP() << "redis-server is not installed (apt-get install redis-server)";
    // DEBUG SLEEP stalls the server for the slow-Redis test.
    ASSERT_TRUE(redis.start("--enable-debug-command yes")) << "redis-server did not start";
    a = node(out_a, redis);
    b = node(out_b, redis);
    url_a = a->url("");
    url_b = b->url("");
    ASSERT_TRUE(eventually([&]() { return live(fleet(*a), url_b) && live(fleet(*b), url_a); },
                           std::chrono::seconds(10)))
        << fleet(*a).dump(2) << a->output() << b->output();
  }

  RedisServer redis;
  ScratchDir dir;
  const std::string out_a = dir / "a", out_b = dir / "b";
  Cleanup clean_a{out_a}, clean_b{out_b};
  std::unique_ptr<Server> a, b; // killed before their folders go
  std::string url_a, url_b;
};

} // namespace

// Two recorders with --max-sessions 1 in one Redis: the first publish is recorded on A; the
// second, sent to A, is redirected (307) to B and recorded there; with both full a POST gets
// 503 from either; /status?cluster=1 lists both.
TEST_F(RecordCluster, FullNodeRedirectsToTheOtherNode) {
  if (!have_ffprobe())
    GTEST_SKIP() << "ffprobe is not installed (apt-get install ffmpeg)";

  // /status?cluster=1 lists both nodes with what they said.
  const auto seen = fleet(*a);
  EXPECT_EQ(seen.value("node", ""), "127.0.0.1:" + std::to_string(a->port()));
  EXPECT_EQ(seen.value("url", ""), url_a);
  EXPECT_TRUE(seen.value("redis_up", false));
  ASSERT_EQ(seen["nodes"].size(), 2u) << seen.dump(2);
  for (const std::string &u : {url_a, url_b}) {
    const auto n = entry(seen, u);
    ASSERT_FALSE(n.is_null()) << u << seen.dump(2);
    EXPECT_EQ(n.value("capacity", 0), 1);
    EXPECT_EQ(n.value("active", -1), 0);
    EXPECT_LT(n.value("age_s", 99.0), 1.5);
    EXPECT_EQ(n.value("self", false), u == url_a);
  }
  // Without ?cluster=1, /status is what it was.
  EXPECT_EQ(request("GET", a->url("/status")).body.find("\"cluster\""), std::string::npos);

  Outcome first, second;
  std::thread pub1([&]() { first = publish(*a, "cam", 10); });
  ASSERT_TRUE(a->wait_recorded(10)) << a->output();
  std::thread pub2([&]() { second = publish(*a, "cam", 6); });
  ASSERT_TRUE(b->wait_recorded(10)) << b->output() << a->output();
  // B's heartbeat says it is full now: nobody has room.
  ASSERT_TRUE(eventually(
      [&]() {
        const auto n = entry(fleet(*a), url_b);
        return !n.is_null() && n.value("active", 0) == 1;
      },
      std::chrono::seconds(5)))
      << fleet(*a).dump(2);
  const Reply both_full_a = post_to_full(*a, "third");
  const Reply both_full_b = post_to_full(*b, "third");
  EXPECT_EQ(both_full_a.status, 503u) << both_full_a.body;
  EXPECT_EQ(both_full_b.status, 503u) << both_full_b.body;
  EXPECT_NE(both_full_a.body.find("every live node"), std::string::npos) << both_full_a.body;
  pub2.join();
  pub1.join();

  ASSERT_TRUE(first.ok) << first.out << a->output();
  ASSERT_TRUE(second.ok) << second.out << a->output() << b->output();
  EXPECT_EQ(first.out.find("redirected"), std::string::npos) << first.out;
  EXPECT_NE(second.out.find("redirected (307) to " + url_b + "/whip/cam?redirected="),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("(session " + url_b + "/whip/cam/"), std::string::npos) << second.out;
  EXPECT_NE(a->output().find("POST /whip/cam: full, redirected to " + url_b), std::string::npos)
      << a->output();
  EXPECT_NE(b->output().find("ending (DELETE)"), std::string::npos) << b->output();

  const auto recs_a = recordings(out_a), recs_b = recordings(out_b);
  ASSERT_EQ(recs_a.size(), 1u) << a->output();
  ASSERT_EQ(recs_b.size(), 1u) << b->output();
  // 10 s and 6 s at 30 fps: well over a few seconds of video in each.
  EXPECT_GT(video_packets(recs_a[0]), 150) << recs_a[0];
  EXPECT_GT(video_packets(recs_b[0]), 80) << recs_b[0];

  const std::string metrics = request("GET", a->url("/metrics")).body;
  EXPECT_NE(metrics.find("keepup_record_cluster_redirects_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("keepup_record_cluster_refused_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("keepup_record_cluster_live_nodes 2\n"), std::string::npos) << metrics;
}

// A POST that already came through a redirect is never sent on (no redirect loops); a node
// that stops heartbeating (SIGKILL) drops out after the TTL and gets no more redirects.
TEST_F(RecordCluster, KilledNodeDropsOutAfterTheTtl) {

  Outcome holder;
  std::thread pub([&]() { holder = publish(*a, "hold", 12); });
  ASSERT_TRUE(eventually([&]() { return session_active(*a); }, std::chrono::seconds(10)))
      << a->output();

  const auto t0 = std::chrono::steady_clock::now();
  const Reply moved = post_to_full(*a, "cam");
  const double redirect_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(moved.status, 307u) << moved.body;
  EXPECT_EQ(moved.header("location").rfind(url_b + "/whip/cam?redirected=", 0), 0u)
      << moved.header("location");
  std::printf("307 from the full node in %.1f ms\n", redirect_ms);
  // The same POST marked as redirected once is refused, not sent on.
  const Reply again = post_to_full(*a, "cam", "?redirected=elsewhere");
  EXPECT_EQ(again.status, 503u) << again.body;
  EXPECT_NE(again.body.find("already redirected"), std::string::npos) << again.body;

  const std::string b_key = "keepup:nodes:127.0.0.1:" + std::to_string(b->port());
  b.reset(); // SIGKILL: no deregistration, only the TTL
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&]() { return !live(fleet(*a), url_b); }, std::chrono::seconds(5)))
      << fleet(*a).dump(2);
  const double gone_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf("killed node out of the fleet after %.2f s (TTL 1.5 s)\n", gone_s);
  EXPECT_LT(gone_s, 3.0);
  const Reply after = post_to_full(*a, "cam");
  EXPECT_EQ(after.status, 503u) << after.body << after.header("location");
  // Redis forgot it too (its record expired), and the index lost it at the next heartbeat.
  auto client = redis.client();
  ASSERT_TRUE(client);
  ASSERT_TRUE(eventually(
      [&]() {
        keepup::redis::Reply exists, rank;
        std::string error;
        return client->command({"EXISTS", b_key}, &exists, &error) && exists.integer == 0 &&
               client->command({"ZSCORE", "keepup:nodes", b_key.substr(13)}, &rank, &error) &&
               rank.is_nil();
      },
      std::chrono::seconds(3)));
  pub.join();
  EXPECT_TRUE(holder.ok) << holder.out << a->output();
}

// SIGTERM: the node deletes its own record on the way out, so the others stop counting on
// it at their next heartbeat instead of after the TTL.
TEST_F(RecordCluster, SigtermDeregistersAtOnce) {
  const std::string b_node = "127.0.0.1:" + std::to_string(b->port());
  const int status = b->stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << b->output();
  ASSERT_TRUE(b->wait_for("cluster: node " + b_node + " deregistered", 5)) << b->output();
  auto client = redis.client();
  ASSERT_TRUE(client);
  keepup::redis::Reply exists, score;
  std::string error;
  ASSERT_TRUE(client->command({"EXISTS", "keepup:nodes:" + b_node}, &exists, &error)) << error;
  EXPECT_EQ(exists.integer, 0);
  ASSERT_TRUE(client->command({"ZSCORE", "keepup:nodes", b_node}, &score, &error)) << error;
  EXPECT_TRUE(score.is_nil());
  // Gone from A's view within a heartbeat or two, well before the 1.5 s TTL would say so.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      eventually([&]() { return entry(fleet(*a), url_b).is_null(); }, std::chrono::seconds(3)))
      << fleet(*a).dump(2);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.2);
}

// Redis killed: the node warns once, keeps recording locally and stops redirecting once the
// other node's last heartbeat is older than the TTL; Redis back: registered again.
TEST_F(RecordCluster, RedisDownStillRecordsLocally) {
  redis.kill();
  ASSERT_TRUE(a->wait_for("cluster: warning: ", 10)) << a->output();
  ASSERT_TRUE(eventually([&]() { return !live(fleet(*a), url_b); }, std::chrono::seconds(5)))
      << fleet(*a).dump(2);
  EXPECT_FALSE(fleet(*a).value("redis_up", true));

  Outcome local;
  std::thread pub([&]() { local = publish(*a, "solo", 4); });
  ASSERT_TRUE(eventually([&]() { return session_active(*a); }, std::chrono::seconds(10)))
      << a->output();
  // Full, and B is stale: 503, not a redirect into the unknown.
  const Reply full = post_to_full(*a, "cam");
  EXPECT_EQ(full.status, 503u) << full.body << full.header("location");
  pub.join();
  ASSERT_TRUE(local.ok) << local.out << a->output();
  const auto recs = recordings(out_a);
  ASSERT_EQ(recs.size(), 1u) << a->output();
  if (have_ffprobe()) {
    EXPECT_GT(video_packets(recs[0]), 60) << recs[0];
  }
  // Warned once for the whole outage (several failed attempts by now).
  const std::string log = a->output();
  std::size_t warnings = 0;
  for (auto at = log.find("cluster: warning: "); at != std::string::npos;
       at = log.find("cluster: warning: ", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << log;

  ASSERT_TRUE(redis.start()) << "redis-server did not restart";
  ASSERT_TRUE(a->wait_for("is back; node", 15)) << a->output();
  ASSERT_TRUE(eventually([&]() { return live(fleet(*a), url_b) && live(fleet(*a), url_a); },
                         std::chrono::seconds(15)))
      << fleet(*a).dump(2) << a->output();
  EXPECT_TRUE(fleet(*a).value("redis_up", false));
}

// A Redis that stops answering (DEBUG SLEEP: the server blocks, connections stay open) never
// stalls HTTP: the heartbeat waits on its own thread, /status answers as fast as before.
TEST_F(RecordCluster, SlowRedisNeverStallsHttp) {
  std::thread sleeper([&]() {
    auto c = redis.client();
    keepup::redis::Reply r;
    std::string error;
    if (c) {
      c->set_timeout(std::chrono::seconds(10));
      c->command({"DEBUG", "SLEEP", "3"}, &r, &error);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  double slowest_ms = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  int requests = 0;
  while (std::chrono::steady_clock::now() < until) {
    const auto t0 = std::chrono::steady_clock::now();
    const Reply r = request("GET", a->url("/status?cluster=1"));
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 200u);
    slowest_ms = std::max(slowest_ms, ms);
    ++requests;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sleeper.join();
  std::printf("Redis asleep 3 s: %d GET /status?cluster=1, slowest %.1f ms\n", requests,
              slowest_ms);
  // Each heartbeat blocks for its 0.5 s I/O timeout meanwhile: on the main loop, one request in
  // 50 ms steps would have waited 450 ms or more. Off it, a request takes milliseconds.
  EXPECT_LT(slowest_ms, 400.0);
  ASSERT_TRUE(a->wait_for("cluster: warning: ", 5)) << a->output();
  ASSERT_TRUE(a->wait_for("is back; node", 15)) << a->output();
}

// Bad cluster options stop keepup-record at once with a message, before it listens.
TEST(RecordClusterOptions, BadOptionsExitWithAMessage) {
  const struct {
    std::vector<std::string> args;
    const char *message;
  } cases[] = {
      {{"--cluster", "redis://127.0.0.1:99999", "--advertise", "http://127.0.0.1:8089"},
       "--cluster: "},
      {{"--cluster", "http://127.0.0.1:6379", "--advertise", "http://127.0.0.1:8089"},
       "--cluster: "},
      {{"--cluster", "redis://127.0.0.1:6379"}, "--cluster needs --advertise URL"},
      {{"--advertise", "http://127.0.0.1:8089"}, "--advertise needs --cluster"},
      {{"--node-id", "a"}, "--node-id and --heartbeat need --cluster"},
      {{"--heartbeat", "5"}, "--node-id and --heartbeat need --cluster"},
      {{"--cluster", "redis://127.0.0.1:6379", "--advertise", "127.0.0.1:8089"},
       "--advertise: '127.0.0.1:8089' is not an http:// or https:// URL"},
      {{"--cluster", "redis://127.0.0.1:6379", "--advertise", "http://h:1", "--heartbeat", "0"},
       "--heartbeat takes seconds"},
      {{"--cluster", "redis://127.0.0.1:6379", "--advertise", "http://h:1", "--node-id", "a b"},
       "--node-id: 'a b'"},
  };
  for (const auto &c : cases) {
    std::vector<std::string> args = {bin("keepup-record")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const Outcome o = run(args);
    EXPECT_FALSE(o.ok) << c.message;
    EXPECT_NE(o.out.find(std::string("keepup-record: ") + c.message), std::string::npos) << o.out;
  }
}
