// SPDX-License-Identifier: LGPL-2.1-or-later
// The recorder's disk side without GStreamer: a writer thread fed through a bounded queue,
// temp file + atomic rename, flush/fsync policy, full-disk handling, and crash recovery.
#pragma once

#include "file_exists.hpp"
#include "ts_location.hpp" // the file names: temp_path_for(), recovered_path_for()

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keepup::ts {

enum class SyncMode { None, Flush, Fsync };

// The system calls the writer makes; tests substitute a full disk or a slow one.
class FileOps {
public:
  virtual ~FileOps() = default;
  virtual int open_write(const std::string &path);             // fd, or -errno
  virtual long write(int fd, const uint8_t *data, size_t len); // bytes, or -errno
  virtual int datasync(int fd);
  virtual int close(int fd);
  virtual int truncate(int fd, uint64_t size);
  virtual int rename(const std::string &from, const std::string &to);
  virtual int sync_dir(const std::string &dir);
  virtual int64_t free_bytes(const std::string &dir); // -1 when unknown
};
FileOps &posix_file_ops();

std::string dir_of(const std::string &path);
using keepup::file_exists; // elements/common/core; ts::file_exists is the same function

// Interrupted is no failure: finish() stopped waiting because of set_unblocked().
enum class WriteError { None, Open, Write, NoSpace, Rename, Interrupted };

struct WriterError {
  WriteError kind = WriteError::None;
  int err = 0; // errno
  std::string message;
  explicit operator bool() const { return kind != WriteError::None; }
};

struct FinishedFile {
  std::string location;
  uint64_t bytes = 0;
  uint64_t packets = 0;
  int64_t duration_ns = 0;
};

struct WriterSettings {
  SyncMode mode = SyncMode::Flush;
  uint64_t max_pending_bytes = 16ull << 20;
  uint64_t min_free_bytes = 64ull << 20;
  int64_t slow_write_ns = 50'000'000;
  size_t packet_size = 188;
};

struct WriterStats {
  uint64_t bytes_written = 0;
  uint64_t packets_written = 0;
  uint64_t flushes = 0;
  uint64_t fsyncs = 0;
  uint64_t files_finished = 0;
  int64_t max_write_latency_ns = 0;
  uint64_t slow_writes = 0;
  int64_t write_stall_ns = 0;
  uint64_t pending_bytes = 0;
  std::string current_location; // the final name of the file being written
};

class AsyncWriter {
public:
  using Clock = std::function<int64_t()>; // monotonic ns
  using FinishedCallback = std::function<void(const FinishedFile &)>;

  AsyncWriter(FileOps &ops, Clock clock, WriterSettings settings);
  ~AsyncWriter(); // like abort(): a file still open stays under its temp name

  // Opens the first file on the caller's thread, so a bad location fails at once.
  WriterError open(const std::string &temp_path, const std::string &final_path);
  void set_on_finished(FinishedCallback cb) { on_finished_ = std::move(cb); }

  // Streaming side. write() waits while more than max_pending_bytes are queued and counts
  // the wait; it returns false once the writer has failed (error() says why).
  bool write(std::vector<uint8_t> &&block);
  // Finish the current file (duration for the report) and go on in a new one.
  bool rotate(int64_t duration_ns, const std::string &temp_path, const std::string &final_path);
  // While set, write() never waits for room: its block is queued past max_pending_bytes
  // and it returns at once, nothing is dropped; finish() does not wait either (see there).
  // A flush sets it so that it never waits for the disk; a write() or finish() already
  // waiting returns as soon as it is set.
  void set_unblocked(bool unblocked);
  // Wait until every block handed over so far is written (not synced). False on error.
  bool wait_written();
  // Finish the current file and wait until everything is on disk and renamed. When
  // set_unblocked() ends the wait, returns WriteError::Interrupted at once and the writer
  // thread goes on finishing; a later finish() (with the flag cleared) waits for it.
  WriterError finish(int64_t duration_ns);
  // Stop without renaming: the temp file stays for recovery.
  void abort();

  WriterError error() const;
  WriterStats stats() const;

private:
  struct Command {
    enum Kind { Write, Finish, Open } kind;
    std::vector<uint8_t> data;
    std::string temp_path, final_path;
    int64_t duration_ns = 0;
  };
  void enqueue(Command &&cmd);
  void run();
  void do_write(const std::vector<uint8_t> &data);
  void do_finish(int64_t duration_ns);
  void do_open(const std::string &temp_path, const std::string &final_path);
  void fail(WriteError kind, int err, std::string message);
  void wait_idle(std::unique_lock<std::mutex> &lk);

  FileOps &ops_;
  Clock clock_;
  WriterSettings settings_;
  FinishedCallback on_finished_;

  mutable std::mutex mutex_;
  std::condition_variable work_, room_, idle_;
  std::deque<Command> queue_;
  bool busy_ = false;
  bool stop_ = false;
  bool unblocked_ = false;
  bool finish_queued_ = false; // finish() queued its Finish command (once)
  WriterError error_;
  WriterStats stats_;
  std::thread thread_;

  // Writer thread only (and open() before the thread starts).
  int fd_ = -1;
  std::string temp_path_, final_path_;
  uint64_t file_bytes_ = 0;
};

struct RecoveryReport {
  bool ok = false;
  std::string error;
  size_t packet_size = 0;
  uint64_t input_bytes = 0;
  uint64_t kept_bytes = 0;
  uint64_t packets = 0;
  uint64_t skipped_bytes = 0;  // garbage skipped to re-find sync
  uint64_t cut_tail_bytes = 0; // partial packet and incomplete PES at the end
  int64_t duration_ns = 0;
  size_t streams = 0;        // elementary streams the kept PMT lists
  uint64_t access_units = 0; // complete PES on them
  std::string contents;      // what was found (kept, or why nothing is playable)
};

// Copies the playable part of a TS file (a recording cut short by a crash) to `out`:
// whole packets at 188- or 192-byte stride, no trailing partial packet, no trailing
// incomplete PES. Writes `out` through a temp name and a rename; never touches `in`.
// Sync is searched over the whole file. ok=true only when the output plays: a PAT, a PMT
// and at least one complete PES on a stream that PMT lists (ts_scan.hpp); otherwise
// ok=false, an error saying what was found, and nothing written.
RecoveryReport recover_ts(const std::string &in, const std::string &out,
                          FileOps &ops = posix_file_ops());

} // namespace keepup::ts
