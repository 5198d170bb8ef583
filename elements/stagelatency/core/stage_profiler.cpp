// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stage_profiler.hpp"

#include "least_squares.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace keepup::stagelatency {

// ---- Histogram ----------------------------------------------------------------------------

size_t Histogram::bucket_of(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub))
    return static_cast<size_t>(v);
  const int p = 63 - std::countl_zero(v); // >= 5
  const size_t power = static_cast<size_t>(p - 4);
  const size_t sub = static_cast<size_t>((v >> (p - 5)) - kSub);
  return std::min(power * kSub + sub, static_cast<size_t>(kSub * kPowers - 1));
}

uint64_t Histogram::bucket_mid(size_t b) {
  const size_t power = b / kSub, sub = b % kSub;
  if (power == 0)
    return sub;
  const int p = static_cast<int>(power) + 4;
  const uint64_t low = (static_cast<uint64_t>(kSub) + sub) << (p - 5);
  return low + ((uint64_t{1} << (p - 5)) >> 1);
}

void Histogram::record(uint64_t v) {
  add(buckets_[bucket_of(v)], 1);
  add(count_, 1);
  add(sum_, v);
  if (v > max())
    max_.store(v, std::memory_order_relaxed);
}

uint64_t Histogram::percentile(double q) const {
  const uint64_t n = count();
  if (n == 0)
    return 0;
  const auto target = static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * n));
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= std::max<uint64_t>(target, 1))
      return std::min(bucket_mid(b), max());
  }
  return max();
}

void Histogram::merge_into(Histogram &into) const {
  for (size_t b = 0; b < buckets_.size(); ++b)
    add(into.buckets_[b], buckets_[b].load(std::memory_order_relaxed));
  add(into.count_, count());
  add(into.sum_, sum());
  if (max() > into.max())
    into.max_.store(max(), std::memory_order_relaxed);
}

// ---- ThreadLedger -------------------------------------------------------------------------

void ThreadLedger::charge(int64_t now) {
  if (last_ns_ >= 0 && now > last_ns_) {
    const uint32_t stage = depth_ > 0 ? stack_[depth_ - 1].stage : kIdle;
    if (depth_ > 0)
      stack_[depth_ - 1].exclusive_ns += now - last_ns_;
    Charge *prev = ring_pos_ > 0 ? &ring_[(ring_pos_ - 1) % kRing] : nullptr;
    if (prev && prev->stage == stage && prev->end_ns == last_ns_) {
      prev->end_ns = now; // the same stage still running: extend, keep the ring for history
    } else {
      ring_[ring_pos_ % kRing] = Charge{stage, last_ns_, now};
      ++ring_pos_;
    }
  }
  if (now > last_ns_)
    last_ns_ = now;
}

void ThreadLedger::push_start(uint32_t pusher, uint32_t receiver, int64_t now) {
  charge(now);
  if (depth_ == 0 && overflow_ == 0)
    idle_source_ = pusher;
  if (depth_ < kMaxDepth)
    stack_[depth_++] = Frame{receiver, now, 0};
  else
    ++overflow_;
}

ThreadLedger::Closed ThreadLedger::push_end(int64_t now) {
  charge(now);
  if (overflow_ > 0) {
    --overflow_;
    return {};
  }
  if (depth_ == 0)
    return {}; // the push started before this thread was seen
  const Frame f = stack_[--depth_];
  return Closed{f.stage, f.exclusive_ns, now - f.start_ns, true};
}

void ThreadLedger::reset() {
  depth_ = 0;
  overflow_ = 0;
  last_ns_ = -1;
  idle_source_ = kIdle;
  ring_pos_ = 0;
  reported_from_ = reported_to_ = -1;
}

bool ThreadLedger::claim_gap(int64_t from, int64_t to) {
  const int64_t overlap = std::min(to, reported_to_) - std::max(from, reported_from_);
  if (reported_to_ >= 0 && overlap * 2 > to - from)
    return false;
  reported_from_ = from;
  reported_to_ = to;
  return true;
}

Attribution ThreadLedger::attribute(int64_t from, int64_t to) const {
  Attribution a;
  a.idle_source = idle_source_;
  int64_t attributed = 0;
  const uint64_t kept = std::min<uint64_t>(ring_pos_, kRing);
  uint64_t looked = 0;
  bool reached_start = false;
  for (; looked < kept; ++looked) {
    const Charge &c = ring_[(ring_pos_ - 1 - looked) % kRing];
    if (c.end_ns <= from) {
      reached_start = true;
      break;
    }
    const int64_t overlap = std::min(c.end_ns, to) - std::max(c.start_ns, from);
    if (overlap <= 0 || c.stage == kIdle)
      continue;
    attributed += overlap;
    auto it = std::find_if(a.stages.begin(), a.stages.end(),
                           [&](const auto &s) { return s.first == c.stage; });
    if (it == a.stages.end())
      a.stages.emplace_back(c.stage, overlap);
    else
      it->second += overlap;
  }
  // A ring that wrapped before the window's start lost part of it.
  a.complete = reached_start || ring_pos_ <= kRing;
  a.idle_ns = std::max<int64_t>(0, (to - from) - attributed);
  std::sort(a.stages.begin(), a.stages.end(),
            [](const auto &x, const auto &y) { return x.second > y.second; });
  return a;
}

// ---- ResidenceFifo ------------------------------------------------------------------------

void ResidenceFifo::enter(uint64_t pts, int64_t now) {
  const uint64_t h = head_.load(std::memory_order_relaxed);
  if (h - tail_.load(std::memory_order_acquire) >= kCapacity)
    return; // the consumer fell far behind: this buffer goes unmeasured
  ring_[h % kCapacity] = Entry{pts, now};
  head_.store(h + 1, std::memory_order_release);
}

int64_t ResidenceFifo::leave(uint64_t pts, int64_t now) {
  const uint64_t t = tail_.load(std::memory_order_relaxed);
  const uint64_t h = head_.load(std::memory_order_acquire);
  for (uint64_t i = t; i < h; ++i) {
    const Entry &e = ring_[i % kCapacity];
    if (e.pts == pts) {
      tail_.store(i + 1, std::memory_order_release); // entries before it were dropped
      return now - e.enter_ns;
    }
  }
  return -1;
}

// ---- formatting ---------------------------------------------------------------------------

static std::string seconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string format_gap_line(const std::string &pad, int64_t gap_ns, const Attribution &a,
                            const std::vector<StageInfo> &stages) {
  auto name = [&](uint32_t id) { return id < stages.size() ? stages[id].name : std::string("?"); };
  std::string line = "GAP " + seconds(gap_ns) + " at " + pad + " \u2014 ";
  for (const auto &[id, ns] : a.stages) {
    const bool blocking = id < stages.size() && stages[id].blocking;
    line += name(id) + (blocking ? " blocked " : " processing ") + seconds(ns) + ", ";
  }
  line += "upstream idle " + seconds(a.idle_ns);
  if (a.idle_source != kIdle)
    line += " (src: " + name(a.idle_source) + ")";
  if (!a.complete)
    line += " (partial: the thread's history did not reach back to the previous buffer)";
  return line;
}

// ---- RssTrend -----------------------------------------------------------------------------

void RssTrend::add(int64_t t_ns, double rss_mb) {
  peak_ = std::max(peak_, rss_mb);
  last_ = rss_mb;
  if (first_ns_ < 0)
    first_ns_ = t_ns;
  if (t_ns - first_ns_ < warmup_ns_)
    return;
  samples_.emplace_back(t_ns, rss_mb);
  const int64_t window = 60LL * 1'000'000'000;
  while (samples_.size() > 2 && samples_.back().first - samples_.front().first > window)
    samples_.erase(samples_.begin());
}

double RssTrend::growth_mb_per_min() const {
  if (samples_.size() < 3 || samples_.back().first - samples_.front().first < 10'000'000'000LL)
    return 0; // less than 10 s of history says nothing about a trend
  std::vector<std::pair<double, double>> per_minute;
  for (const auto &[t, mb] : samples_)
    per_minute.emplace_back(static_cast<double>(t - samples_.front().first) / 60e9, mb);
  return least_squares_slope(per_minute);
}

} // namespace keepup::stagelatency
