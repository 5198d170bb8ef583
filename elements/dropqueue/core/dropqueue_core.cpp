// SPDX-License-Identifier: LGPL-2.1-or-later
#include "dropqueue_core.hpp"

#include <algorithm>

namespace keepup::dropqueue {

std::string_view to_string(Health health) {
  switch (health) {
  case Health::Ok:
    return "ok";
  case Health::Warning:
    return "warning";
  case Health::Critical:
    return "critical";
  }
  return "?";
}

std::string_view to_string(DropReason reason) {
  switch (reason) {
  case DropReason::Overflow:
    return "overflow";
  case DropReason::Age:
    return "age";
  case DropReason::Gop:
    return "gop";
  case DropReason::Flush:
    return "flush";
  }
  return "?";
}

// ---- RatioWindow --------------------------------------------------------------------------

void RatioWindow::reset() {
  buckets_ = {};
  head_ = 0;
  head_start_ns_ = kNoTime;
}

void RatioWindow::advance(int64_t now_ns, uint64_t window_ns) {
  if (now_ns == kNoTime)
    return;
  const int64_t bucket_ns = std::max<int64_t>(1, static_cast<int64_t>(window_ns / kBuckets));
  if (head_start_ns_ == kNoTime || now_ns < head_start_ns_) {
    if (now_ns < head_start_ns_)
      buckets_ = {}; // the clock went back (new base time): start over
    head_start_ns_ = now_ns;
    return;
  }
  const int64_t steps = (now_ns - head_start_ns_) / bucket_ns;
  if (steps == 0)
    return;
  if (steps >= static_cast<int64_t>(kBuckets)) {
    buckets_ = {};
  } else {
    for (int64_t i = 0; i < steps; ++i) {
      head_ = (head_ + 1) % kBuckets;
      buckets_[head_] = {};
    }
  }
  head_start_ns_ += steps * bucket_ns;
}

void RatioWindow::add(int64_t now_ns, uint64_t window_ns, uint64_t in, uint64_t dropped) {
  advance(now_ns, window_ns);
  buckets_[head_].in += in;
  buckets_[head_].dropped += dropped;
}

uint64_t RatioWindow::in() const {
  uint64_t sum = 0;
  for (const auto &b : buckets_)
    sum += b.in;
  return sum;
}

uint64_t RatioWindow::dropped() const {
  uint64_t sum = 0;
  for (const auto &b : buckets_)
    sum += b.dropped;
  return sum;
}

double RatioWindow::ratio() const {
  const uint64_t total = in();
  return total == 0 ? 0.0 : static_cast<double>(dropped()) / static_cast<double>(total);
}

// ---- DropQueueCore ------------------------------------------------------------------------

DropQueueCore::DropQueueCore(Settings settings) {
  configure(settings);
}

void DropQueueCore::configure(const Settings &settings) {
  configured_ = settings;
  settings_ = settings;
  // A critical threshold under the warning one would make "critical" unreachable after
  // "warning": treat it as equal instead.
  settings_.critical_drop_ratio =
      std::max(settings_.critical_drop_ratio, settings_.warn_drop_ratio);
}

bool DropQueueCore::drops_enabled() const {
  return settings_.leak != Leak::No && (live_ || !settings_.live_only);
}

bool DropQueueCore::full() const {
  return (settings_.max_buffers != 0 && level_buffers_ >= settings_.max_buffers) ||
         (settings_.max_bytes != 0 && level_bytes_ >= settings_.max_bytes) ||
         (settings_.max_time_ns != 0 && level_time_ns() >= settings_.max_time_ns);
}

uint64_t DropQueueCore::level_time_ns() const {
  if (level_buffers_ == 0)
    return 0;
  // Span from the oldest to the newest buffer's end; timestamps say more than durations
  // (they include gaps), durations are the fallback for untimestamped streams.
  const Item *first = nullptr;
  const Item *last = nullptr;
  for (const auto &it : items_) {
    if (it.kind == ItemKind::Buffer) {
      first = &it;
      break;
    }
  }
  for (auto rit = items_.rbegin(); rit != items_.rend(); ++rit) {
    if (rit->kind == ItemKind::Buffer) {
      last = &*rit;
      break;
    }
  }
  if (first && last && first->running_time_ns != kNoTime && last->running_time_ns != kNoTime) {
    const int64_t end = last->running_time_ns + std::max<int64_t>(0, last->duration_ns);
    if (end >= first->running_time_ns)
      return static_cast<uint64_t>(end - first->running_time_ns);
  }
  return level_duration_ns_;
}

void DropQueueCore::account_enqueue(const Item &item) {
  ++level_buffers_;
  level_bytes_ += item.bytes;
  if (item.duration_ns > 0)
    level_duration_ns_ += static_cast<uint64_t>(item.duration_ns);
  max_level_seen_ = std::max(max_level_seen_, level_buffers_);
}

void DropQueueCore::account_dequeue(const Item &item) {
  --level_buffers_;
  level_bytes_ -= item.bytes;
  if (item.duration_ns > 0)
    level_duration_ns_ -= static_cast<uint64_t>(item.duration_ns);
}

void DropQueueCore::count_drop(const Item &item, DropReason reason, Notices &notices) {
  if (item.kind == ItemKind::Buffer) {
    switch (reason) {
    case DropReason::Overflow:
      ++dropped_overflow_;
      break;
    case DropReason::Age:
      ++dropped_age_;
      break;
    case DropReason::Gop:
      ++dropped_gop_;
      break;
    case DropReason::Flush:
      ++dropped_flush_;
      break;
    }
  }
  notices.dropped.push_back({item, reason});
}

void DropQueueCore::maybe_request_keyframe(int64_t now_ns, Notices &notices, bool new_break) {
  bool due;
  if (now_ns == kNoTime)
    due = new_break; // no clock to throttle with: once per cut
  else
    due = last_keyframe_request_ns_ == kNoTime ||
          now_ns - last_keyframe_request_ns_ >=
              static_cast<int64_t>(settings_.keyframe_request_interval_ns);
  if (!due)
    return;
  notices.request_keyframe = true;
  ++keyframe_requests_;
  if (now_ns != kNoTime)
    last_keyframe_request_ns_ = now_ns;
}

void DropQueueCore::after_drop(bool gop_sensitive, size_t next_index, int64_t now_ns,
                               Notices &notices) {
  // Walk from the cut towards the newest item: in an encoded stream the deltas that follow
  // a dropped frame cannot be decoded, so they go too, up to the next keyframe. The first
  // buffer that survives the cut is marked DISCONT.
  size_t j = next_index;
  while (j < items_.size()) {
    Item &it = items_[j];
    if (it.kind != ItemKind::Buffer) {
      ++j;
      continue;
    }
    if (gop_sensitive && it.gop_sensitive && it.delta) {
      Item gone = it;
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(j));
      account_dequeue(gone);
      count_drop(gone, DropReason::Gop, notices);
      continue;
    }
    it.discont = true;
    return;
  }
  pending_discont_ = true;
  if (gop_sensitive) {
    const bool new_break = !need_keyframe_;
    need_keyframe_ = true;
    maybe_request_keyframe(now_ns, notices, new_break);
  }
}

void DropQueueCore::drop_at(size_t index, DropReason reason, int64_t now_ns, Notices &notices) {
  Item gone = items_[index];
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(index));
  account_dequeue(gone);
  count_drop(gone, reason, notices);
  after_drop(gone.gop_sensitive, index, now_ns, notices);
}

void DropQueueCore::drop_incoming(Item item, DropReason reason, int64_t now_ns, Notices &notices) {
  ++in_;
  count_drop(item, reason, notices);
  after_drop(item.gop_sensitive, items_.size(), now_ns, notices);
}

void DropQueueCore::expire_aged(int64_t now_ns, Notices &notices) {
  if (settings_.max_age_ns == 0 || now_ns == kNoTime || draining_ || !drops_enabled())
    return;
  size_t i = 0;
  while (i < items_.size()) {
    const Item &it = items_[i];
    if (it.kind != ItemKind::Buffer) {
      ++i;
      continue;
    }
    if (it.enter_ns == kNoTime ||
        now_ns - it.enter_ns <= static_cast<int64_t>(settings_.max_age_ns))
      break; // items entered in order: everything behind this one is younger
    drop_at(i, DropReason::Age, now_ns, notices);
  }
}

bool DropQueueCore::newer_keyframe_queued() const {
  bool seen_oldest = false;
  for (const auto &it : items_) {
    if (it.kind != ItemKind::Buffer)
      continue;
    if (seen_oldest && it.gop_sensitive && !it.delta)
      return true;
    seen_oldest = true;
  }
  return false;
}

void DropQueueCore::update_periodic(int64_t now_ns, uint64_t in_count, uint64_t drops,
                                    Notices &notices) {
  window_.add(now_ns, settings_.ratio_window_ns, in_count, drops);
  if (now_ns != kNoTime) {
    if (drops > 0 && (last_qos_ns_ == kNoTime ||
                      now_ns - last_qos_ns_ >= static_cast<int64_t>(settings_.qos_interval_ns))) {
      notices.post_qos = true;
      last_qos_ns_ = now_ns;
    }
    if (settings_.stats_interval_ns != 0) {
      if (last_stats_ns_ == kNoTime || now_ns < last_stats_ns_) {
        last_stats_ns_ = now_ns;
      } else if (now_ns - last_stats_ns_ >= static_cast<int64_t>(settings_.stats_interval_ns)) {
        notices.post_stats = true;
        last_stats_ns_ = now_ns;
      }
    }
  }
  if (window_.in() >= settings_.ratio_min_buffers) {
    const double ratio = window_.ratio();
    Health now_health = Health::Ok;
    if (ratio >= settings_.critical_drop_ratio)
      now_health = Health::Critical;
    else if (ratio >= settings_.warn_drop_ratio)
      now_health = Health::Warning;
    if (now_health != health_) {
      // Escalations and the return to normal are news; critical easing to warning is not
      // worth another warning on the bus.
      const bool escalation = now_health > health_;
      health_ = now_health;
      if (escalation || now_health == Health::Ok)
        notices.health_changed = now_health;
    }
  }
}

PushOutcome DropQueueCore::push(Item item, int64_t now_ns, Notices &notices) {
  if (item.kind != ItemKind::Buffer) {
    if (item.is_eos)
      draining_ = true;
    item.enter_ns = now_ns;
    items_.push_back(item);
    return PushOutcome::Queued;
  }

  if (!settings_.keyframe_aware)
    item.gop_sensitive = false;
  const size_t drops_before = notices.dropped.size();
  auto finish = [&](PushOutcome outcome) {
    update_periodic(now_ns, 1, notices.dropped.size() - drops_before, notices);
    return outcome;
  };

  expire_aged(now_ns, notices);

  const bool cut_gop = item.gop_sensitive && item.delta;
  if (need_keyframe_ && cut_gop) {
    drop_incoming(item, DropReason::Gop, now_ns, notices);
    return finish(PushOutcome::Dropped);
  }

  if (full()) {
    if (!drops_enabled() || draining_) {
      // Nothing counted yet: the caller waits and offers the same buffer again.
      const size_t aged = notices.dropped.size() - drops_before;
      if (aged > 0)
        update_periodic(now_ns, 0, aged, notices);
      return PushOutcome::MustWait;
    }
    // Dropping the oldest buffer of an encoded stream takes its whole GOP with it. When no
    // newer keyframe is queued, that would empty the queue and then lose this delta frame
    // too: under sustained overload nothing would ever come out. Keep the decodable partial
    // GOP instead and cut here, at the incoming delta.
    const bool keep_partial_gop = cut_gop && !newer_keyframe_queued();
    if (settings_.leak == Leak::Upstream || keep_partial_gop) {
      drop_incoming(item, DropReason::Overflow, now_ns, notices);
      return finish(PushOutcome::Dropped);
    }
    while (full() && level_buffers_ > 0) {
      size_t oldest = 0;
      while (items_[oldest].kind != ItemKind::Buffer)
        ++oldest;
      drop_at(oldest, DropReason::Overflow, now_ns, notices);
    }
    if (need_keyframe_ && cut_gop) {
      // The cut left nothing this delta frame could be decoded against.
      drop_incoming(item, DropReason::Gop, now_ns, notices);
      return finish(PushOutcome::Dropped);
    }
  }

  if (item.gop_sensitive && !item.delta)
    need_keyframe_ = false;
  if (pending_discont_) {
    item.discont = true;
    pending_discont_ = false;
  }
  item.enter_ns = now_ns;
  ++in_;
  account_enqueue(item);
  items_.push_back(item);
  return finish(PushOutcome::Queued);
}

std::optional<Item> DropQueueCore::pop(int64_t now_ns, Notices &notices) {
  const size_t drops_before = notices.dropped.size();
  expire_aged(now_ns, notices);
  const size_t aged = notices.dropped.size() - drops_before;
  if (aged > 0)
    update_periodic(now_ns, 0, aged, notices);
  if (items_.empty())
    return std::nullopt;
  Item item = items_.front();
  items_.pop_front();
  if (item.kind == ItemKind::Buffer) {
    account_dequeue(item);
    ++out_;
    if (now_ns != kNoTime && item.enter_ns != kNoTime && now_ns >= item.enter_ns) {
      const auto residence = static_cast<uint64_t>(now_ns - item.enter_ns);
      residence_sum_ns_ += residence;
      ++residence_count_;
      residence_max_ns_ = std::max(residence_max_ns_, residence);
    }
  } else if (item.is_eos) {
    draining_ = false;
  }
  return item;
}

void DropQueueCore::flush(Notices &notices) {
  for (const auto &it : items_)
    count_drop(it, DropReason::Flush, notices);
  items_.clear();
  level_buffers_ = 0;
  level_bytes_ = 0;
  level_duration_ns_ = 0;
  draining_ = false;
  need_keyframe_ = false;
  pending_discont_ = false;
}

void DropQueueCore::reset() {
  const Settings keep = configured_;
  *this = DropQueueCore(keep);
}

void DropQueueCore::record_downstream_block(uint64_t ns) {
  longest_block_ns_ = std::max(longest_block_ns_, ns);
}

Stats DropQueueCore::stats() const {
  Stats s;
  s.in = in_;
  s.out = out_;
  s.dropped_overflow = dropped_overflow_;
  s.dropped_age = dropped_age_;
  s.dropped_gop = dropped_gop_;
  s.dropped_flush = dropped_flush_;
  s.dropped = dropped_overflow_ + dropped_age_ + dropped_gop_ + dropped_flush_;
  s.drop_ratio = in_ == 0 ? 0.0 : static_cast<double>(s.dropped) / static_cast<double>(in_);
  s.window_drop_ratio = window_.ratio();
  s.current_level_buffers = level_buffers_;
  s.current_level_bytes = level_bytes_;
  s.current_level_time_ns = level_time_ns();
  s.max_level_buffers_seen = max_level_seen_;
  s.live = live_;
  s.drops_enabled = drops_enabled();
  s.longest_downstream_block_ns = longest_block_ns_;
  s.upstream_blocked_ns = upstream_blocked_ns_;
  s.avg_residence_ns = residence_count_ == 0 ? 0 : residence_sum_ns_ / residence_count_;
  s.max_residence_ns = residence_max_ns_;
  s.keyframe_requests = keyframe_requests_;
  s.health = health_;
  return s;
}

} // namespace keepup::dropqueue
