// SPDX-License-Identifier: LGPL-2.1-or-later
// stagelatency core: where a streaming thread's time goes, without GStreamer.
//
// Every streaming thread keeps a ledger. Each push into an element opens a frame on the
// thread's stack; at every push start and end, the time since the previous event is
// charged to the element on top of the stack (the one whose code was running), or to
// "idle" when the stack is empty (the thread was in its source or loop function, waiting or
// producing). A frame's charges are that element's exclusive ("self") time for the buffer,
// right for elements that push 0..N buffers per input. The recent charges stay in a ring,
// so a gap at a pad can be split into what the feeding thread did meanwhile.
//
// Single writer per ThreadLedger; counters other threads read (summaries) are relaxed
// atomics, so the hot path has no lock and no allocation.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace keepup::stagelatency {

inline constexpr uint32_t kIdle = 0xffffffffu; // "no element": the thread was outside pushes

// Log-linear histogram of non-negative ns values: 32 sub-buckets per power of two
// (relative error < 3.2 %), O(1) record, single writer, readable concurrently.
class Histogram {
public:
  static constexpr int kSub = 32;
  static constexpr int kPowers = 44; // up to ~2^48 ns (3 days)
  void record(uint64_t v);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  // Value at quantile q (0..1), bucket midpoint; 0 when empty.
  uint64_t percentile(double q) const;
  void merge_into(Histogram &into) const; // not concurrent with writers of `into`

  static size_t bucket_of(uint64_t v);
  static uint64_t bucket_mid(size_t b);

private:
  static void add(std::atomic<uint64_t> &a, uint64_t v) {
    a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  std::array<std::atomic<uint64_t>, kSub * kPowers> buckets_{};
  std::atomic<uint64_t> count_{0}, sum_{0}, max_{0};
};

struct Charge {
  uint32_t stage;
  int64_t start_ns;
  int64_t end_ns;
};

// What a thread did during a window, per stage, plus idle time.
struct Attribution {
  std::vector<std::pair<uint32_t, int64_t>> stages; // stage, ns; largest first
  int64_t idle_ns = 0;
  uint32_t idle_source = kIdle; // outermost pusher when the thread last started a push
  bool complete = true;         // false when the ring no longer held the window's start
};

class ThreadLedger {
public:
  static constexpr size_t kMaxDepth = 64;
  static constexpr size_t kRing = 4096;

  // A push from `pusher` into `receiver` starts. Charges the time since the last event.
  void push_start(uint32_t pusher, uint32_t receiver, int64_t now);
  // The innermost push returned. Returns the receiver and its exclusive time for this push.
  struct Closed {
    uint32_t stage = kIdle;
    int64_t exclusive_ns = 0;
    int64_t inclusive_ns = 0;
    bool valid = false;
  };
  Closed push_end(int64_t now);

  // A stall in a synchronous chain shows up as a gap at every pad the thread feeds. The
  // first pad to see it reports it (the stalled element's output); gaps on this thread that
  // mostly overlap a window already reported are echoes: returns false for them.
  bool claim_gap(int64_t from, int64_t to);

  // Back to an empty stack and history (a ledger handed to a new thread).
  void reset();

  size_t depth() const { return depth_; }
  // Split [from, to] by the charges recorded since `from` (call right after push_start,
  // whose charge closed the window up to `to`).
  Attribution attribute(int64_t from, int64_t to) const;

private:
  void charge(int64_t now);

  struct Frame {
    uint32_t stage;
    int64_t start_ns;
    int64_t exclusive_ns;
  };
  std::array<Frame, kMaxDepth> stack_{};
  size_t depth_ = 0;
  size_t overflow_ = 0; // pushes deeper than kMaxDepth, not tracked
  int64_t last_ns_ = -1;
  uint32_t idle_source_ = kIdle;
  int64_t reported_from_ = -1, reported_to_ = -1;
  std::array<Charge, kRing> ring_{};
  uint64_t ring_pos_ = 0; // charges written so far
};

// Arrival bookkeeping for one receiving pad: gaps between consecutive buffers.
class PadClock {
public:
  // Returns the gap since the previous arrival, or -1 for the first one.
  // One pushing thread at a time per pad: plain relaxed load and store, no RMW.
  int64_t arrive(int64_t now) {
    const int64_t prev = last_.load(std::memory_order_relaxed);
    last_.store(now, std::memory_order_relaxed);
    if (prev < 0)
      return -1;
    const int64_t gap = now - prev;
    if (gap > max_gap_.load(std::memory_order_relaxed))
      max_gap_.store(gap, std::memory_order_relaxed);
    return gap;
  }
  int64_t max_gap() const { return max_gap_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> last_{-1};
  std::atomic<int64_t> max_gap_{0};
};

// FIFO of arrival times through a queue-like element, matched on departure by timestamp, so
// residence survives drops (entries skipped on departure were dropped inside the queue).
// One producer (upstream thread), one consumer (the queue's own thread).
class ResidenceFifo {
public:
  static constexpr size_t kCapacity = 1024;
  void enter(uint64_t pts, int64_t now);
  // Residence of the buffer with this pts, or -1 if it was never seen.
  int64_t leave(uint64_t pts, int64_t now);

private:
  struct Entry {
    uint64_t pts;
    int64_t enter_ns;
  };
  std::array<Entry, kCapacity> ring_{};
  std::atomic<uint64_t> head_{0}, tail_{0};
};

// "GAP 18.70 s at x264enc0:sink — x264enc0 processing 0.04 s, fakesink0 blocked 0.00 s,
//  upstream idle 18.66 s (src: webrtcbin0)". Stage names and kinds come from the caller.
struct StageInfo {
  std::string name;
  bool blocking = false; // queues and sinks: their time is waiting, not work
};
std::string format_gap_line(const std::string &pad, int64_t gap_ns, const Attribution &a,
                            const std::vector<StageInfo> &stages);

// RSS growth over a sliding window of (t, rss) samples, MB per minute. The first
// `warmup_ns` after the first sample are left out: start-up allocation is not a trend.
class RssTrend {
public:
  explicit RssTrend(int64_t warmup_ns = 10'000'000'000LL) : warmup_ns_(warmup_ns) {}
  void add(int64_t t_ns, double rss_mb);
  double growth_mb_per_min() const;
  double last_mb() const { return last_; }
  double peak_mb() const { return peak_; }

private:
  std::vector<std::pair<int64_t, double>> samples_;
  double peak_ = 0;
  int64_t warmup_ns_;
  int64_t first_ns_ = -1;
  double last_ = 0;
};

} // namespace keepup::stagelatency
