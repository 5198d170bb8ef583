// SPDX-License-Identifier: LGPL-2.1-or-later
// dropqueue core: the queue, its leak policies and its statistics, without GStreamer.
//
// The shell hands in opaque items (buffers, serialized events, serialized queries) with the
// facts the policy needs (size, duration, running time, delta flag), plus "now" on the
// pipeline clock. The core decides what to queue, what to drop and why, and tells the shell
// what to report (messages, keyframe requests) through a Notices value. It never owns the
// payloads: dropped items are handed back for the shell to release outside its lock.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

namespace keepup::dropqueue {

// "Unknown" for any time value (no clock yet, no timestamp on the buffer).
inline constexpr int64_t kNoTime = -1;
inline constexpr int64_t kSecond = 1'000'000'000;

enum class Leak { No, Upstream, Downstream };
enum class ItemKind : uint8_t { Buffer, Event, Query };
enum class DropReason : uint8_t { Overflow, Age, Gop, Flush };
enum class Health : uint8_t { Ok, Warning, Critical };

std::string_view to_string(Health health);
std::string_view to_string(DropReason reason);

struct Item {
  ItemKind kind = ItemKind::Buffer;
  void *handle = nullptr; // the shell's payload; never dereferenced here
  uint64_t bytes = 0;
  int64_t duration_ns = kNoTime;
  int64_t running_time_ns = kNoTime; // where the buffer sits in the stream's running time
  bool delta = false;                // cannot be decoded without the previous frames
  bool gop_sensitive = false; // encoded stream: with Settings::keyframe_aware, drops cut whole GOPs
  bool is_eos = false;        // events only: EOS means "drain, drop nothing more"
  // Set by the core.
  bool discont = false;       // first buffer after a drop: the shell flags it DISCONT
  int64_t enter_ns = kNoTime; // pipeline running time when it entered the queue
};

// The element's settings; these defaults are the element's defaults (its ParamSpecs read a
// constexpr Settings{}), so there is no second copy of them anywhere.
struct Settings {
  uint32_t max_buffers = 2;
  uint64_t max_bytes = 0;
  uint64_t max_time_ns = 0;
  Leak leak = Leak::Downstream;
  uint64_t max_age_ns = 0;
  bool live_only = true;
  // For encoded streams (Item::gop_sensitive), drop whole GOPs and ask for a keyframe.
  bool keyframe_aware = true;
  uint64_t keyframe_request_interval_ns = kSecond;
  uint64_t stats_interval_ns = kSecond;
  double warn_drop_ratio = 0.05;
  double critical_drop_ratio = 0.10;
  uint64_t ratio_window_ns = 5 * kSecond;
  // A window with fewer buffers than this says nothing about a trend: no health change.
  uint32_t ratio_min_buffers = 20;
  uint64_t qos_interval_ns = kSecond;
};

struct Dropped {
  Item item;
  DropReason reason;
};

// What happened during one core call that the shell must act on after unlocking.
struct Notices {
  std::vector<Dropped> dropped; // buffers dropped, plus events/queries discarded by a flush
  bool request_keyframe = false;
  bool post_stats = false;
  bool post_qos = false;
  std::optional<Health> health_changed;
  void clear() {
    dropped.clear();
    request_keyframe = false;
    post_stats = false;
    post_qos = false;
    health_changed.reset();
  }
};

struct Stats {
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t dropped = 0;
  uint64_t dropped_overflow = 0;
  uint64_t dropped_age = 0;
  uint64_t dropped_gop = 0;
  uint64_t dropped_flush = 0;
  double drop_ratio = 0.0;
  double window_drop_ratio = 0.0;
  uint32_t current_level_buffers = 0;
  uint64_t current_level_bytes = 0;
  uint64_t current_level_time_ns = 0;
  uint32_t max_level_buffers_seen = 0;
  bool live = false;
  bool drops_enabled = false;
  uint64_t longest_downstream_block_ns = 0;
  uint64_t upstream_blocked_ns = 0;
  uint64_t avg_residence_ns = 0;
  uint64_t max_residence_ns = 0;
  uint64_t keyframe_requests = 0;
  Health health = Health::Ok;
};

// Sliding drop-ratio window made of fixed buckets: O(1) per buffer, no allocation.
class RatioWindow {
public:
  static constexpr size_t kBuckets = 20;
  void reset();
  void add(int64_t now_ns, uint64_t window_ns, uint64_t in, uint64_t dropped);
  uint64_t in() const;
  uint64_t dropped() const;
  double ratio() const;

private:
  void advance(int64_t now_ns, uint64_t window_ns);
  struct Bucket {
    uint64_t in = 0;
    uint64_t dropped = 0;
  };
  std::array<Bucket, kBuckets> buckets_{};
  size_t head_ = 0;
  int64_t head_start_ns_ = kNoTime;
};

enum class PushOutcome {
  Queued,   // the item is in the queue
  Dropped,  // the incoming buffer was dropped (returned in Notices::dropped)
  MustWait, // blocking mode and full: wait for room, then call push again with the same item
};

class DropQueueCore {
public:
  explicit DropQueueCore(Settings settings = {});

  void configure(const Settings &settings);
  // The settings in effect (critical_drop_ratio raised to warn_drop_ratio when below it).
  const Settings &settings() const { return settings_; }
  // The settings as last given to configure(), for reading them back unchanged.
  const Settings &configured() const { return configured_; }

  // Whether upstream is live; with live_only a non-live upstream turns dropping off.
  void set_upstream_live(bool live) { live_ = live; }
  bool drops_enabled() const;

  PushOutcome push(Item item, int64_t now_ns, Notices &notices);
  // Next item for downstream, expiring buffers older than max-age in front of it.
  std::optional<Item> pop(int64_t now_ns, Notices &notices);
  // Drop everything: buffers are counted as dropped-flush, events/queries just handed back.
  void flush(Notices &notices);
  // Back to the state of a fresh queue (start/stop). The queue must be empty.
  void reset();

  bool empty() const { return items_.empty(); }
  // An EOS is queued: upstream has sent everything.
  bool draining() const { return draining_; }
  bool full() const;

  void record_downstream_block(uint64_t ns);
  void record_upstream_block(uint64_t ns) { upstream_blocked_ns_ += ns; }

  Stats stats() const;

private:
  void drop_at(size_t index, DropReason reason, int64_t now_ns, Notices &notices);
  void drop_incoming(Item item, DropReason reason, int64_t now_ns, Notices &notices);
  void after_drop(bool gop_sensitive, size_t next_index, int64_t now_ns, Notices &notices);
  void count_drop(const Item &item, DropReason reason, Notices &notices);
  void expire_aged(int64_t now_ns, Notices &notices);
  bool newer_keyframe_queued() const;
  void maybe_request_keyframe(int64_t now_ns, Notices &notices, bool new_break);
  void update_periodic(int64_t now_ns, uint64_t in_count, uint64_t drops, Notices &notices);
  uint64_t level_time_ns() const;
  void account_enqueue(const Item &item);
  void account_dequeue(const Item &item);

  Settings configured_;
  Settings settings_;
  std::deque<Item> items_;
  bool live_ = false;
  bool draining_ = false;      // EOS queued: nothing is dropped any more
  bool need_keyframe_ = false; // a GOP was cut and no keyframe is queued after the cut
  bool pending_discont_ = false;

  uint32_t level_buffers_ = 0;
  uint64_t level_bytes_ = 0;
  uint64_t level_duration_ns_ = 0; // sum of known durations

  uint64_t in_ = 0, out_ = 0;
  uint64_t dropped_overflow_ = 0, dropped_age_ = 0, dropped_gop_ = 0, dropped_flush_ = 0;
  uint32_t max_level_seen_ = 0;
  uint64_t longest_block_ns_ = 0;
  uint64_t upstream_blocked_ns_ = 0;
  uint64_t residence_sum_ns_ = 0, residence_count_ = 0, residence_max_ns_ = 0;
  uint64_t keyframe_requests_ = 0;
  int64_t last_keyframe_request_ns_ = kNoTime;
  int64_t last_stats_ns_ = kNoTime;
  int64_t last_qos_ns_ = kNoTime;
  RatioWindow window_;
  Health health_ = Health::Ok;
};

} // namespace keepup::dropqueue
