// SPDX-License-Identifier: LGPL-2.1-or-later
// Unit tests of the dropqueue core: no GStreamer, time injected.
#include "dropqueue_core.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace keepup::dropqueue;

namespace {

constexpr int64_t kMs = 1'000'000;

// Payload handles are just numbers here: item n carries handle n.
void *tag(uintptr_t n) {
  return reinterpret_cast<void *>(n);
}
uintptr_t tag_of(const Item &item) {
  return reinterpret_cast<uintptr_t>(item.handle);
}

Item buffer(uintptr_t n, int64_t rt = kNoTime, int64_t dur = kNoTime, uint64_t bytes = 100) {
  Item it;
  it.kind = ItemKind::Buffer;
  it.handle = tag(n);
  it.bytes = bytes;
  it.running_time_ns = rt;
  it.duration_ns = dur;
  return it;
}

Item frame(uintptr_t n, bool keyframe) {
  Item it = buffer(n);
  it.gop_sensitive = true;
  it.delta = !keyframe;
  return it;
}

Item event(uintptr_t n, bool eos = false) {
  Item it;
  it.kind = ItemKind::Event;
  it.handle = tag(n);
  it.is_eos = eos;
  return it;
}

Settings live_settings(uint32_t max_buffers, Leak leak = Leak::Downstream) {
  Settings s;
  s.max_buffers = max_buffers;
  s.leak = leak;
  return s;
}

DropQueueCore live_core(const Settings &s) {
  DropQueueCore core(s);
  core.set_upstream_live(true);
  return core;
}

std::vector<uintptr_t> drain(DropQueueCore &core, int64_t now, Notices &n,
                             std::vector<bool> *disconts = nullptr) {
  std::vector<uintptr_t> out;
  while (auto it = core.pop(now, n)) {
    out.push_back(tag_of(*it));
    if (disconts)
      disconts->push_back(it->discont);
  }
  return out;
}

std::vector<uintptr_t> dropped_tags(const Notices &n, DropReason reason) {
  std::vector<uintptr_t> out;
  for (const auto &d : n.dropped)
    if (d.reason == reason)
      out.push_back(tag_of(d.item));
  return out;
}

void expect_invariant(const DropQueueCore &core) {
  const Stats s = core.stats();
  EXPECT_EQ(s.in, s.out + s.dropped + s.current_level_buffers)
      << "in " << s.in << " out " << s.out << " dropped " << s.dropped << " level "
      << s.current_level_buffers;
}

} // namespace

TEST(DropQueueCore, DownstreamLeakDropsOldestAndKeepsNewest) {
  auto core = live_core(live_settings(2));
  Notices n;
  for (uintptr_t i = 1; i <= 5; ++i)
    EXPECT_EQ(core.push(buffer(i), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{1, 2, 3}));
  std::vector<bool> disconts;
  EXPECT_EQ(drain(core, kNoTime, n, &disconts), (std::vector<uintptr_t>{4, 5}));
  EXPECT_EQ(disconts, (std::vector<bool>{true, false}));
  const Stats s = core.stats();
  EXPECT_EQ(s.in, 5u);
  EXPECT_EQ(s.out, 2u);
  EXPECT_EQ(s.dropped_overflow, 3u);
  EXPECT_EQ(s.max_level_buffers_seen, 2u);
  expect_invariant(core);
}

TEST(DropQueueCore, UpstreamLeakDropsIncomingAndMarksTheNextArrival) {
  auto core = live_core(live_settings(2, Leak::Upstream));
  Notices n;
  EXPECT_EQ(core.push(buffer(1), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(core.push(buffer(2), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(core.push(buffer(3), kNoTime, n), PushOutcome::Dropped);
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{3}));
  std::vector<bool> disconts;
  EXPECT_EQ(drain(core, kNoTime, n, &disconts), (std::vector<uintptr_t>{1, 2}));
  EXPECT_EQ(core.push(buffer(4), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(drain(core, kNoTime, n, &disconts), (std::vector<uintptr_t>{4}));
  EXPECT_EQ(disconts, (std::vector<bool>{false, false, true}));
  expect_invariant(core);
}

TEST(DropQueueCore, NotLeakyMustWaitAndCountsNothingUntilQueued) {
  auto core = live_core(live_settings(2, Leak::No));
  Notices n;
  core.push(buffer(1), kNoTime, n);
  core.push(buffer(2), kNoTime, n);
  EXPECT_EQ(core.push(buffer(3), kNoTime, n), PushOutcome::MustWait);
  EXPECT_EQ(core.stats().in, 2u);
  ASSERT_TRUE(core.pop(kNoTime, n).has_value());
  EXPECT_EQ(core.push(buffer(3), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(core.stats().dropped, 0u);
  expect_invariant(core);
}

TEST(DropQueueCore, LiveOnlyNeverDropsForNonLiveUpstream) {
  DropQueueCore core(live_settings(2));
  core.set_upstream_live(false);
  Notices n;
  core.push(buffer(1), kNoTime, n);
  core.push(buffer(2), kNoTime, n);
  EXPECT_FALSE(core.drops_enabled());
  EXPECT_EQ(core.push(buffer(3), kNoTime, n), PushOutcome::MustWait);
  EXPECT_TRUE(n.dropped.empty());

  Settings s = live_settings(2);
  s.live_only = false;
  core.configure(s);
  EXPECT_TRUE(core.drops_enabled());
  EXPECT_EQ(core.push(buffer(3), kNoTime, n), PushOutcome::Queued);
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{1}));
}

TEST(DropQueueCore, BytesBound) {
  Settings s = live_settings(0);
  s.max_bytes = 250;
  auto core = live_core(s);
  Notices n;
  for (uintptr_t i = 1; i <= 6; ++i)
    core.push(buffer(i, kNoTime, kNoTime, 100), kNoTime, n);
  // Full at 300 >= 250 bytes: three buffers fit, each new one pushes out the oldest.
  EXPECT_EQ(core.stats().current_level_bytes, 300u);
  EXPECT_EQ(drain(core, kNoTime, n), (std::vector<uintptr_t>{4, 5, 6}));
}

TEST(DropQueueCore, TimeBoundUsesTimestampSpanThenDurations) {
  Settings s = live_settings(0);
  s.max_time_ns = 100 * kMs;
  auto core = live_core(s);
  Notices n;
  for (uintptr_t i = 0; i < 6; ++i)
    core.push(buffer(i, static_cast<int64_t>(i) * 40 * kMs, 40 * kMs), kNoTime, n);
  EXPECT_EQ(core.stats().current_level_time_ns, 120u * kMs);
  EXPECT_EQ(drain(core, kNoTime, n), (std::vector<uintptr_t>{3, 4, 5}));

  // Without timestamps the sum of durations is the level.
  for (uintptr_t i = 10; i < 14; ++i)
    core.push(buffer(i, kNoTime, 60 * kMs), kNoTime, n);
  EXPECT_EQ(core.stats().current_level_time_ns, 120u * kMs);
  EXPECT_EQ(drain(core, kNoTime, n), (std::vector<uintptr_t>{12, 13}));
}

TEST(DropQueueCore, MaxAgeDropsStaleBuffersEvenWhenNotFull) {
  Settings s = live_settings(0);
  s.max_age_ns = 50 * kMs;
  auto core = live_core(s);
  Notices n;
  core.push(buffer(1), 0, n);
  core.push(buffer(2), 0, n);
  core.push(buffer(3), 10 * kMs, n);
  core.push(buffer(4), 40 * kMs, n);
  std::vector<bool> disconts;
  EXPECT_EQ(drain(core, 55 * kMs, n, &disconts), (std::vector<uintptr_t>{3, 4}));
  EXPECT_EQ(disconts, (std::vector<bool>{true, false}));
  EXPECT_EQ(dropped_tags(n, DropReason::Age), (std::vector<uintptr_t>{1, 2}));
  const Stats st = core.stats();
  EXPECT_EQ(st.dropped_age, 2u);
  EXPECT_EQ(st.avg_residence_ns, static_cast<uint64_t>((45 + 15) / 2 * kMs));
  EXPECT_EQ(st.max_residence_ns, static_cast<uint64_t>(45 * kMs));
  expect_invariant(core);
}

TEST(DropQueueCore, EosDrainsWithoutDrops) {
  Settings s = live_settings(2);
  s.max_age_ns = 10 * kMs;
  auto core = live_core(s);
  Notices n;
  core.push(buffer(1), 0, n);
  core.push(buffer(2), 0, n);
  core.push(event(100, /*eos=*/true), 0, n);
  EXPECT_EQ(drain(core, 1000 * kMs, n), (std::vector<uintptr_t>{1, 2, 100}));
  EXPECT_TRUE(n.dropped.empty());
}

TEST(DropQueueCore, EventsAreNeverDroppedAndKeepTheirPlace) {
  auto core = live_core(live_settings(1));
  Notices n;
  core.push(event(100), kNoTime, n); // e.g. caps
  core.push(buffer(1), kNoTime, n);
  core.push(event(101), kNoTime, n); // e.g. new caps
  core.push(buffer(2), kNoTime, n);  // drops 1
  core.push(event(102), kNoTime, n);
  core.push(buffer(3), kNoTime, n); // drops 2
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{1, 2}));
  EXPECT_EQ(drain(core, kNoTime, n), (std::vector<uintptr_t>{100, 101, 102, 3}));
}

TEST(DropQueueCore, GopCutKeepsThePartialGopAndDropsDeltasUpToTheNextKeyframe) {
  auto core = live_core(live_settings(3));
  Notices n;
  core.push(frame(1, true), 0, n);
  core.push(frame(2, false), 0, n);
  core.push(frame(3, false), 0, n);
  // Full, and no newer keyframe queued: dropping the oldest would take 1..3 and leave this
  // delta undecodable, so the cut happens here instead, and a keyframe is requested.
  EXPECT_EQ(core.push(frame(4, false), 0, n), PushOutcome::Dropped);
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{4}));
  EXPECT_TRUE(n.request_keyframe);
  n.clear();
  EXPECT_EQ(core.push(frame(5, false), 0, n), PushOutcome::Dropped);
  EXPECT_EQ(dropped_tags(n, DropReason::Gop), (std::vector<uintptr_t>{5}));
  EXPECT_FALSE(n.request_keyframe) << "throttled by keyframe-request-interval";
  // The new keyframe makes room by dropping the old GOP as a whole.
  EXPECT_EQ(core.push(frame(6, true), 0, n), PushOutcome::Queued);
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{1}));
  EXPECT_EQ(dropped_tags(n, DropReason::Gop), (std::vector<uintptr_t>{5, 2, 3}));
  EXPECT_EQ(core.push(frame(7, false), 0, n), PushOutcome::Queued);
  std::vector<bool> disconts;
  EXPECT_EQ(drain(core, 0, n, &disconts), (std::vector<uintptr_t>{6, 7}));
  EXPECT_EQ(disconts, (std::vector<bool>{true, false}));
  EXPECT_EQ(core.stats().dropped_gop, 3u);
  EXPECT_EQ(core.stats().keyframe_requests, 1u);
  expect_invariant(core);
}

TEST(DropQueueCore, SustainedOverloadStillDeliversTheStartOfEachGop) {
  // A consumer that takes one frame per four produced, GOPs of 8, queue of 3: each GOP must
  // come out as its keyframe plus leading deltas, never as nothing.
  auto core = live_core(live_settings(3));
  Notices n;
  std::vector<uintptr_t> out;
  for (uintptr_t i = 0; i < 64; ++i) {
    core.push(frame(i, i % 8 == 0), 0, n);
    if (i % 4 == 3)
      if (auto it = core.pop(0, n))
        out.push_back(tag_of(*it));
  }
  size_t keyframes_out = 0;
  for (auto id : out)
    keyframes_out += (id % 8 == 0);
  EXPECT_GE(keyframes_out, 7u) << "most GOPs must reach the output";
  expect_invariant(core);
}

TEST(DropQueueCore, GopCutStopsAtAQueuedKeyframeWithoutARequest) {
  auto core = live_core(live_settings(4));
  Notices n;
  core.push(frame(1, true), 0, n);
  core.push(frame(2, false), 0, n);
  core.push(frame(3, true), 0, n);
  core.push(frame(4, false), 0, n);
  EXPECT_EQ(core.push(frame(5, false), 0, n), PushOutcome::Queued);
  EXPECT_EQ(dropped_tags(n, DropReason::Gop), (std::vector<uintptr_t>{2}));
  EXPECT_FALSE(n.request_keyframe);
  std::vector<bool> disconts;
  EXPECT_EQ(drain(core, 0, n, &disconts), (std::vector<uintptr_t>{3, 4, 5}));
  EXPECT_EQ(disconts, (std::vector<bool>{true, false, false}));
}

TEST(DropQueueCore, KeyframeRequestsAreThrottledByInterval) {
  Settings s = live_settings(1, Leak::Upstream);
  s.keyframe_request_interval_ns = 500 * kMs;
  auto core = live_core(s);
  Notices n;
  core.push(frame(1, true), 0, n);
  core.push(frame(2, false), 0, n); // dropped: overflow, cut
  EXPECT_TRUE(n.request_keyframe);
  n.clear();
  core.push(frame(3, false), 400 * kMs, n);
  EXPECT_FALSE(n.request_keyframe);
  core.push(frame(4, false), 500 * kMs, n);
  EXPECT_TRUE(n.request_keyframe) << "still no keyframe after the interval: ask again";
  EXPECT_EQ(core.stats().keyframe_requests, 2u);
}

TEST(DropQueueCore, RawStreamsAreNotCutByGop) {
  auto core = live_core(live_settings(2));
  Notices n;
  Item raw = buffer(1);
  raw.delta = true; // a delta flag without gop sensitivity means nothing
  core.push(raw, 0, n);
  raw.handle = tag(2);
  core.push(raw, 0, n);
  raw.handle = tag(3);
  core.push(raw, 0, n);
  EXPECT_EQ(core.stats().dropped, 1u);
  EXPECT_EQ(core.stats().dropped_gop, 0u);
  EXPECT_FALSE(n.request_keyframe);
}

TEST(DropQueueCore, FlushCountsBuffersAndHandsBackEverything) {
  auto core = live_core(live_settings(10));
  Notices n;
  core.push(buffer(1), 0, n);
  core.push(event(100), 0, n);
  core.push(buffer(2), 0, n);
  core.flush(n);
  EXPECT_TRUE(core.empty());
  ASSERT_EQ(n.dropped.size(), 3u);
  EXPECT_EQ(dropped_tags(n, DropReason::Flush), (std::vector<uintptr_t>{1, 100, 2}));
  const Stats s = core.stats();
  EXPECT_EQ(s.dropped_flush, 2u);
  EXPECT_EQ(s.current_level_buffers, 0u);
  EXPECT_EQ(s.current_level_bytes, 0u);
  expect_invariant(core);
}

TEST(DropQueueCore, HealthCrossesThresholdsAndFallsBack) {
  Settings s = live_settings(1, Leak::Upstream);
  s.ratio_window_ns = 1000 * kMs;
  s.warn_drop_ratio = 0.05;
  s.critical_drop_ratio = 0.20;
  auto core = live_core(s);
  Notices n;
  int64_t t = 0;
  // 20 buffers, 1 of them dropped (5 %): warning.
  for (int i = 0; i < 18; ++i) {
    core.push(buffer(i), t, n);
    core.pop(t, n);
    t += kMs;
  }
  core.push(buffer(999), t, n);
  EXPECT_FALSE(n.health_changed.has_value());
  EXPECT_EQ(core.push(buffer(1000), t, n), PushOutcome::Dropped); // the queue holds one
  ASSERT_TRUE(n.health_changed.has_value());
  EXPECT_EQ(*n.health_changed, Health::Warning);
  n.clear();
  // Four more drops out of 5: 5/25 = 20 %: critical.
  for (int i = 0; i < 4; ++i)
    core.push(buffer(2000 + i), t, n);
  core.pop(t, n);
  core.push(buffer(3000), t, n);
  EXPECT_EQ(core.stats().health, Health::Critical);
  n.clear();
  // Easing from critical to warning is tracked but not announced.
  for (int i = 0; i < 6; ++i) {
    core.pop(t, n);
    core.push(buffer(3500 + i), t, n);
  }
  EXPECT_EQ(core.stats().health, Health::Warning);
  EXPECT_FALSE(n.health_changed.has_value());
  // A second later the window holds only clean traffic again.
  t += 2000 * kMs;
  for (int i = 0; i < 20; ++i) {
    core.pop(t, n);
    core.push(buffer(4000 + i), t, n);
  }
  ASSERT_TRUE(n.health_changed.has_value());
  EXPECT_EQ(*n.health_changed, Health::Ok);
  EXPECT_DOUBLE_EQ(core.stats().window_drop_ratio, 0.0);
}

TEST(DropQueueCore, TooFewBuffersInWindowChangeNothing) {
  auto core = live_core(live_settings(1, Leak::Upstream));
  Notices n;
  for (uintptr_t i = 0; i < 19; ++i)
    core.push(buffer(i), 0, n); // 18 of 19 dropped, but 19 buffers say nothing yet
  EXPECT_FALSE(n.health_changed.has_value());
  core.push(buffer(19), 0, n);
  EXPECT_TRUE(n.health_changed.has_value());
}

TEST(DropQueueCore, StatsAndQosArePacedByTheClock) {
  Settings s = live_settings(1, Leak::Upstream);
  s.stats_interval_ns = 100 * kMs;
  auto core = live_core(s);
  Notices n;
  core.push(buffer(1), 0, n);
  EXPECT_FALSE(n.post_stats);
  core.push(buffer(2), 50 * kMs, n); // dropped: first QoS right away
  EXPECT_TRUE(n.post_qos);
  EXPECT_FALSE(n.post_stats);
  n.clear();
  core.push(buffer(3), 100 * kMs, n); // dropped again, within a second: no QoS
  EXPECT_FALSE(n.post_qos);
  EXPECT_TRUE(n.post_stats);
  n.clear();
  core.push(buffer(4), 1050 * kMs, n);
  EXPECT_TRUE(n.post_qos);
}

TEST(DropQueueCore, ResetClearsStateAndKeepsSettings) {
  auto core = live_core(live_settings(1));
  Notices n;
  core.push(buffer(1), 0, n);
  core.push(buffer(2), 0, n);
  core.flush(n);
  core.reset();
  const Stats s = core.stats();
  EXPECT_EQ(s.in, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_FALSE(s.live);
  EXPECT_EQ(core.settings().max_buffers, 1u);
}

TEST(DropQueueCore, CriticalBelowWarnIsRaisedToWarn) {
  Settings s;
  s.warn_drop_ratio = 0.3;
  s.critical_drop_ratio = 0.1;
  DropQueueCore core(s);
  EXPECT_DOUBLE_EQ(core.settings().critical_drop_ratio, 0.3);
}

// Random traffic under random settings: the counting invariant holds after every step, the
// level never exceeds the bound in leaky mode, and every output gap is marked DISCONT.
TEST(DropQueueCore, InvariantsHoldUnderRandomTraffic) {
  std::mt19937 rng(1234);
  uint64_t restarts_at_keyframe = 0;
  for (int round = 0; round < 200; ++round) {
    Settings s;
    s.max_buffers = 1 + rng() % 6;
    s.leak = (rng() % 2) ? Leak::Upstream : Leak::Downstream;
    s.max_age_ns = (rng() % 3 == 0) ? (rng() % 100) * kMs : 0;
    auto core = live_core(s);
    const bool encoded = rng() % 2;
    Notices n;
    int64_t t = 0;
    uintptr_t next = 1;
    uintptr_t last_out = 0;
    for (int step = 0; step < 300; ++step) {
      t += (rng() % 20) * kMs;
      if (rng() % 3 != 0) {
        Item it = encoded ? frame(next, next % 7 == 1) : buffer(next);
        ++next;
        ASSERT_NE(core.push(it, t, n), PushOutcome::MustWait);
        ASSERT_LE(core.stats().current_level_buffers, s.max_buffers);
      } else if (auto it = core.pop(t, n)) {
        const uintptr_t id = tag_of(*it);
        ASSERT_GT(id, last_out);
        if (id != last_out + 1 && last_out != 0) {
          ASSERT_TRUE(it->discont) << "gap " << last_out << " -> " << id;
        }
        if (encoded && it->discont) {
          ASSERT_FALSE(it->delta) << "a cut GOP must restart at a keyframe";
          ++restarts_at_keyframe;
        }
        last_out = id;
      }
      const Stats st = core.stats();
      ASSERT_EQ(st.in, st.out + st.dropped + st.current_level_buffers);
    }
  }
  EXPECT_GT(restarts_at_keyframe, 0u) << "the random traffic never cut a GOP";
}

TEST(RatioWindow, ForgetsOldBuckets) {
  RatioWindow w;
  const uint64_t window = 1000 * kMs;
  w.add(0, window, 10, 5);
  EXPECT_DOUBLE_EQ(w.ratio(), 0.5);
  w.add(500 * kMs, window, 10, 0);
  EXPECT_DOUBLE_EQ(w.ratio(), 0.25);
  w.add(1020 * kMs, window, 0, 0); // the first bucket left the window
  EXPECT_EQ(w.in(), 10u);
  EXPECT_DOUBLE_EQ(w.ratio(), 0.0);
  w.add(10'000 * kMs, window, 1, 1);
  EXPECT_EQ(w.in(), 1u);
  EXPECT_DOUBLE_EQ(w.ratio(), 1.0);
}

TEST(DropQueueCore, SettingsDefaultsAreTheElementDefaultsAndAConstantExpression) {
  constexpr Settings d{};
  static_assert(d.max_buffers == 2 && d.max_bytes == 0 && d.max_time_ns == 0);
  static_assert(d.leak == Leak::Downstream && d.live_only && d.keyframe_aware);
  static_assert(d.keyframe_request_interval_ns == kSecond && d.ratio_window_ns == 5 * kSecond);
  EXPECT_DOUBLE_EQ(d.warn_drop_ratio, 0.05);
  EXPECT_DOUBLE_EQ(d.critical_drop_ratio, 0.10);
}

TEST(DropQueueCore, ConfiguredReadsBackWhatWasGivenWhileTheRaisedRatioApplies) {
  Settings s;
  s.warn_drop_ratio = 0.3;
  s.critical_drop_ratio = 0.1;
  DropQueueCore core(s);
  EXPECT_DOUBLE_EQ(core.configured().critical_drop_ratio, 0.1) << "a property reads back as set";
  EXPECT_DOUBLE_EQ(core.settings().critical_drop_ratio, 0.3);
  s.warn_drop_ratio = 0.05; // lowering warn again brings the given critical back
  core.configure(s);
  EXPECT_DOUBLE_EQ(core.settings().critical_drop_ratio, 0.1);
  core.reset();
  EXPECT_DOUBLE_EQ(core.configured().critical_drop_ratio, 0.1);
}

TEST(DropQueueCore, KeyframeAwareOffDropsSingleFramesOfAnEncodedStream) {
  Settings s = live_settings(3);
  s.keyframe_aware = false;
  auto core = live_core(s);
  Notices n;
  core.push(frame(1, true), 0, n);
  core.push(frame(2, false), 0, n);
  core.push(frame(3, false), 0, n);
  EXPECT_EQ(core.push(frame(4, false), 0, n), PushOutcome::Queued) << "the oldest goes alone";
  EXPECT_EQ(dropped_tags(n, DropReason::Overflow), (std::vector<uintptr_t>{1}));
  EXPECT_TRUE(dropped_tags(n, DropReason::Gop).empty());
  EXPECT_FALSE(n.request_keyframe);
  EXPECT_EQ(drain(core, 0, n), (std::vector<uintptr_t>{2, 3, 4}));
}

TEST(DropQueueCore, DrainingFromAQueuedEosUntilItIsTaken) {
  auto core = live_core(live_settings(3));
  Notices n;
  core.push(buffer(1), 0, n);
  EXPECT_FALSE(core.draining());
  core.push(event(2, true), 0, n);
  EXPECT_TRUE(core.draining());
  EXPECT_EQ(drain(core, 0, n), (std::vector<uintptr_t>{1, 2}));
  EXPECT_FALSE(core.draining());
}
