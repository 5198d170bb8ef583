// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ts_writer.hpp"

#include "ts_packets.hpp"
#include "ts_scan.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace keepup::ts {

// ---- FileOps ------------------------------------------------------------------------------

int FileOps::open_write(const std::string &path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return fd < 0 ? -errno : fd;
}
long FileOps::write(int fd, const uint8_t *data, size_t len) {
  const ssize_t n = ::write(fd, data, len);
  return n < 0 ? -errno : static_cast<long>(n);
}
int FileOps::datasync(int fd) {
  return ::fdatasync(fd) < 0 ? -errno : 0;
}
int FileOps::close(int fd) {
  return ::close(fd) < 0 ? -errno : 0;
}
int FileOps::truncate(int fd, uint64_t size) {
  return ::ftruncate(fd, static_cast<off_t>(size)) < 0 ? -errno : 0;
}
int FileOps::rename(const std::string &from, const std::string &to) {
  return ::rename(from.c_str(), to.c_str()) < 0 ? -errno : 0;
}
int FileOps::sync_dir(const std::string &dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  const int rc = ::fsync(fd) < 0 ? -errno : 0;
  ::close(fd);
  return rc;
}
int64_t FileOps::free_bytes(const std::string &dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) < 0)
    return -1;
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

FileOps &posix_file_ops() {
  static FileOps ops;
  return ops;
}

std::string dir_of(const std::string &path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// ---- AsyncWriter --------------------------------------------------------------------------

AsyncWriter::AsyncWriter(FileOps &ops, Clock clock, WriterSettings settings)
    : ops_(ops), clock_(std::move(clock)), settings_(settings) {}

AsyncWriter::~AsyncWriter() {
  abort();
}

WriterError AsyncWriter::open(const std::string &temp_path, const std::string &final_path) {
  do_open(temp_path, final_path);
  std::lock_guard lk(mutex_);
  if (!error_ && !thread_.joinable())
    thread_ = std::thread([this] { run(); });
  return error_;
}

void AsyncWriter::enqueue(Command &&cmd) {
  std::lock_guard lk(mutex_);
  stats_.pending_bytes += cmd.data.size();
  queue_.push_back(std::move(cmd));
  work_.notify_one();
}

bool AsyncWriter::write(std::vector<uint8_t> &&block) {
  std::unique_lock lk(mutex_);
  if (error_ || !thread_.joinable())
    return false;
  if (!unblocked_ && stats_.pending_bytes > 0 &&
      stats_.pending_bytes + block.size() > settings_.max_pending_bytes) {
    const int64_t t0 = clock_();
    room_.wait(lk, [&] {
      return error_ || unblocked_ || stats_.pending_bytes == 0 ||
             stats_.pending_bytes + block.size() <= settings_.max_pending_bytes;
    });
    stats_.write_stall_ns += clock_() - t0;
    if (error_)
      return false;
  }
  stats_.pending_bytes += block.size();
  queue_.push_back(Command{Command::Write, std::move(block), {}, {}, 0});
  work_.notify_one();
  return true;
}

bool AsyncWriter::rotate(int64_t duration_ns, const std::string &temp_path,
                         const std::string &final_path) {
  enqueue(Command{Command::Finish, {}, {}, {}, duration_ns});
  enqueue(Command{Command::Open, {}, temp_path, final_path, 0});
  return !error();
}

void AsyncWriter::set_unblocked(bool unblocked) {
  std::lock_guard lk(mutex_);
  unblocked_ = unblocked;
  room_.notify_all();
  idle_.notify_all();
}

void AsyncWriter::wait_idle(std::unique_lock<std::mutex> &lk) {
  idle_.wait(lk, [this] { return queue_.empty() && !busy_; });
}

bool AsyncWriter::wait_written() {
  std::unique_lock lk(mutex_);
  if (thread_.joinable())
    wait_idle(lk);
  return !error_;
}

WriterError AsyncWriter::finish(int64_t duration_ns) {
  {
    std::lock_guard lk(mutex_);
    if (!thread_.joinable())
      return error_;
  }
  {
    std::lock_guard lk(mutex_);
    if (!finish_queued_) {
      finish_queued_ = true;
      queue_.push_back(Command{Command::Finish, {}, {}, {}, duration_ns});
      work_.notify_one();
    }
  }
  std::unique_lock lk(mutex_);
  idle_.wait(lk, [this] { return (queue_.empty() && !busy_) || unblocked_; });
  if (!queue_.empty() || busy_)
    return WriterError{WriteError::Interrupted, 0, "interrupted while finishing"};
  stop_ = true;
  work_.notify_all();
  lk.unlock();
  thread_.join();
  return error();
}

void AsyncWriter::abort() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
    queue_.clear();
    stats_.pending_bytes = 0;
    work_.notify_all();
    room_.notify_all();
    idle_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
  if (fd_ >= 0) {
    ops_.close(fd_); // the temp file stays: the next start recovers it
    fd_ = -1;
  }
}

WriterError AsyncWriter::error() const {
  std::lock_guard lk(mutex_);
  return error_;
}

WriterStats AsyncWriter::stats() const {
  std::lock_guard lk(mutex_);
  return stats_;
}

void AsyncWriter::fail(WriteError kind, int err, std::string message) {
  std::lock_guard lk(mutex_);
  if (!error_)
    error_ = WriterError{kind, err, std::move(message)};
  room_.notify_all();
}

void AsyncWriter::run() {
  std::unique_lock lk(mutex_);
  for (;;) {
    work_.wait(lk, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_)
        return;
      continue;
    }
    Command cmd = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    const bool failed = static_cast<bool>(error_);
    lk.unlock();
    if (!failed) {
      try { // an exception leaving a std::thread's function ends the process
        switch (cmd.kind) {
        case Command::Write:
          do_write(cmd.data);
          break;
        case Command::Finish:
          do_finish(cmd.duration_ns);
          break;
        case Command::Open:
          do_open(cmd.temp_path, cmd.final_path);
          break;
        }
      } catch (const std::exception &e) {
        fail(WriteError::Write, 0, std::string("writer thread: ") + e.what());
      }
    }
    lk.lock();
    stats_.pending_bytes -= cmd.data.size();
    busy_ = false;
    room_.notify_all();
    if (queue_.empty())
      idle_.notify_all();
  }
}

void AsyncWriter::do_open(const std::string &temp_path, const std::string &final_path) {
  const int fd = ops_.open_write(temp_path);
  if (fd < 0) {
    fail(WriteError::Open, -fd, "cannot open " + temp_path + " for writing: " + std::strerror(-fd));
    return;
  }
  fd_ = fd;
  temp_path_ = temp_path;
  final_path_ = final_path;
  file_bytes_ = 0;
  std::lock_guard lk(mutex_);
  stats_.current_location = final_path;
}

void AsyncWriter::do_write(const std::vector<uint8_t> &data) {
  if (fd_ < 0)
    return;
  if (settings_.min_free_bytes > 0) {
    const int64_t free = ops_.free_bytes(dir_of(temp_path_));
    if (free >= 0 && static_cast<uint64_t>(free) < settings_.min_free_bytes + data.size()) {
      do_finish(0);
      fail(WriteError::NoSpace, ENOSPC,
           "only " + std::to_string(free / (1024 * 1024)) + " MiB (" + std::to_string(free) +
               " bytes) left on " + dir_of(final_path_) + ", below min-free-bytes " +
               std::to_string(settings_.min_free_bytes) + ": recording finished early");
      return;
    }
  }
  const int64_t t0 = clock_();
  size_t done = 0;
  while (done < data.size()) {
    const long n = ops_.write(fd_, data.data() + done, data.size() - done);
    if (n == -EINTR)
      continue;
    if (n <= 0) {
      const int err = n == 0 ? ENOSPC : static_cast<int>(-n);
      if (err == ENOSPC || err == EDQUOT) {
        // Keep what fits, cut to whole packets, and finish the file as a valid recording.
        const uint64_t before = file_bytes_;
        const uint64_t reached = file_bytes_ + done;
        const uint64_t whole = reached - reached % settings_.packet_size;
        ops_.truncate(fd_, whole);
        file_bytes_ = whole;
        {
          std::lock_guard lk(mutex_);
          stats_.bytes_written += whole - before;
          stats_.packets_written = stats_.bytes_written / settings_.packet_size;
        }
        do_finish(0);
        fail(WriteError::NoSpace, err,
             "no space left on " + dir_of(final_path_) + " after " + std::to_string(whole) +
                 " bytes: recording finished early");
      } else {
        fail(WriteError::Write, err,
             "cannot write to " + temp_path_ + ": " + std::strerror(err) +
                 " (the temp file is kept for recovery)");
      }
      return;
    }
    done += static_cast<size_t>(n);
  }
  file_bytes_ += done;
  int fsynced = 0;
  if (settings_.mode == SyncMode::Fsync && ops_.datasync(fd_) == 0)
    fsynced = 1;
  const int64_t latency = clock_() - t0;
  std::lock_guard lk(mutex_);
  stats_.bytes_written += done;
  stats_.packets_written = stats_.bytes_written / settings_.packet_size;
  ++stats_.flushes;
  stats_.fsyncs += static_cast<uint64_t>(fsynced);
  stats_.max_write_latency_ns = std::max(stats_.max_write_latency_ns, latency);
  if (latency > settings_.slow_write_ns)
    ++stats_.slow_writes;
}

void AsyncWriter::do_finish(int64_t duration_ns) {
  if (fd_ < 0)
    return;
  if (settings_.mode != SyncMode::None && ops_.datasync(fd_) == 0) {
    std::lock_guard lk(mutex_);
    ++stats_.fsyncs;
  }
  ops_.close(fd_);
  fd_ = -1;
  if (const int rc = ops_.rename(temp_path_, final_path_); rc < 0) {
    fail(WriteError::Rename, -rc,
         "cannot rename " + temp_path_ + " to " + final_path_ + ": " + std::strerror(-rc));
    return;
  }
  ops_.sync_dir(dir_of(final_path_));
  FinishedFile done{final_path_, file_bytes_, file_bytes_ / settings_.packet_size, duration_ns};
  {
    std::lock_guard lk(mutex_);
    ++stats_.files_finished;
    stats_.current_location.clear();
  }
  if (on_finished_)
    on_finished_(done);
}

// ---- recovery -----------------------------------------------------------------------------

namespace {

constexpr size_t kChunk = 1 << 20;

// Reads the whole file from its start into `push`; false on a read error.
template <typename Push> bool read_all(int fd, std::vector<uint8_t> &chunk, Push &&push) {
  if (::lseek(fd, 0, SEEK_SET) < 0)
    return false;
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n == 0)
      return true;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    push(chunk.data(), static_cast<size_t>(n));
  }
}

// One packet stride under test: the aligner and what its packets hold.
struct StrideProbe {
  explicit StrideProbe(size_t size) : aligner(size), scan(size) {}
  void push(const uint8_t *data, size_t len) {
    aligner.push(data, len, [this](const uint8_t *d, size_t packets) {
      for (size_t i = 0; i < packets; ++i)
        scan.observe(d + i * aligner.packet_size());
    });
  }
  PacketAligner aligner;
  TsScanner scan;
};

} // namespace

RecoveryReport recover_ts(const std::string &in, const std::string &out, FileOps &ops) {
  RecoveryReport report;
  const int in_fd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    report.error = "cannot open " + in + ": " + std::strerror(errno);
    return report;
  }
  std::vector<uint8_t> chunk(kChunk);

  // Pass 1, read only: which stride, and is there anything to play? Sync is searched over
  // the whole file (a valid stream may follow any amount of garbage).
  StrideProbe p188(kPacket), p192(kM2tsPacket);
  if (!read_all(in_fd, chunk, [&](const uint8_t *d, size_t n) {
        report.input_bytes += n;
        p188.push(d, n);
        p192.push(d, n);
      })) {
    report.error = "cannot read " + in + ": " + std::strerror(errno);
    ::close(in_fd);
    return report;
  }
  p188.aligner.finish();
  p192.aligner.finish();
  const ScanResult r188 = p188.scan.result(), r192 = p192.scan.result();
  const ScanResult *chosen = r188.playable() ? &r188 : r192.playable() ? &r192 : nullptr;
  if (!chosen) {
    ScanResult none;
    const ScanResult &seen = p188.aligner.ever_synced()   ? r188
                             : p192.aligner.ever_synced() ? r192
                                                          : none;
    ::close(in_fd);
    report.contents = seen.describe();
    report.error = in + " holds nothing playable: " + report.contents + " (in " +
                   std::to_string(report.input_bytes) + " bytes); nothing written";
    return report;
  }
  report.packet_size = chosen->packet_size;
  const uint64_t cut = chosen->playable_end;

  // Pass 2: write the aligned packets up to the playable end, and judge exactly that.
  const std::string tmp = out + ".partial";
  const int out_fd = ops.open_write(tmp);
  if (out_fd < 0) {
    ::close(in_fd);
    report.error = "cannot write " + tmp + ": " + std::strerror(-out_fd);
    return report;
  }
  const size_t size = report.packet_size, off = sync_offset(size);
  PacketAligner aligner(size);
  TsScanner judge(size, cut);
  DurationTracker duration;
  uint64_t aligned = 0;
  bool write_failed = false;
  auto sink = [&](const uint8_t *data, size_t packets) {
    for (size_t i = 0; i < packets; ++i)
      judge.observe(data + i * size);
    const uint64_t room = aligned < cut ? (cut - aligned) / size : 0;
    const size_t keep = static_cast<size_t>(std::min<uint64_t>(packets, room));
    for (size_t i = 0; i < keep; ++i)
      duration.observe(data + i * size + off);
    const size_t bytes = keep * size;
    size_t done = 0;
    while (done < bytes && !write_failed) {
      const long n = ops.write(out_fd, data + done, bytes - done);
      if (n <= 0)
        write_failed = true;
      else
        done += static_cast<size_t>(n);
    }
    aligned += packets * size;
  };
  const bool read_ok =
      read_all(in_fd, chunk, [&](const uint8_t *d, size_t n) { aligner.push(d, n, sink); });
  ::close(in_fd);
  const uint64_t partial = aligner.finish();
  report.skipped_bytes = aligner.skipped_bytes();
  report.cut_tail_bytes = partial + (aligned - std::min(aligned, cut));
  report.kept_bytes = std::min(aligned, cut);
  report.packets = report.kept_bytes / size;
  const ScanResult kept = judge.result();
  report.contents = kept.describe();
  report.streams = kept.streams.size();
  report.access_units = kept.access_units();
  if (!read_ok || write_failed || ops.datasync(out_fd) < 0) {
    const int e = errno;
    ops.close(out_fd);
    ::unlink(tmp.c_str());
    report.error =
        (read_ok ? "cannot write " + tmp : "cannot read " + in) + ": " + std::strerror(e);
    return report;
  }
  ops.close(out_fd);
  if (!kept.playable()) { // the cut left no whole access unit
    ::unlink(tmp.c_str());
    report.error = in + " holds nothing playable once cut to whole PES: " + report.contents +
                   "; nothing written";
    return report;
  }
  if (const int rc = ops.rename(tmp, out); rc < 0) {
    ::unlink(tmp.c_str());
    report.error = "cannot rename " + tmp + " to " + out + ": " + std::strerror(-rc);
    return report;
  }
  ops.sync_dir(dir_of(out));
  report.duration_ns = duration.duration_ns();
  report.ok = true;
  return report;
}

} // namespace keepup::ts
