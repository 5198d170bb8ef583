// SPDX-License-Identifier: LGPL-2.1-or-later
// metapublish's bounded buffer between the streaming thread and the publisher thread. Plain
// C++, not thread-safe (the publisher holds its lock around every call).
//
// Invariant: accepted == published + rejected + dropped + pending, and pending (queued plus
// in flight) never exceeds max_pending. When full, the oldest queued entry is dropped; when
// every pending entry is in flight, the new one is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace keepup::metapublish {

struct Entry {
  std::string key;  // Redis stream key (the file sink ignores it)
  std::string type; // "frame", "line-crossed", "track-started", ...
  std::string json; // one JSON object, no newline
};

struct QueueCounters {
  std::uint64_t accepted = 0;  // entries pushed
  std::uint64_t published = 0; // written to the sink
  std::uint64_t rejected = 0;  // refused by the sink (a Redis error reply): not retried
  std::uint64_t dropped = 0;   // pushed out by the bound
  std::size_t queued = 0, in_flight = 0;
  std::size_t pending_max = 0; // high-water mark of pending
  std::size_t pending() const { return queued + in_flight; }
};

class PendingQueue {
public:
  explicit PendingQueue(std::size_t max_pending);

  // Adds an entry; returns how many entries the bound dropped to make room (0 or 1).
  std::size_t push(Entry e);
  // Moves up to `max` of the oldest queued entries into flight (one batch at a time).
  std::vector<Entry> take(std::size_t max);
  // The outcome of the batch in flight: `published` and `rejected` entries are done, the
  // `unsent` rest (the batch's tail, in order) go back to the front of the queue; the bound
  // then drops the oldest if it must.
  void settle(std::size_t published, std::size_t rejected, std::vector<Entry> unsent);

  const QueueCounters &counters() const { return c_; }
  std::size_t max_pending() const { return max_; }
  bool empty() const { return c_.pending() == 0; }

private:
  void trim();
  std::size_t max_;
  std::deque<Entry> queue_;
  QueueCounters c_;
};

} // namespace keepup::metapublish
