// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pending_queue.hpp"

#include <algorithm>
#include <iterator>

namespace keepup::metapublish {

PendingQueue::PendingQueue(std::size_t max_pending) : max_(std::max<std::size_t>(1, max_pending)) {}

void PendingQueue::trim() {
  c_.queued = queue_.size();
  while (c_.pending() > max_ && !queue_.empty()) {
    queue_.pop_front();
    ++c_.dropped;
    c_.queued = queue_.size();
  }
}

std::size_t PendingQueue::push(Entry e) {
  ++c_.accepted;
  const std::uint64_t before = c_.dropped;
  if (c_.in_flight >= max_) { // nothing queued can make room
    ++c_.dropped;
    return 1;
  }
  queue_.push_back(std::move(e));
  c_.queued = queue_.size();
  trim();
  c_.pending_max = std::max(c_.pending_max, c_.pending());
  return static_cast<std::size_t>(c_.dropped - before);
}

std::vector<Entry> PendingQueue::take(std::size_t max) {
  const std::size_t n = std::min(max, queue_.size());
  std::vector<Entry> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  c_.queued = queue_.size();
  c_.in_flight += n;
  return batch;
}

void PendingQueue::settle(std::size_t published, std::size_t rejected, std::vector<Entry> unsent) {
  c_.published += published;
  c_.rejected += rejected;
  c_.in_flight = 0;
  for (auto it = unsent.rbegin(); it != unsent.rend(); ++it)
    queue_.push_front(std::move(*it));
  c_.queued = queue_.size();
  trim();
}

} // namespace keepup::metapublish
