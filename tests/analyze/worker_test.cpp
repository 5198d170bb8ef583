// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-analyze --submit / --worker against a real redis-server (tests/common/redis_server.hpp)
// with real worker processes: jobs run once each when a worker is SIGKILLed mid-job or stalls
// past its lease, SIGTERM hands the job back, malformed jobs give error results, unreachable
// Redis is a clear failure; and the time the fleet takes to reassign a killed worker's job,
// against the lease.
#include <fcntl.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "analyze_process.hpp"
#include "redis_server.hpp"
#include "test_util.hpp"

using namespace keepup::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A keepup-analyze process of its own (a worker), stdout and stderr into a log file.
class Proc {
public:
  Proc(std::vector<std::string> args, std::string log) : log_(std::move(log)) {
    args.insert(args.begin(), analyze_binary());
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string bin = analyze_binary();
    pid_ = fork();
    if (pid_ == 0) { // only async-signal-safe calls until exec
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Proc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Proc(const Proc &) = delete;
  Proc &operator=(const Proc &) = delete;

  void signal(int sig) { ::kill(pid_, sig); }
  // The wait status, or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    do {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(10ms);
    } while (Clock::now() < until);
    return std::nullopt;
  }
  void kill_now() {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const { return read_text_file(log_); }
  bool logged(const std::string &text) const { return log().find(text) != std::string::npos; }

private:
  std::string log_;
  pid_t pid_ = -1;
};

// Polls until pred() or timeout; true if pred() held.
template <typename Pred> bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= until)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

using Fields = std::map<std::string, std::string>;

std::vector<Fields> results(const RedisServer &server) {
  auto c = server.client();
  keepup::redis::Reply r;
  std::string error;
  std::vector<Fields> out;
  if (!c || !c->command({"XRANGE", "keepup:results", "-", "+"}, &r, &error))
    return out;
  for (const auto &e : keepup::redis::parse_entries(r))
    out.emplace_back(e.fields.begin(), e.fields.end());
  return out;
}

long long pending_count(const RedisServer &server) {
  auto c = server.client();
  keepup::redis::Reply r;
  std::string error;
  if (!c || !c->command({"XPENDING", "keepup:jobs", "keepup-workers"}, &r, &error) ||
      r.type != keepup::redis::Reply::Type::Array || r.elements.empty())
    return -1;
  return r.elements[0].integer;
}

// Idle time of the first pending job entry (ms since it was claimed or renewed), -1 if none.
long long pending_idle_ms(const RedisServer &server) {
  auto c = server.client();
  keepup::redis::Reply r;
  std::string error;
  if (!c || !c->command({"XPENDING", "keepup:jobs", "keepup-workers", "-", "+", "1"}, &r, &error) ||
      r.type != keepup::redis::Reply::Type::Array || r.elements.empty() ||
      r.elements[0].elements.size() < 3)
    return -1;
  return r.elements[0].elements[2].integer;
}

// A short generated clip (the traffic scene, recorded as it is): a file input for jobs.
std::string make_clip(const ScratchDir &dir, int seconds) {
  const std::string clip = dir / "clip.ts";
  const AppRun r = analyze({"test", "--raw", "--seconds", std::to_string(seconds), "--size",
                            "320x240", "--quiet", "--output", clip});
  EXPECT_TRUE(exited_ok(r)) << r.err;
  return clip;
}

std::string submit(const RedisServer &server, const std::string &id,
                   std::vector<std::string> command) {
  std::vector<std::string> args = {"--submit", server.uri(), "--job-id", id};
  args.insert(args.end(), command.begin(), command.end());
  const AppRun r = analyze(args);
  EXPECT_TRUE(exited_ok(r)) << r.err;
  EXPECT_EQ(r.out, id + "\n");
  return id;
}

std::vector<std::string> worker_args(const RedisServer &server, const std::string &name,
                                     int lease_ms, int max_jobs = 0) {
  return {"--worker",   server.uri(),
          "--name",     name,
          "--lease-ms", std::to_string(lease_ms),
          "--max-jobs", std::to_string(max_jobs)};
}

#define REQUIRE_REDIS(server)                                                                      \
  if (RedisServer::binary().empty())                                                               \
    GTEST_SKIP() << "redis-server not installed";                                                  \
  ASSERT_TRUE((server).start())

} // namespace

TEST(AnalyzeFleet, SixJobsThreeWorkersOneKilledMidJobEveryJobOnce) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  const std::string clip = make_clip(dir, 3); // 90 frames
  std::set<std::string> ids;
  for (int i = 1; i <= 6; ++i) {
    const std::string id = "job" + std::to_string(i);
    ids.insert(
        submit(server, id, {clip, "--quiet", "--interval", "2", "--output", dir / (id + ".ts")}));
  }
  const int lease_ms = 1500;
  std::vector<std::unique_ptr<Proc>> workers;
  for (const char *name : {"w1", "w2", "w3"})
    workers.push_back(std::make_unique<Proc>(worker_args(server, name, lease_ms),
                                             dir / (std::string(name) + ".log")));
  // w1 dies in the middle of its first job.
  ASSERT_TRUE(wait_for([&] { return workers[0]->logged(": job job"); }, 30s)) << workers[0]->log();
  const std::string w1_log = workers[0]->log();
  const auto at = w1_log.find(": job job") + 6;
  const std::string killed_job = w1_log.substr(at, w1_log.find(' ', at) - at);
  std::this_thread::sleep_for(300ms);
  for (const auto &r : results(server))
    ASSERT_NE(r.at("job"), killed_job) << "the job ended before the kill: make it longer";
  workers[0]->kill_now();
  const auto killed_at = Clock::now();

  const std::string restarted = "job " + killed_job + " started";
  ASSERT_TRUE(
      wait_for([&] { return workers[1]->logged(restarted) || workers[2]->logged(restarted); }, 30s))
      << workers[1]->log() << workers[2]->log();
  const auto reassign_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at).count();
  // Not before the lease ran out; later when both other workers were busy with jobs of
  // their own (a worker claims when it is free). ReassignTimeFollowsTheLease measures it
  // with an idle worker.
  std::printf("killed worker's job %s restarted after %lld ms (lease %d ms)\n", killed_job.c_str(),
              static_cast<long long>(reassign_ms), lease_ms);
  EXPECT_GE(reassign_ms, lease_ms * 2 / 3 - 50);

  ASSERT_TRUE(wait_for([&] { return results(server).size() >= 6; }, 90s))
      << workers[1]->log() << workers[2]->log();
  // A lease later nothing more arrives: no job ran to a second result.
  std::this_thread::sleep_for(std::chrono::milliseconds(lease_ms + 500));
  for (int i : {1, 2}) {
    workers[i]->signal(SIGTERM);
    const auto status = workers[i]->wait(10s);
    ASSERT_TRUE(status) << "SIGTERM while idle: the worker exits";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << workers[i]->log();
  }
  const auto all = results(server);
  ASSERT_EQ(all.size(), 6U);
  std::set<std::string> seen;
  for (const auto &r : all) {
    EXPECT_TRUE(seen.insert(r.at("job")).second) << "twice: " << r.at("job");
    EXPECT_EQ(r.at("status"), "ok")
        << r.at("job") << ": " << (r.count("error") ? r.at("error") : "");
    EXPECT_EQ(r.at("frames"), "90");
    EXPECT_EQ(r.at("output"), dir / (r.at("job") + ".ts"));
    EXPECT_NE(r.at("worker"), "w1");
    // Attempts: 2 for the killed job, 1 for the others (more only if a renewal came a whole
    // lease late on a loaded box; the result is still single).
    EXPECT_GE(std::stoi(r.at("attempts")), r.at("job") == killed_job ? 2 : 1) << r.at("job");
    EXPECT_GT(std::stoll(r.at("tracks")), 0);
    EXPECT_EQ(decoded_frames(r.at("output")), 90) << r.at("output");
  }
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(pending_count(server), 0);
}

TEST(AnalyzeFleet, SigtermHandsTheRunningJobBackAndExitsZero) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  // The generated scene, 4 s (120 frames): long enough to be stopped in the middle.
  submit(server, "long",
         {"test", "--seconds", "4", "--size", "320x240", "--quiet", "--output", dir / "long.ts"});
  const int lease_ms = 30000; // far longer than the test: only a hand-back explains a quick restart
  {
    Proc a(worker_args(server, "a", lease_ms), dir / "a.log");
    ASSERT_TRUE(wait_for([&] { return a.logged("job long started"); }, 20s)) << a.log();
    std::this_thread::sleep_for(500ms);
    a.signal(SIGTERM);
    const auto stopped = Clock::now();
    const auto status = a.wait(10s);
    ASSERT_TRUE(status) << "SIGTERM is a bounded wait";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << a.log();
    std::printf(
        "SIGTERM to exit: %lld ms\n",
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped).count()));
    EXPECT_TRUE(a.logged("job long handed back")) << a.log();
  }
  EXPECT_TRUE(results(server).empty()) << "a handed-back job has no result";
  EXPECT_EQ(pending_count(server), 1);

  Proc b(worker_args(server, "b", lease_ms, 1), dir / "b.log");
  const auto started = Clock::now();
  ASSERT_TRUE(wait_for([&] { return b.logged("job long started"); }, 5s))
      << "taken over at once, not after the lease\n"
      << b.log();
  std::printf(
      "handed-back job restarted after %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()));
  const auto status = b.wait(60s);
  ASSERT_TRUE(status) << "--max-jobs 1: the worker exits after its job\n" << b.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << b.log();
  const auto all = results(server);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].at("job"), "long");
  EXPECT_EQ(all[0].at("status"), "ok");
  EXPECT_EQ(all[0].at("worker"), "b");
  EXPECT_EQ(all[0].at("attempts"), "2");
  EXPECT_EQ(all[0].at("frames"), "120");
  EXPECT_EQ(decoded_frames(dir / "long.ts"), 120);
  EXPECT_EQ(pending_count(server), 0);
}

TEST(AnalyzeFleet, AStalledWorkerPastItsLeaseWritesNoSecondResult) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  const std::string clip = make_clip(dir, 3);
  submit(server, "stall", {clip, "--quiet", "--output", dir / "stall.ts"});
  const int lease_ms = 1500;
  Proc a(worker_args(server, "a", lease_ms), dir / "a.log");
  ASSERT_TRUE(wait_for([&] { return a.logged("job stall started"); }, 20s)) << a.log();
  a.signal(SIGSTOP); // a pause longer than the lease (a swapping box, a debugger)
  Proc b(worker_args(server, "b", lease_ms), dir / "b.log");
  ASSERT_TRUE(wait_for([&] { return b.logged("job stall started"); }, 10s)) << b.log();
  a.signal(SIGCONT); // both run the job now; only the owner may write the result
  ASSERT_TRUE(wait_for([&] { return !results(server).empty(); }, 60s)) << b.log();
  ASSERT_TRUE(wait_for([&] { return a.logged("lease lost") || a.logged("result dropped"); }, 20s))
      << a.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(lease_ms));
  const auto all = results(server);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].at("worker"), "b");
  EXPECT_EQ(all[0].at("attempts"), "2");
  EXPECT_EQ(all[0].at("frames"), "90");
  EXPECT_EQ(all[0].at("output"), dir / "stall.ts");
  for (Proc *p : {&a, &b}) {
    p->signal(SIGTERM);
    const auto status = p->wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p->log();
  }
  EXPECT_EQ(decoded_frames(dir / "stall.ts"), 90);
  // The stale attempt's files are gone; it never wrote into the owner's.
  EXPECT_FALSE(g_file_test((dir / "stall.part-a.ts").c_str(), G_FILE_TEST_EXISTS));
  EXPECT_FALSE(g_file_test((dir / "stall.part-b.ts").c_str(), G_FILE_TEST_EXISTS));
}

TEST(AnalyzeFleet, MalformedJobsGiveErrorResultsAndTheWorkerGoesOn) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  const std::string clip = make_clip(dir, 1);
  {
    auto c = server.client();
    keepup::redis::Reply r;
    std::string error;
    ASSERT_TRUE(c->command({"XADD", "keepup:jobs", "*", "job", "{not json"}, &r, &error));
    ASSERT_TRUE(c->command({"XADD", "keepup:jobs", "*", "something", "else"}, &r, &error));
    ASSERT_TRUE(
        c->command({"XADD", "keepup:jobs", "*", "job",
                    R"({"v":1,"id":"bogus","input":")" + clip + R"(","options":["--bogus","1"]})"},
                   &r, &error));
  }
  submit(server, "good", {clip, "--quiet", "--output", dir / "good.ts"});
  Proc w(worker_args(server, "w", 2000, 4), dir / "w.log");
  const auto status = w.wait(60s);
  ASSERT_TRUE(status) << w.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << w.log();
  const auto all = results(server);
  ASSERT_EQ(all.size(), 4U) << w.log();
  EXPECT_EQ(all[0].at("status"), "error");
  EXPECT_NE(all[0].at("error").find("not JSON"), std::string::npos) << all[0].at("error");
  EXPECT_EQ(all[1].at("status"), "error");
  EXPECT_NE(all[1].at("error").find("no \"job\" field"), std::string::npos) << all[1].at("error");
  EXPECT_EQ(all[2].at("job"), "bogus");
  EXPECT_EQ(all[2].at("status"), "error");
  EXPECT_TRUE(w.logged("unknown option --bogus")) << w.log();
  EXPECT_EQ(all[3].at("job"), "good");
  EXPECT_EQ(all[3].at("status"), "ok");
  EXPECT_EQ(all[3].at("frames"), "30");
  EXPECT_EQ(pending_count(server), 0) << "every entry acked";

  // --submit checks the command line before queueing it.
  const AppRun bad = analyze({"--submit", server.uri(), clip, "--bogus", "1"});
  EXPECT_EQ(exit_code(bad), 2);
  EXPECT_NE(bad.err.find("unknown option --bogus"), std::string::npos) << bad.err;
  const AppRun show = analyze({"--submit", server.uri(), clip, "--show"});
  EXPECT_EQ(exit_code(show), 2);
  EXPECT_NE(show.err.find("--show cannot run on a worker"), std::string::npos) << show.err;
}

TEST(AnalyzeFleet, UnreachableRedisOrABadUriFailsWithAMessage) {
  const std::string nobody = "redis://127.0.0.1:" + std::to_string(RedisServer::free_port());
  for (const char *mode : {"--worker", "--submit"}) {
    std::vector<std::string> args = {mode, nobody};
    if (std::string(mode) == "--submit")
      args.push_back("test");
    const AppRun r = analyze(args);
    EXPECT_EQ(exit_code(r), 1) << mode << r.err;
    EXPECT_NE(r.err.find("cannot reach Redis at " + nobody), std::string::npos) << r.err;
  }
  const AppRun uri = analyze({"--worker", "http://127.0.0.1:6379"});
  EXPECT_EQ(exit_code(uri), 2);
  EXPECT_NE(uri.err.find("bad Redis URI"), std::string::npos) << uri.err;
  const AppRun lease = analyze({"--worker", nobody, "--lease-ms", "10"});
  EXPECT_EQ(exit_code(lease), 2);
  EXPECT_NE(lease.err.find("--lease-ms"), std::string::npos) << lease.err;
  const AppRun input = analyze({"--worker", nobody, "clip.ts"});
  EXPECT_EQ(exit_code(input), 2);
  EXPECT_NE(input.err.find("not an input"), std::string::npos) << input.err;
}

TEST(AnalyzeFleet, AWorkerOutlivesARedisRestart) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  const std::string clip = make_clip(dir, 1);
  Proc w(worker_args(server, "w", 1000, 1), dir / "w.log");
  ASSERT_TRUE(wait_for([&] { return w.logged("waiting for jobs"); }, 10s)) << w.log();
  server.kill(); // and back on the same port, empty (the fixture keeps no data)
  ASSERT_TRUE(wait_for([&] { return w.logged("(retrying)"); }, 10s)) << w.log();
  ASSERT_TRUE(server.start());
  submit(server, "after", {clip, "--quiet", "--output", dir / "after.ts"});
  const auto status = w.wait(30s);
  ASSERT_TRUE(status) << "the worker came back, ran the job and left (--max-jobs 1)\n" << w.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << w.log();
  EXPECT_TRUE(w.logged("Redis is back")) << w.log();
  const auto all = results(server);
  ASSERT_EQ(all.size(), 1U);
  EXPECT_EQ(all[0].at("job"), "after");
  EXPECT_EQ(all[0].at("status"), "ok");
  EXPECT_EQ(decoded_frames(dir / "after.ts"), 30);
}

// Redis comes back empty while a job runs: the job's claim went with the group, so its result
// is dropped, and the worker neither hangs on it (NOGROUP used to read as "Redis away", retried
// for ever) nor stops: it creates the group again and runs what is submitted next.
TEST(AnalyzeFleet, ARedisThatComesBackEmptyDuringAJobLeavesTheWorkerWorking) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  const std::string clip = make_clip(dir, 1);
  submit(server, "lost",
         {"test", "--seconds", "4", "--size", "320x240", "--quiet", "--output", dir / "lost.ts"});
  Proc w(worker_args(server, "w", 1000), dir / "w.log");
  ASSERT_TRUE(wait_for([&] { return w.logged("job lost started"); }, 20s)) << w.log();
  std::this_thread::sleep_for(300ms);
  server.kill(); // and back on the same port, empty
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(server.start());
  submit(server, "after", {clip, "--quiet", "--output", dir / "after.ts"});
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto &r : results(server))
          if (r.at("job") == "after")
            return true;
        return false;
      },
      40s))
      << w.log();
  w.signal(SIGTERM);
  const auto status = w.wait(10s);
  ASSERT_TRUE(status) << w.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << w.log();
  const auto all = results(server);
  ASSERT_EQ(all.size(), 1U) << "the lost job's claim went with the empty Redis\n" << w.log();
  EXPECT_EQ(all[0].at("status"), "ok");
  EXPECT_EQ(decoded_frames(dir / "after.ts"), 30);
}

TEST(AnalyzeFleet, ARunningJobOutlivesARedisOutage) {
  RedisServer server;
  if (RedisServer::binary().empty())
    GTEST_SKIP() << "redis-server not installed";
  // Persistence on, so the restarted Redis still has the job entry and the group.
  const std::string persistent = "--appendonly yes --appendfsync always";
  ASSERT_TRUE(server.start(persistent));
  ScratchDir dir;
  submit(
      server, "through",
      {"test", "--seconds", "4", "--size", "320x240", "--quiet", "--output", dir / "through.ts"});
  Proc w(worker_args(server, "w", 5000, 1), dir / "w.log");
  ASSERT_TRUE(wait_for([&] { return w.logged("job through started"); }, 20s)) << w.log();
  std::this_thread::sleep_for(300ms);
  server.kill(); // heartbeats fail while it is away (and may hit a dead socket: no SIGPIPE)
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(server.start(persistent));
  const auto status = w.wait(60s);
  ASSERT_TRUE(status) << w.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << w.log();
  const auto all = results(server);
  ASSERT_EQ(all.size(), 1U) << w.log();
  EXPECT_EQ(all[0].at("status"), "ok");
  EXPECT_EQ(all[0].at("attempts"), "1");
  EXPECT_EQ(all[0].at("frames"), "120");
  EXPECT_EQ(decoded_frames(dir / "through.ts"), 120);
  EXPECT_TRUE(w.logged("renewing the lease") || w.logged("writing the result"))
      << "the outage fell inside the job\n"
      << w.log();
}

// The figure for the fleet: from SIGKILL of the worker running a live camera job to another
// worker starting it, as a function of the lease. Expected: between lease - lease/3 (the last
// renewal came up to a third of a lease before the kill) and lease + the blocking read.
TEST(AnalyzeFleet, ReassignTimeFollowsTheLease) {
  RedisServer server;
  REQUIRE_REDIS(server);
  ScratchDir dir;
  std::printf("%-10s %-14s %-8s %s\n", "lease ms", "reassign ms", "/ lease", "idle at kill ms");
  for (int lease_ms : {500, 1000, 2000}) {
    {
      auto c = server.client();
      keepup::redis::Reply r;
      std::string error;
      ASSERT_TRUE(c->command({"DEL", "keepup:jobs", "keepup:results"}, &r, &error));
    }
    const std::string id = "cam" + std::to_string(lease_ms);
    submit(server, id,
           {"test", "--live", "--seconds", "120", "--size", "320x240", "--interval", "4", "--quiet",
            "--output", "-"});
    const std::string started = "job " + id + " started";
    Proc a(worker_args(server, "a", lease_ms), dir / "a.log");
    Proc b(worker_args(server, "b", lease_ms), dir / "b.log");
    ASSERT_TRUE(wait_for([&] { return a.logged(started) || b.logged(started); }, 20s));
    Proc &owner = a.logged(started) ? a : b;
    Proc &other = &owner == &a ? b : a;
    std::this_thread::sleep_for(std::chrono::milliseconds(lease_ms + 300)); // renewals ran
    owner.kill_now();
    const auto killed = Clock::now();
    const long long idle_at_kill = pending_idle_ms(server); // since the owner's last renewal
    ASSERT_TRUE(wait_for([&] { return other.logged(started); }, 20s)) << other.log();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
    std::printf("%-10d %-14lld %-8.2f %lld\n", lease_ms, static_cast<long long>(ms),
                static_cast<double>(ms) / lease_ms, idle_at_kill);
    ASSERT_GE(idle_at_kill, 0);
    EXPECT_LT(idle_at_kill, lease_ms) << "the owner was renewing";
    EXPECT_GE(ms + idle_at_kill + 20, lease_ms) << "taken before the lease ran out";
    EXPECT_LE(ms, lease_ms + std::clamp(lease_ms / 4, 50, 1000) + 1000);
    other.signal(SIGTERM);
    const auto status = other.wait(10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << other.log();
  }
}
