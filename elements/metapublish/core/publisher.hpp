// SPDX-License-Identifier: LGPL-2.1-or-later
// metapublish's publisher: a thread that moves entries from the bounded queue to a sink (a
// JSON-lines file, or Redis XADDs pipelined in batches), so the streaming thread only ever
// takes a short lock. A sink that cannot be reached or fails a write is closed and reopened
// on a backoff schedule; the entries meanwhile wait in the queue, oldest dropped past
// max_pending. What the shell must tell the application comes back as notices (from the
// publisher thread). Plain C++, no GStreamer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backoff.hpp"
#include "pending_queue.hpp"
#include "redis_uri.hpp"

namespace keepup::metapublish {

struct WriteResult {
  std::size_t published = 0; // the batch's first entries that were written
  std::size_t rejected = 0;  // of the batch's first published + rejected, refused (not retried)
  bool failed = false;       // the sink broke: the rest of the batch is unsent
  std::string error;         // why it failed, or the first refusal
};

// Where entries go. Used from the publisher thread only.
class Sink {
public:
  virtual ~Sink() = default;
  virtual bool open(std::string *error) = 0;
  virtual bool is_open() const = 0;
  virtual void close() = 0;
  virtual WriteResult write(const std::vector<Entry> &batch) = 0;
  virtual std::string describe() const = 0; // for messages (no password)
};

// Appends one line per entry (its JSON) and flushes after every batch.
std::unique_ptr<Sink> make_file_sink(std::string path);
// XADD per entry (publish_format.hpp xadd_args), a batch pipelined, replies read in order.
std::unique_ptr<Sink> make_redis_sink(redis::Uri uri, std::size_t max_len,
                                      std::chrono::milliseconds timeout);

struct PublisherSettings {
  std::size_t max_pending = 10000;
  std::size_t batch = 256; // at most max_pending / 2
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  // After the first record arrives, wait this long for more before writing (fewer, fuller
  // batches: wake-ups and syscalls dominate the cost at thousands of records per second).
  std::chrono::milliseconds linger{5};
};

struct Notice {
  enum class Kind {
    down,      // the sink could not be opened or broke (once per outage)
    recovered, // open again after an outage
    rejected,  // the sink refused entries (once per run)
  };
  Kind kind = Kind::down;
  std::string target; // Sink::describe()
  std::string detail;
  std::int64_t down_ns = 0; // recovered: how long it was down
  std::uint64_t dropped_while_down = 0;
  std::uint64_t reconnects = 0; // recovered: connections made again so far
};

struct PublisherStats {
  QueueCounters queue;
  std::uint64_t reconnects = 0; // opened again after a loss
  std::uint64_t batches = 0;
  bool connected = false;
};

class Publisher {
public:
  using NoticeFn = std::function<void(const Notice &)>;
  // The thread starts at once; it opens the sink itself (never the caller's thread).
  Publisher(PublisherSettings settings, std::unique_ptr<Sink> sink, NoticeFn notify);
  // Stops without draining (see stop()).
  ~Publisher();
  Publisher(const Publisher &) = delete;
  Publisher &operator=(const Publisher &) = delete;

  // From the streaming thread: a short lock, never I/O. A frame's records go in together.
  void push(Entry e);
  void push(std::vector<Entry> entries);
  // Waits until every pending entry is written, the sink is down, or `timeout`; true when
  // nothing is pending.
  bool flush(std::chrono::milliseconds timeout);
  // flush(drain), then ends the thread (an attempt under way finishes first).
  void stop(std::chrono::milliseconds drain);

  PublisherStats stats() const;

private:
  void run();
  void loop();
  bool ensure_open();
  void wait_backoff();

  PublisherSettings settings_;
  std::unique_ptr<Sink> sink_; // publisher thread only
  NoticeFn notify_;
  Backoff backoff_;

  mutable std::mutex lock_;
  std::condition_variable wake_;    // the publisher: entries or stop
  std::condition_variable settled_; // flush(): a batch settled or the sink went down
  PendingQueue queue_;
  bool stopping_ = false;
  bool idle_ = false;      // the publisher waits for the first record
  bool lingering_ = false; // the publisher waits for a fuller batch
  bool connected_ = false;
  bool down_ = false; // an outage was reported and has not ended
  bool ever_open_ = false;
  bool rejected_reported_ = false;
  std::uint64_t reconnects_ = 0, batches_ = 0;
  std::uint64_t dropped_at_down_ = 0;
  std::chrono::steady_clock::time_point down_since_;
  std::thread thread_;
};

} // namespace keepup::metapublish
