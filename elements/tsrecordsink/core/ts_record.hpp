// SPDX-License-Identifier: LGPL-2.1-or-later
// tsrecordsink's recording decisions without GStreamer: its settings with their defaults
// (the element's ParamSpecs read them), when a file is cut for rotation, and what a start
// finds left over from a crash and turns into playable files.
#pragma once

#include "ts_location.hpp"
#include "ts_writer.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace keepup::ts {

// Every tsrecordsink setting except its two strings (location, temp-suffix). The defaults
// here are the element's defaults: there is no second copy in the shell.
struct RecordSettings {
  WriterSettings writer{};                    // sync-mode, max-pending-bytes, min-free-bytes
  uint64_t flush_threshold = 4ull << 20;      // bytes collected before a block goes to the writer
  uint64_t flush_interval_ns = 1'000'000'000; // pipeline clock; 0 = threshold only
  bool recover = true;                        // recover a crash's leftovers at start
  uint64_t max_size_bytes = 0;                // rotation limits, 0 = off
  uint64_t max_size_time_ns = 0;

  constexpr bool rotates() const { return max_size_bytes != 0 || max_size_time_ns != 0; }
};

// Why these settings cannot record to `location` ("" when they can): rotation needs a %d.
std::string rotation_settings_error(const RecordSettings &settings,
                                    const LocationPattern &location);

// When to start the next file: once the current one reached max_size_bytes (after a packet)
// or max_size_time_ns of PCR duration, at the next random-access point, and never while
// the file is still empty, so every file starts with a keyframe and plays on its own.
class Rotation {
public:
  Rotation() = default;
  Rotation(const RecordSettings &settings, const LocationPattern &location);

  // Before a packet is appended: true when the current file ends here and this packet
  // begins the next one. `file_bytes` is the current file's size without the packet.
  bool cut_before(bool random_access, uint64_t file_bytes) const {
    return pending_ && random_access && file_bytes > 0;
  }
  // After a packet was appended: the current file's size and PCR duration with it.
  void after_packet(uint64_t file_bytes, int64_t duration_ns);
  // The next file was started: the limits count from zero again.
  void started_next_file() { pending_ = false; }
  bool pending() const { return pending_; }

private:
  uint64_t max_bytes_ = 0;
  uint64_t max_time_ns_ = 0;
  bool numbered_ = false;
  bool pending_ = false;
};

using ExistsFn = std::function<bool(const std::string &)>;

struct Leftover {
  std::string temp_path;  // what a crash left: the temp name of ...
  std::string final_path; // ... this recording
};

// Rotation indexes a start looks at for leftovers, at most.
inline constexpr int kMaxRotationIndex = 100000;

// The temp files a crash may have left for `location`: its own temp file when it is not
// numbered; when it is, index 0 and then every index while its temp or final file exists
// (a gap ends the scan). Only temp files that exist are returned, in index order.
std::vector<Leftover> find_leftovers(const LocationPattern &location,
                                     const std::string &temp_suffix,
                                     const ExistsFn &exists = file_exists);

// The first rotation index whose final file does not exist yet, so earlier recordings are
// never overwritten (0 for a location without %d).
int first_free_index(const LocationPattern &location, const ExistsFn &exists = file_exists);

struct LeftoverRecovery {
  Leftover leftover;
  RecoveryReport report;  // report.ok: recovered into `output`, temp file removed
  std::string output;     // <stem>.recovered-<n>.ts
  std::string kept_aside; // !report.ok: the temp file was renamed to this, never deleted
};

// Turns one leftover into a playable <stem>.recovered-<n>.ts and removes the temp file; one
// that holds nothing playable is moved aside to "<temp>.unrecoverable" for a human to see.
LeftoverRecovery recover_leftover(const Leftover &leftover);

} // namespace keepup::ts
