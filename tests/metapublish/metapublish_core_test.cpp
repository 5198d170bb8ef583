// SPDX-License-Identifier: LGPL-2.1-or-later
// metapublish's core: the bounded queue (drop-oldest accounting, batches put back after a
// failure), the backoff schedule, the record formats and the publisher thread in front of a
// scripted sink (outage reported once, recovery, order kept, nothing lost while it fits).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backoff.hpp"
#include "pending_queue.hpp"
#include "publish_format.hpp"
#include "publisher.hpp"

using namespace keepup::metapublish;
using std::chrono::milliseconds;

namespace {

Entry entry(int n) {
  return {"k", "frame", std::to_string(n)};
}

std::vector<std::string> jsons(const std::vector<Entry> &v) {
  std::vector<std::string> out;
  for (const auto &e : v)
    out.push_back(e.json);
  return out;
}

void expect_invariant(const PendingQueue &q) {
  const auto &c = q.counters();
  EXPECT_EQ(c.accepted, c.published + c.rejected + c.dropped + c.pending());
  EXPECT_LE(c.pending(), q.max_pending());
}

} // namespace

TEST(MetaPublishQueue, DropsTheOldestPastTheBound) {
  PendingQueue q(3);
  for (int i = 0; i < 5; ++i)
    q.push(entry(i));
  EXPECT_EQ(q.counters().dropped, 2u);
  EXPECT_EQ(q.counters().pending(), 3u);
  EXPECT_EQ(q.counters().pending_max, 3u);
  EXPECT_EQ(jsons(q.take(10)), (std::vector<std::string>{"2", "3", "4"}));
  expect_invariant(q);
}

TEST(MetaPublishQueue, UnsentTailGoesBackToTheFrontAndTheBoundStillHolds) {
  PendingQueue q(4);
  for (int i = 0; i < 4; ++i)
    q.push(entry(i));
  auto batch = q.take(3); // 0 1 2 in flight, 3 queued
  EXPECT_EQ(q.counters().in_flight, 3u);
  q.push(entry(4)); // full: the oldest queued (3) goes
  EXPECT_EQ(q.counters().dropped, 1u);
  expect_invariant(q);
  // 0 written, 1 and 2 unsent: back in front of 4, nothing over the bound
  std::vector<Entry> unsent(batch.begin() + 1, batch.end());
  q.settle(1, 0, std::move(unsent));
  EXPECT_EQ(q.counters().published, 1u);
  EXPECT_EQ(jsons(q.take(10)), (std::vector<std::string>{"1", "2", "4"}));
  q.settle(2, 1, {});
  EXPECT_EQ(q.counters().rejected, 1u);
  EXPECT_TRUE(q.empty());
  expect_invariant(q);
}

TEST(MetaPublishQueue, PutBackPastTheBoundDropsTheOldestFirst) {
  PendingQueue q(3);
  for (int i = 0; i < 3; ++i)
    q.push(entry(i));
  auto batch = q.take(2);           // 0 1 in flight, 2 queued
  q.push(entry(3));                 // 0 1 | 2 3 would be 4 > 3: 2 dropped
  q.settle(0, 0, std::move(batch)); // 0 1 back: 0 1 3 fits
  EXPECT_EQ(jsons(q.take(10)), (std::vector<std::string>{"0", "1", "3"}));
  expect_invariant(q);
}

TEST(MetaPublishQueue, EverythingInFlightDropsTheNewEntry) {
  PendingQueue q(2);
  q.push(entry(0));
  q.push(entry(1));
  auto batch = q.take(2);
  EXPECT_EQ(q.push(entry(2)), 1u);
  EXPECT_EQ(q.counters().pending(), 2u);
  q.settle(2, 0, {});
  expect_invariant(q);
  EXPECT_EQ(q.counters().dropped, 1u);
}

TEST(MetaPublishBackoff, DoublesToTheCapAndResets) {
  Backoff b(milliseconds(100), milliseconds(1000));
  std::vector<long> waits;
  for (int i = 0; i < 6; ++i)
    waits.push_back(static_cast<long>(b.next().count()));
  EXPECT_EQ(waits, (std::vector<long>{100, 200, 400, 800, 1000, 1000}));
  EXPECT_EQ(b.failures(), 6u);
  b.reset();
  EXPECT_EQ(b.next().count(), 100);
}

TEST(MetaPublishFormat, KeyAndXadd) {
  EXPECT_EQ(stream_key("", "cam1"), "keepup:events:cam1");
  EXPECT_EQ(stream_key("site:a", "cam1"), "site:a");
  const Entry e{"keepup:events:cam1", "line-crossed", R"({"v":1})"};
  EXPECT_EQ(xadd_args(e, 1000),
            (std::vector<std::string>{"XADD", "keepup:events:cam1", "MAXLEN", "~", "1000", "*",
                                      "type", "line-crossed", "json", R"({"v":1})"}));
  EXPECT_EQ(xadd_args(e, 0), (std::vector<std::string>{"XADD", "keepup:events:cam1", "*", "type",
                                                       "line-crossed", "json", R"({"v":1})"}));
}

TEST(MetaPublishFormat, FrameRecordGolden) {
  FrameRecord f;
  f.stream = "cam1";
  f.wall_time = "2026-12-04T16:55:01.123Z";
  f.pts = 33333333;
  TrackRecord t;
  t.id = 7;
  t.label = "car";
  t.class_id = 2;
  t.confidence = 0.87654;
  t.x = 10;
  t.y = 20;
  t.w = 30;
  t.h = 40;
  t.state = "confirmed";
  t.speed_kmh = 42.26;
  t.speed_uncertainty_kmh = 1.04;
  f.tracks.push_back(t);
  EXPECT_EQ(frame_json(f),
            R"({"v":1,"type":"frame","stream":"cam1","wall_time":"2026-12-04T16:55:01.123Z",)"
            R"("pts":33333333,"tracks":[{"track_id":7,"label":"car","class_id":2,)"
            R"("confidence":0.877,"box":[10,20,30,40],"state":"confirmed","predicted":false,)"
            R"("speed_kmh":42.3,"speed_uncertainty_kmh":1.0}]})");
  FrameRecord empty;
  empty.stream = "s\xff";
  empty.wall_time = "x";
  const auto j = nlohmann::json::parse(frame_json(empty)); // not UTF-8: replaced, parses
  EXPECT_FALSE(j.contains("pts"));
  EXPECT_TRUE(j["tracks"].empty());
}

TEST(MetaPublishFormat, PublishTargets) {
  std::string err;
  auto r = parse_target("redis://:pw@10.0.0.1:6380/2", &err);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->method, Method::redis);
  EXPECT_EQ(r->location, "redis://:pw@10.0.0.1:6380/2");
  for (const char *f : {"/tmp/ev.jsonl", "ev.jsonl", "file:ev.jsonl", "file:///tmp/ev.jsonl"}) {
    auto t = parse_target(f, &err);
    ASSERT_TRUE(t) << f;
    EXPECT_EQ(t->method, Method::file) << f;
  }
  EXPECT_EQ(parse_target("file:///tmp/ev.jsonl", &err)->location, "/tmp/ev.jsonl");
  EXPECT_EQ(parse_target("file:ev.jsonl", &err)->location, "ev.jsonl");
  for (const char *bad : {"", "http://x/y", "file:", "kafka://b:9092"}) {
    err.clear();
    EXPECT_FALSE(parse_target(bad, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

namespace {

// A sink the test scripts: reachable or not, and what it received.
struct Script {
  std::mutex m;
  bool reachable = true;
  std::vector<std::string> written;
  std::atomic<int> opens{0};
};

class ScriptedSink : public Sink {
public:
  explicit ScriptedSink(Script &s) : s_(s) {}
  bool open(std::string *error) override {
    ++s_.opens;
    std::lock_guard<std::mutex> lk(s_.m);
    open_ = s_.reachable;
    if (!open_)
      *error = "refused";
    return open_;
  }
  bool is_open() const override { return open_; }
  void close() override { open_ = false; }
  WriteResult write(const std::vector<Entry> &batch) override {
    WriteResult r;
    std::lock_guard<std::mutex> lk(s_.m);
    if (!s_.reachable) {
      r.failed = true;
      r.error = "gone";
      return r;
    }
    for (const auto &e : batch) {
      if (e.type == "bad") {
        ++r.rejected;
        r.error = "ERR bad";
        continue;
      }
      s_.written.push_back(e.json);
      ++r.published;
    }
    return r;
  }
  std::string describe() const override { return "scripted"; }

private:
  Script &s_;
  bool open_ = false;
};

struct Notices {
  std::mutex m;
  std::vector<Notice> all;
  int count(Notice::Kind k) {
    std::lock_guard<std::mutex> lk(m);
    int n = 0;
    for (const auto &x : all)
      n += x.kind == k;
    return n;
  }
};

} // namespace

TEST(MetaPublishPublisher, WritesInOrderReportsOutageOnceAndRecovery) {
  Script script;
  Notices notices;
  PublisherSettings ps;
  ps.max_pending = 1000;
  ps.batch = 7;
  ps.backoff_initial = milliseconds(1);
  ps.backoff_max = milliseconds(4);
  Publisher p(ps, std::make_unique<ScriptedSink>(script), [&](const Notice &n) {
    std::lock_guard<std::mutex> lk(notices.m);
    notices.all.push_back(n);
  });
  for (int i = 0; i < 50; ++i)
    p.push(entry(i));
  ASSERT_TRUE(p.flush(milliseconds(5000)));
  {
    std::lock_guard<std::mutex> lk(script.m);
    script.reachable = false;
  }
  for (int i = 50; i < 100; ++i)
    p.push(entry(i));
  // The write fails, then every reconnect attempt does: one down notice for all of it.
  EXPECT_FALSE(p.flush(milliseconds(5000)));
  const int opens_before = script.opens;
  const auto retry_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (script.opens < opens_before + 5 && std::chrono::steady_clock::now() < retry_deadline)
    std::this_thread::yield();
  EXPECT_GE(script.opens, opens_before + 5) << "reconnect attempts go on";
  EXPECT_EQ(notices.count(Notice::Kind::down), 1);
  EXPECT_FALSE(p.stats().connected);
  {
    std::lock_guard<std::mutex> lk(script.m);
    script.reachable = true;
  }
  p.push({"k", "bad", "x"});
  p.push(entry(100));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (p.stats().queue.pending() != 0 || p.stats().queue.published < 101) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  p.stop(milliseconds(1000));
  EXPECT_EQ(notices.count(Notice::Kind::recovered), 1);
  EXPECT_EQ(notices.count(Notice::Kind::rejected), 1);
  const PublisherStats s = p.stats();
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_EQ(s.queue.published, 101u);
  EXPECT_EQ(s.queue.rejected, 1u);
  EXPECT_EQ(s.queue.dropped, 0u);
  std::vector<std::string> expected;
  for (int i = 0; i <= 100; ++i)
    expected.push_back(std::to_string(i));
  std::lock_guard<std::mutex> lk(script.m);
  EXPECT_EQ(script.written, expected) << "every entry once, in order, across the outage";
}

TEST(MetaPublishPublisher, UnreachableFromTheStartKeepsTheBound) {
  Script script;
  script.reachable = false;
  Notices notices;
  PublisherSettings ps;
  ps.max_pending = 10;
  ps.backoff_initial = milliseconds(1);
  Publisher p(ps, std::make_unique<ScriptedSink>(script), [&](const Notice &n) {
    std::lock_guard<std::mutex> lk(notices.m);
    notices.all.push_back(n);
  });
  for (int i = 0; i < 100; ++i)
    p.push(entry(i));
  const PublisherStats s = p.stats();
  EXPECT_EQ(s.queue.pending(), 10u);
  EXPECT_EQ(s.queue.pending_max, 10u);
  EXPECT_EQ(s.queue.dropped, 90u);
  EXPECT_EQ(s.queue.published, 0u);
  EXPECT_FALSE(p.flush(milliseconds(2000))); // returns once the sink is known down
  p.stop(milliseconds(0));
  EXPECT_EQ(notices.count(Notice::Kind::down), 1);
}

// A file that fills up partway through a batch (RLIMIT_FSIZE stands in for a full disk, in a
// child process): the partial batch is cut off, so the file never keeps a torn line, and the
// retried batch is not written twice.
TEST(MetaPublishFileSink, AWriteThatFailsPartwayLeavesNoTornLine) {
  char tmpl[] = "/tmp/keepup-mp-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/events.jsonl";
  const std::string line(99, 'x'); // 100 bytes per line with its newline
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG instead
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = 250; // room for 2.5 lines
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0)
      _exit(10);
    auto sink = make_file_sink(path);
    std::string error;
    if (!sink->open(&error))
      _exit(11);
    const std::vector<Entry> one = {{"k", "frame", line}};
    if (sink->write(one).failed) // 100 bytes: fits
      _exit(12);
    const std::vector<Entry> two = {{"k", "frame", line}, {"k", "frame", line}};
    const WriteResult r = sink->write(two); // 200 more: fails after 150
    if (!r.failed || r.published != 0)
      _exit(13);
    _exit(r.error.find("cutting") == std::string::npos ? 0 : 14);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the child's step that failed (10 + step)";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, line + "\n") << "only the whole first batch is left";
  std::remove(path.c_str());
  rmdir(tmpl);
}
