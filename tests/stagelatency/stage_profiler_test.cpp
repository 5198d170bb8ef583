// SPDX-License-Identifier: LGPL-2.1-or-later
// Unit tests of the stagelatency core: self time through nested pushes, elements with
// delay, gap attribution, histograms, residence through drops, RSS trend.
#include "stage_profiler.hpp"

#include <gtest/gtest.h>

using namespace keepup::stagelatency;

namespace {
constexpr int64_t kMs = 1'000'000;
enum : uint32_t { kSrc = 0, kA = 1, kB = 2, kSink = 3, kQueue = 4 };
} // namespace

TEST(ThreadLedger, ExclusiveTimeExcludesDownstreamPushes) {
  ThreadLedger t;
  t.push_start(kSrc, kA, 0);
  t.push_start(kA, kB, 20 * kMs); // A worked 20 ms, then pushed to B
  auto b = t.push_end(25 * kMs);  // B took 5 ms
  ASSERT_TRUE(b.valid);
  EXPECT_EQ(b.stage, kB);
  EXPECT_EQ(b.exclusive_ns, 5 * kMs);
  auto a = t.push_end(28 * kMs); // A finished 3 ms after its push returned
  EXPECT_EQ(a.stage, kA);
  EXPECT_EQ(a.exclusive_ns, 23 * kMs);
  EXPECT_EQ(a.inclusive_ns, 28 * kMs);
  EXPECT_EQ(t.depth(), 0u);
}

TEST(ThreadLedger, ElementWithDelayIsNotChargedForWhatItPushesLater) {
  // An encoder that holds three frames, then outputs three buffers on the fourth input.
  ThreadLedger t;
  int64_t now = 0;
  for (int i = 0; i < 3; ++i) {
    t.push_start(kSrc, kA, now);
    now += 10 * kMs;
    auto a = t.push_end(now);
    EXPECT_EQ(a.exclusive_ns, 10 * kMs);
    now += 30 * kMs; // the source waits for the next frame
  }
  t.push_start(kSrc, kA, now);
  now += 10 * kMs;
  for (int i = 0; i < 3; ++i) {
    t.push_start(kA, kB, now);
    now += 50 * kMs; // downstream is slow
    EXPECT_EQ(t.push_end(now).exclusive_ns, 50 * kMs);
  }
  auto a = t.push_end(now);
  EXPECT_EQ(a.exclusive_ns, 10 * kMs) << "the 150 ms spent downstream is not the encoder's";
}

TEST(ThreadLedger, AttributesAGapToTheElementThatStalled) {
  ThreadLedger t;
  // Buffer 1 reaches B (the pad watched) at 10 ms.
  t.push_start(kSrc, kA, 0);
  t.push_start(kA, kB, 10 * kMs);
  t.push_end(12 * kMs);
  t.push_end(12 * kMs);
  // The source idles 8 ms, then A blocks for 1.5 s before buffer 2 reaches B.
  t.push_start(kSrc, kA, 20 * kMs);
  t.push_start(kA, kB, 1520 * kMs);
  const Attribution a = t.attribute(10 * kMs, 1520 * kMs);
  ASSERT_EQ(a.stages.size(), 2u);
  EXPECT_EQ(a.stages[0].first, kA);
  EXPECT_EQ(a.stages[0].second, 1500 * kMs);
  EXPECT_EQ(a.stages[1].first, kB);
  EXPECT_EQ(a.stages[1].second, 2 * kMs);
  EXPECT_EQ(a.idle_ns, 8 * kMs);
  EXPECT_EQ(a.idle_source, kSrc);
  EXPECT_TRUE(a.complete);
  const std::vector<StageInfo> names = {{"src", false}, {"blocker", false}, {"id", false}};
  EXPECT_EQ(format_gap_line("id:sink", 1510 * kMs, a, names),
            "GAP 1.51 s at id:sink \u2014 blocker processing 1.50 s, id processing 0.00 s, "
            "upstream idle 0.01 s (src: src)");
}

TEST(ThreadLedger, OneStallIsReportedOncePerThread) {
  ThreadLedger t;
  // The stall [10 ms, 1510 ms] seen at three pads of the same synchronous chain.
  EXPECT_TRUE(t.claim_gap(10 * kMs, 1510 * kMs));
  EXPECT_FALSE(t.claim_gap(11 * kMs, 1511 * kMs));
  EXPECT_FALSE(t.claim_gap(5 * kMs, 1512 * kMs));
  // A later, separate stall is news again.
  EXPECT_TRUE(t.claim_gap(3000 * kMs, 4500 * kMs));
}

TEST(ThreadLedger, AStalledSourceIsUpstreamIdle) {
  ThreadLedger t;
  t.push_start(kSrc, kSink, 0);
  t.push_end(1 * kMs);
  t.push_start(kSrc, kSink, 1500 * kMs); // nothing came for 1.5 s
  const Attribution a = t.attribute(0, 1500 * kMs);
  ASSERT_EQ(a.stages.size(), 1u);
  EXPECT_EQ(a.stages[0].second, 1 * kMs);
  EXPECT_EQ(a.idle_ns, 1499 * kMs);
}

TEST(ThreadLedger, KnowsWhenItsHistoryIsTooShort) {
  ThreadLedger t;
  int64_t now = 0;
  for (size_t i = 0; i < ThreadLedger::kRing; ++i) { // alternate stages so charges do not merge
    t.push_start(kSrc, i % 2 ? kA : kB, now += kMs);
    t.push_end(now += kMs);
  }
  EXPECT_FALSE(t.attribute(0, now).complete);
  EXPECT_TRUE(t.attribute(now - 10 * kMs, now).complete);
}

TEST(ThreadLedger, ResetForgetsStackAndHistory) {
  ThreadLedger t;
  t.push_start(kSrc, kA, 0);
  t.push_start(kA, kB, 10);
  EXPECT_TRUE(t.claim_gap(0, 100));
  t.reset();
  EXPECT_EQ(t.depth(), 0u);
  EXPECT_FALSE(t.push_end(20).valid) << "nothing open after a reset";
  EXPECT_TRUE(t.claim_gap(0, 100)) << "the previous owner's reports are forgotten";
  EXPECT_EQ(t.attribute(0, 100).stages.size(), 0u);
}

TEST(ThreadLedger, UnbalancedEndsAreIgnored) {
  ThreadLedger t;
  EXPECT_FALSE(t.push_end(5).valid); // a push that started before the tracer saw the thread
  t.push_start(kSrc, kA, 10);
  EXPECT_TRUE(t.push_end(20).valid);
}

TEST(Histogram, PercentilesWithinBucketError) {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; ++v)
    h.record(v * 1000);
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.max(), 10'000'000u);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.50)), 5e6, 5e6 * 0.035);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.95)), 9.5e6, 9.5e6 * 0.035);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 9.9e6, 9.9e6 * 0.035);
  EXPECT_EQ(h.percentile(1.0), 10'000'000u);
  Histogram sum;
  h.merge_into(sum);
  h.merge_into(sum);
  EXPECT_EQ(sum.count(), 20000u);
  EXPECT_EQ(Histogram().percentile(0.5), 0u);
  for (uint64_t v : {0ull, 1ull, 31ull, 32ull, 33ull, 1000ull, 123456789ull})
    EXPECT_LE(Histogram::bucket_mid(Histogram::bucket_of(v)), v + v / 30 + 1) << v;
}

TEST(ResidenceFifo, MatchesThroughDrops) {
  ResidenceFifo q;
  q.enter(100, 0);
  q.enter(200, 10);
  q.enter(300, 20);
  EXPECT_EQ(q.leave(300, 50), 30) << "100 and 200 were dropped inside the queue";
  q.enter(400, 60);
  EXPECT_EQ(q.leave(400, 61), 1);
  EXPECT_EQ(q.leave(999, 70), -1);
}

TEST(RssTrend, GrowthPerMinuteAfterWarmUp) {
  RssTrend r;                   // 10 s warm-up
  for (int s = 0; s <= 30; ++s) // a 1 GB start-up jump, then 30 MB per minute
    r.add(s * 1'000'000'000LL, s < 3 ? 100.0 + s * 500 : 1100.0 + s * 0.5);
  EXPECT_NEAR(r.growth_mb_per_min(), 30.0, 0.01) << "the start-up jump is not a trend";
  EXPECT_DOUBLE_EQ(r.peak_mb(), 1115.0);
  EXPECT_DOUBLE_EQ(r.last_mb(), 1115.0);
  RssTrend twelve_seconds;
  for (int s = 0; s <= 12; ++s)
    twelve_seconds.add(s * 1'000'000'000LL, 100.0 + s * 100);
  EXPECT_EQ(twelve_seconds.growth_mb_per_min(), 0.0) << "2 s after warm-up say nothing";
  RssTrend short_run;
  short_run.add(0, 1);
  short_run.add(1'000'000'000, 500);
  EXPECT_EQ(short_run.growth_mb_per_min(), 0.0);
}
