// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared camera jobs, the pure part: what a job entry holds (JSON), what a result entry
// holds, and the lease arithmetic and claim order of a worker. No Redis, no GStreamer: the
// protocol is in analyze_worker.cpp, and this is what its unit tests pin down.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keepup::jobs {

inline constexpr const char *kJobsStream = "keepup:jobs";
inline constexpr const char *kResultsStream = "keepup:results";
inline constexpr const char *kGroup = "keepup-workers";
inline constexpr const char *kJobField = "job"; // the job's JSON in a keepup:jobs entry

// A job: one keepup-analyze run. {"v":1,"id":"cam-12","input":"rtsp://...",
// "options":["--seconds","60","--output","/srv/out/cam-12.ts"]}; the options are
// keepup-analyze's own, as on its command line.
struct Job {
  std::string id; // the submitter's --job-id; empty: the stream entry id names the job
  std::string input;
  std::vector<std::string> options;
};

std::string to_json(const Job &job);
// nullopt with *error saying what is wrong: not JSON, not an object, "v" other than 1, no
// input, options not a list of strings, a bad id, or an option a worker cannot run.
std::optional<Job> parse_job(std::string_view json, std::string *error);

// 1..128 characters of [A-Za-z0-9._:-], not starting with '.' (it also names files).
bool valid_job_id(std::string_view id, std::string *error);

// Options that make no sense on a worker: a display (--show), stdout taken over
// (--events -), help, or the fleet's own options. Empty when the options are fine.
std::string forbidden_option(const std::vector<std::string> &options);

// The command line a worker runs for a job: input, options, and --output <name>.ts when the
// job names no output (so two jobs in one folder never write the same file).
std::vector<std::string> run_args(const Job &job, const std::string &job_name);

// Each attempt writes its files (--output, --meta, --events, --gt) under names of its own,
// <name>.part-<worker><.ext>, and moves them to the real names when its run is over: a
// worker that stalled past its lease and a worker that took the job over never write into
// the same file (tsrecordsink renames its temp file by path when it finishes). "-" and
// numbered patterns (%d) are left as they are.
struct StagedFile {
  std::string staged, final_path;
};
struct StagedRun {
  std::vector<std::string> args;
  std::vector<StagedFile> files;
};
StagedRun stage_outputs(const std::vector<std::string> &args, const std::string &worker);

struct Result {
  std::string job;    // the job's id, or its entry id
  std::string status; // "ok", "failed" (the run failed), "error" (malformed job)
  std::string worker, output, error;
  std::uint64_t frames = 0, tracks = 0;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> counts; // line: fwd, back
  double seconds = 0;
};
// Field/value pairs of the keepup:results entry (the completion adds "attempts" and "entry").
// counts is JSON: {"gate":{"forward":3,"backward":1}}.
std::vector<std::pair<std::string, std::string>> result_fields(const Result &result);

// Lease arithmetic. A job's entry stays in the group's pending list while it runs; its idle
// time is reset by the owner every renew_every; once idle passes `lease` any worker may take
// it (XAUTOCLAIM min-idle = lease). Workers block on new jobs for at most `block`, so a
// timed-out lease is noticed within lease + block.
struct LeaseTiming {
  std::chrono::milliseconds lease, renew_every, block;
};
inline constexpr long long kMinLeaseMs = 200, kDefaultLeaseMs = 10000;
std::optional<LeaseTiming> lease_timing(long long lease_ms, std::string *error);

// The answer of the ownership-checked scripts (renew, hand back, complete).
enum class Ownership {
  Owner, // the entry is pending with us: the action was done
  Taken, // pending with another worker: our lease ran out and it was claimed
  Gone   // no longer pending (acked, or deleted with the stream)
};
Ownership ownership_from_reply(long long reply); // 1, 0, -1

// Claim order: timed-out entries first (XAUTOCLAIM from a cursor, resumed until the pending
// list is scanned), then new entries (XREADGROUP, blocking). After a read the scan restarts.
class ClaimOrder {
public:
  enum class Kind { AutoClaim, ReadNew };
  struct Step {
    Kind kind;
    std::string cursor; // AutoClaim: where to start
  };
  Step next() const;
  void autoclaimed(const std::string &next_cursor, bool got_entry);
  void read_done();

private:
  std::string cursor_ = "0-0";
  bool scanned_ = false; // the pending list was scanned to its end since the last read
};

} // namespace keepup::jobs
