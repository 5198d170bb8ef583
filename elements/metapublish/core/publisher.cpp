// SPDX-License-Identifier: LGPL-2.1-or-later
#include "publisher.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "publish_format.hpp"
#include "redis_client.hpp"

namespace keepup::metapublish {

namespace {

class FileSink final : public Sink {
public:
  explicit FileSink(std::string path) : path_(std::move(path)) {}
  ~FileSink() override { close(); }
  bool open(std::string *error) override {
    close();
    f_ = std::fopen(path_.c_str(), "ab");
    if (!f_ && error) {
      *error = "cannot open ";
      *error += path_;
      *error += ": ";
      *error += std::strerror(errno);
    }
    return f_ != nullptr;
  }
  bool is_open() const override { return f_ != nullptr; }
  void close() override {
    if (f_)
      std::fclose(f_);
    f_ = nullptr;
  }
  WriteResult write(const std::vector<Entry> &batch) override {
    WriteResult r;
    std::string text;
    for (const Entry &e : batch) {
      text += e.json;
      text += '\n';
    }
    // Where the batch starts: a write that fails partway (disk full) is cut back to here, so
    // the file never keeps a torn line and the retried batch is not written twice.
    // (The file's size, not ftell: in append mode the position is not the end until the first
    // write; every batch is flushed, so nothing is buffered here.)
    struct stat st {};
    const off_t start = ::fstat(fileno(f_), &st) == 0 ? st.st_size : -1;
    if (std::fwrite(text.data(), 1, text.size(), f_) != text.size() || std::fflush(f_) != 0) {
      const int err = errno;
      r.failed = true;
      r.error = path_;
      r.error += ": ";
      r.error += std::strerror(err);
      if (start >= 0 && ::ftruncate(fileno(f_), start) != 0) {
        r.error += " (and cutting the partial batch off failed: ";
        r.error += std::strerror(errno);
        r.error += ")";
      }
      return r; // the batch is written again after reopening
    }
    r.published = batch.size();
    return r;
  }
  std::string describe() const override { return path_; }

private:
  std::string path_;
  std::FILE *f_ = nullptr;
};

class RedisSink final : public Sink {
public:
  RedisSink(redis::Uri uri, std::size_t max_len, std::chrono::milliseconds timeout)
      : uri_(std::move(uri)), max_len_(max_len), timeout_(timeout) {}
  bool open(std::string *error) override {
    conn_ = redis::Connection::open(uri_, timeout_, error);
    if (!conn_)
      return false;
    conn_->set_timeout(timeout_);
    // Connected is not enough: a server that accepts but does not answer (paused, stuck
    // loading) stays "down" until it replies.
    redis::Reply reply;
    if (!conn_->command({"PING"}, &reply, error) || reply.is_error()) {
      if (error && reply.is_error())
        *error = uri_.redacted() + ": " + reply.str;
      conn_.reset();
      return false;
    }
    return true;
  }
  bool is_open() const override { return conn_ && conn_->ok(); }
  void close() override { conn_.reset(); }
  WriteResult write(const std::vector<Entry> &batch) override {
    WriteResult r;
    for (const Entry &e : batch)
      conn_->append(xadd_args(e, max_len_));
    redis::Reply reply;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::string err;
      if (!conn_->read_reply(&reply, &err)) {
        r.failed = true;
        r.error = err;
        return r;
      }
      if (reply.is_error()) {
        if (r.rejected++ == 0)
          r.error = reply.str;
      } else {
        ++r.published;
      }
    }
    return r;
  }
  std::string describe() const override { return uri_.redacted(); }

private:
  redis::Uri uri_;
  std::size_t max_len_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<redis::Connection> conn_;
};

} // namespace

std::unique_ptr<Sink> make_file_sink(std::string path) {
  return std::make_unique<FileSink>(std::move(path));
}

std::unique_ptr<Sink> make_redis_sink(redis::Uri uri, std::size_t max_len,
                                      std::chrono::milliseconds timeout) {
  return std::make_unique<RedisSink>(std::move(uri), max_len, timeout);
}

Publisher::Publisher(PublisherSettings settings, std::unique_ptr<Sink> sink, NoticeFn notify)
    : settings_(settings), sink_(std::move(sink)), notify_(std::move(notify)),
      backoff_(settings.backoff_initial, settings.backoff_max), queue_(settings.max_pending) {
  // A batch in flight takes at most half the bound, so records arriving while it is written
  // always find room (dropping the oldest queued ones if they must), never the new ones.
  settings_.batch = std::clamp<std::size_t>(settings_.batch, 1,
                                            std::max<std::size_t>(1, settings_.max_pending / 2));
  thread_ = std::thread([this] { run(); });
}

Publisher::~Publisher() {
  stop(std::chrono::milliseconds(0));
}

void Publisher::push(Entry e) {
  std::vector<Entry> one;
  one.push_back(std::move(e));
  push(std::move(one));
}

void Publisher::push(std::vector<Entry> entries) {
  if (entries.empty())
    return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lk(lock_);
    for (Entry &e : entries)
      queue_.push(std::move(e));
    // Only a waiting publisher needs the (costly) wake-up; a lingering one only once its
    // batch is full.
    wake = idle_ || (lingering_ && queue_.counters().queued >= settings_.batch);
  }
  if (wake)
    wake_.notify_one();
}

bool Publisher::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(lock_);
  settled_.wait_for(lk, timeout, [this] { return queue_.empty() || down_ || stopping_; });
  return queue_.empty();
}

void Publisher::stop(std::chrono::milliseconds drain) {
  if (!thread_.joinable())
    return;
  if (drain.count() > 0)
    flush(drain);
  {
    std::lock_guard<std::mutex> lk(lock_);
    stopping_ = true;
  }
  wake_.notify_all();
  settled_.notify_all();
  thread_.join();
}

PublisherStats Publisher::stats() const {
  std::lock_guard<std::mutex> lk(lock_);
  PublisherStats s;
  s.queue = queue_.counters();
  s.reconnects = reconnects_;
  s.batches = batches_;
  s.connected = connected_;
  return s;
}

void Publisher::run() {
  try {
    loop();
  } catch (const std::exception &e) { // never let an exception end the process
    Notice n;
    n.kind = Notice::Kind::down;
    n.target = sink_->describe();
    n.detail = std::string("publisher stopped: ") + e.what();
    {
      std::lock_guard<std::mutex> lk(lock_);
      down_ = true;
      connected_ = false;
      settled_.notify_all();
    }
    if (notify_) // outside the lock, like every other notice: the receiver may read stats()
      notify_(n);
  }
}

void Publisher::wait_backoff() {
  const auto delay = backoff_.next();
  std::unique_lock<std::mutex> lk(lock_);
  wake_.wait_for(lk, delay, [this] { return stopping_; });
}

// Opens the sink when it is closed; reports the outage once and the recovery.
bool Publisher::ensure_open() {
  if (sink_->is_open())
    return true;
  std::string error;
  if (!sink_->open(&error)) {
    Notice n;
    bool report = false;
    {
      std::lock_guard<std::mutex> lk(lock_);
      connected_ = false;
      if (!down_) {
        down_ = report = true;
        down_since_ = std::chrono::steady_clock::now();
        dropped_at_down_ = queue_.counters().dropped;
      }
    }
    settled_.notify_all();
    if (report && notify_) {
      n.kind = Notice::Kind::down;
      n.target = sink_->describe();
      n.detail = error;
      notify_(n);
    }
    return false;
  }
  backoff_.reset();
  Notice n;
  bool report = false;
  {
    std::lock_guard<std::mutex> lk(lock_);
    connected_ = true;
    if (ever_open_)
      ++reconnects_;
    ever_open_ = true;
    if (down_) {
      down_ = false;
      report = true;
      n.down_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - down_since_)
                      .count();
      n.dropped_while_down = queue_.counters().dropped - dropped_at_down_;
      n.reconnects = reconnects_;
    }
  }
  if (report && notify_) {
    n.kind = Notice::Kind::recovered;
    n.target = sink_->describe();
    notify_(n);
  }
  return true;
}

void Publisher::loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(lock_);
      if (stopping_)
        break;
    }
    if (!ensure_open()) {
      wait_backoff();
      continue;
    }
    std::vector<Entry> batch;
    {
      std::unique_lock<std::mutex> lk(lock_);
      idle_ = true;
      wake_.wait(lk, [this] { return stopping_ || queue_.counters().queued > 0; });
      idle_ = false;
      if (settings_.linger.count() > 0 && queue_.counters().queued < settings_.batch) {
        lingering_ = true;
        wake_.wait_for(lk, settings_.linger,
                       [this] { return stopping_ || queue_.counters().queued >= settings_.batch; });
        lingering_ = false;
      }
      if (stopping_)
        break;
      batch = queue_.take(settings_.batch);
    }
    const WriteResult r = sink_->write(batch);
    const std::size_t done = r.published + r.rejected;
    std::vector<Entry> unsent;
    if (done < batch.size())
      unsent.assign(std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(done)),
                    std::make_move_iterator(batch.end()));
    Notice n;
    bool report_down = false, report_rejected = false;
    {
      std::lock_guard<std::mutex> lk(lock_);
      queue_.settle(r.published, r.rejected, std::move(unsent));
      ++batches_;
      if (r.rejected > 0 && !rejected_reported_)
        rejected_reported_ = report_rejected = true;
      if (r.failed) {
        connected_ = false;
        if (!down_) {
          down_ = report_down = true;
          down_since_ = std::chrono::steady_clock::now();
          dropped_at_down_ = queue_.counters().dropped;
        }
      }
    }
    settled_.notify_all();
    if (report_rejected && notify_) {
      Notice rej;
      rej.kind = Notice::Kind::rejected;
      rej.target = sink_->describe();
      rej.detail = r.error;
      notify_(rej);
    }
    if (r.failed) {
      sink_->close();
      if (report_down && notify_) {
        n.kind = Notice::Kind::down;
        n.target = sink_->describe();
        n.detail = r.error;
        notify_(n);
      }
      wait_backoff();
    }
  }
  sink_->close();
  std::lock_guard<std::mutex> lk(lock_);
  connected_ = false;
}

} // namespace keepup::metapublish
