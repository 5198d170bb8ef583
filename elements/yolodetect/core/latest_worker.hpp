// SPDX-License-Identifier: LGPL-2.1-or-later
// A worker thread with a one-slot mailbox: submit() replaces any job still waiting, so the
// worker always starts on the newest one and the submitter never waits. Used by yolodetect's
// async mode: inference work is dropped, never the stream's timing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace keepup::yolo {

template <typename Job, typename Result> class LatestWorker {
public:
  using Work = std::function<Result(Job &)>;

  struct Counters {
    std::uint64_t submitted = 0;
    std::uint64_t replaced = 0; // submitted jobs overwritten before the worker took them
    std::uint64_t completed = 0;
    bool busy = false;
  };

  explicit LatestWorker(Work work) : work_(std::move(work)), thread_([this] { run(); }) {}
  ~LatestWorker() { stop(); }
  LatestWorker(const LatestWorker &) = delete;
  LatestWorker &operator=(const LatestWorker &) = delete;

  void submit(Job job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (pending_)
        ++counters_.replaced;
      pending_ = std::move(job);
      ++counters_.submitted;
    }
    wake_.notify_one();
  }

  // The newest finished result; `generation` increases with each completion so callers can
  // tell a fresh result from one they have already seen.
  std::optional<Result> latest(std::uint64_t *generation = nullptr) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation)
      *generation = counters_.completed;
    return latest_;
  }

  Counters counters() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_;
  }

  // Waits until nothing is pending or running (tests, drain at EOS).
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return (!pending_ && !counters_.busy) || stopping_; });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_)
        return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

private:
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return pending_.has_value() || stopping_; });
      if (stopping_)
        break;
      Job job = std::move(*pending_);
      pending_.reset();
      counters_.busy = true;
      lock.unlock();
      std::optional<Result> result;
      try {
        result = work_(job);
      } catch (...) {
        // The work function reports its own errors; the worker keeps serving.
      }
      lock.lock();
      counters_.busy = false;
      if (result) {
        latest_ = std::move(result);
        ++counters_.completed;
      }
      done_.notify_all();
    }
    done_.notify_all();
  }

  Work work_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::optional<Job> pending_;
  std::optional<Result> latest_;
  Counters counters_;
  bool stopping_ = false;
  std::thread thread_; // last: starts after every other member exists
};

} // namespace keepup::yolo
