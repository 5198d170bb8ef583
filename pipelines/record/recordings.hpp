// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's finished files: which names GET /recordings/<name> may serve, which files the
// retention limits delete, and the --on-segment-complete hook (its command line and a bounded
// queue of runs). Plain C++, unit-tested; the shell does the file system and the spawning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace keepup::whip {

// A finished recording's file name as the server lists and serves it: [A-Za-z0-9_.-]{1,200},
// ending in ".ts", not starting with '.', no "..", and not a file being written
// ("*.recording.ts", tsrecordsink's temp suffix) - so no path can leave the directory.
bool servable_recording_name(const std::string &name);

// What a recording's name says: "<stream>-<YYYYMMDDTHHMMSSZ>[-n][.<segment>][.recovered-n].ts".
struct RecordingName {
  std::string stream;       // empty when the name has no UTC time in it
  long long start_utc = -1; // seconds since the epoch, -1 when unknown
  int segment = -1;         // the number of a --segment-seconds file, -1 otherwise
};
RecordingName parse_recording_name(const std::string &name);

struct RecordedFile {
  std::string path;
  std::uint64_t bytes = 0;
  std::int64_t mtime_s = 0;   // last modification, seconds since the epoch
  bool being_written = false; // a live session's file: never deleted
};

struct RetentionLimits {
  double max_age_hours = 0;    // 0: no age limit
  std::uint64_t max_bytes = 0; // 0: no size limit
  bool active() const { return max_age_hours > 0 || max_bytes > 0; }
};

// The files to delete, oldest first: every finished file older than max_age_hours, then the
// oldest finished ones until all files (those being written count too) fit in max_bytes.
// Ties on mtime are broken by path, so the answer does not depend on the input order.
std::vector<std::string> files_to_delete(const std::vector<RecordedFile> &files,
                                         const RetentionLimits &limits, std::int64_t now_s);

// A hook's command line, split like a POSIX shell splits words but with nothing expanded and no
// shell run: blanks separate words; '...' is literal; "..." is literal except \" \\ \$ \`;
// a backslash outside quotes escapes the next character. Errors (empty command, unterminated
// quote, trailing backslash) leave `error` set.
struct HookCommand {
  std::vector<std::string> argv;
  std::string error;
};
HookCommand parse_hook_command(const std::string &command);

// Runs of the hook, at most `max_running` at a time, the rest waiting in order (at most
// `max_waiting`; beyond that a run is refused and the shell logs it).
class HookQueue {
public:
  HookQueue(std::size_t max_running, std::size_t max_waiting)
      : max_running_(max_running), max_waiting_(max_waiting) {}
  enum class Submit { kStartNow, kQueued, kRefused };
  Submit submit(const std::string &path);
  // A run ended: the next path to start, if one waits.
  std::optional<std::string> finished();
  std::size_t running() const { return running_; }
  std::size_t waiting() const { return waiting_.size(); }

private:
  std::size_t max_running_, max_waiting_;
  std::size_t running_ = 0;
  std::deque<std::string> waiting_;
};

} // namespace keepup::whip
