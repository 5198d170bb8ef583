// SPDX-License-Identifier: LGPL-2.1-or-later
#include "analyze_jobs.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace keepup::jobs {

std::string to_json(const Job &job) {
  nlohmann::json j;
  j["v"] = 1;
  if (!job.id.empty())
    j["id"] = job.id;
  j["input"] = job.input;
  j["options"] = job.options;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool valid_job_id(std::string_view id, std::string *error) {
  auto bad = [&](const char *why) {
    if (error)
      *error = std::string("job id '").append(id).append("': ").append(why);
    return false;
  };
  if (id.empty() || id.size() > 128)
    return bad("1 to 128 characters");
  if (id.front() == '.')
    return bad("may not start with '.'");
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok)
      return bad("only letters, digits and . _ : -");
  }
  return true;
}

std::string forbidden_option(const std::vector<std::string> &options) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    const std::string &a = options[i];
    if (a == "--show" || a == "-h" || a == "--help" || a == "--submit" || a == "--worker" ||
        a == "--job-id" || a == "--max-jobs" || a == "--lease-ms" || a == "--name")
      return a;
    if (a == "--events" && i + 1 < options.size() && options[i + 1] == "-")
      return "--events -";
  }
  return {};
}

std::optional<Job> parse_job(std::string_view json, std::string *error) {
  auto bad = [&](std::string why) -> std::optional<Job> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded())
    return bad("job is not JSON");
  if (!j.is_object())
    return bad("job is not a JSON object");
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<int>() != 1)
    return bad("job has no \"v\": 1 (format version)");
  Job job;
  if (j.contains("id")) {
    if (!j["id"].is_string())
      return bad("job \"id\" is not a string");
    job.id = j["id"].get<std::string>();
    std::string why;
    if (!valid_job_id(job.id, &why))
      return bad(why);
  }
  if (!j.contains("input") || !j["input"].is_string() || j["input"].get<std::string>().empty())
    return bad("job has no \"input\"");
  job.input = j["input"].get<std::string>();
  if (job.input.front() == '-') // it would be read as an option (--help ends the process)
    return bad("job \"input\" starts with '-': not an input");
  if (j.contains("options")) {
    if (!j["options"].is_array())
      return bad("job \"options\" is not a list");
    for (const auto &o : j["options"]) {
      if (!o.is_string())
        return bad("job \"options\" holds a non-string");
      job.options.push_back(o.get<std::string>());
    }
  }
  if (const std::string f = forbidden_option(job.options); !f.empty())
    return bad(std::string("option ").append(f).append(" cannot run on a worker"));
  return job;
}

namespace {
// Letters, digits, '.', '_' and '-' kept, anything else '_'.
std::string file_safe(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  return out;
}
} // namespace

std::vector<std::string> run_args(const Job &job, const std::string &job_name) {
  std::vector<std::string> args;
  args.reserve(job.options.size() + 3);
  args.push_back(job.input);
  bool has_output = false;
  for (const auto &o : job.options) {
    has_output = has_output || o == "--output";
    args.push_back(o);
  }
  if (!has_output) {
    std::string name = file_safe(job_name);
    if (name.empty() || name.front() == '.')
      name.insert(name.begin(), 'j');
    args.push_back("--output");
    args.push_back(name.append(".ts"));
  }
  return args;
}

StagedRun stage_outputs(const std::vector<std::string> &args, const std::string &worker) {
  StagedRun run{args, {}};
  for (std::size_t i = 0; i + 1 < run.args.size(); ++i) {
    const std::string &option = run.args[i];
    if (option != "--output" && option != "--meta" && option != "--events" && option != "--gt")
      continue;
    std::string &value = run.args[++i];
    if (value == "-" || value.find('%') != std::string::npos)
      continue;
    const std::size_t slash = value.rfind('/');
    const std::size_t dot = value.rfind('.');
    const bool has_extension =
        dot != std::string::npos && dot > 0 && (slash == std::string::npos || dot > slash + 1);
    const std::size_t cut = has_extension ? dot : value.size();
    std::string staged = value.substr(0, cut);
    staged.append(".part-").append(file_safe(worker)).append(value.substr(cut));
    run.files.push_back({staged, value});
    value = staged;
  }
  return run;
}

std::vector<std::pair<std::string, std::string>> result_fields(const Result &r) {
  nlohmann::json counts = nlohmann::json::object();
  for (const auto &[line, c] : r.counts)
    counts[line] = {{"forward", c.first}, {"backward", c.second}};
  // The seconds go through the JSON library too: the C locale's "%f" is not everyone's.
  const double seconds = static_cast<double>(static_cast<long long>(r.seconds * 1000)) / 1000;
  std::vector<std::pair<std::string, std::string>> f = {
      {"job", r.job},
      {"status", r.status},
      {"worker", r.worker},
      {"frames", std::to_string(r.frames)},
      {"tracks", std::to_string(r.tracks)},
      {"counts", counts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)},
      {"output", r.output},
      {"seconds", nlohmann::json(seconds).dump()},
  };
  if (!r.error.empty())
    f.emplace_back("error", r.error);
  return f;
}

std::optional<LeaseTiming> lease_timing(long long lease_ms, std::string *error) {
  if (lease_ms < kMinLeaseMs) {
    if (error)
      *error = std::string("--lease-ms must be at least ").append(std::to_string(kMinLeaseMs));
    return std::nullopt;
  }
  using std::chrono::milliseconds;
  // Three renewals per lease: one lost renewal (a slow Redis, a GC pause of the box) does
  // not lose the job. Blocking reads stay short enough to notice a timed-out lease soon and
  // SIGTERM within a second.
  const long long block = std::clamp(lease_ms / 4, 50LL, 1000LL);
  return LeaseTiming{milliseconds(lease_ms), milliseconds(lease_ms / 3), milliseconds(block)};
}

Ownership ownership_from_reply(long long reply) {
  return reply == 1 ? Ownership::Owner : reply == 0 ? Ownership::Taken : Ownership::Gone;
}

ClaimOrder::Step ClaimOrder::next() const {
  if (scanned_)
    return {Kind::ReadNew, {}};
  return {Kind::AutoClaim, cursor_};
}

void ClaimOrder::autoclaimed(const std::string &next_cursor, bool got_entry) {
  cursor_ = next_cursor.empty() ? "0-0" : next_cursor;
  // Reached the end with nothing taken: time to wait for new entries.
  if (!got_entry && cursor_ == "0-0")
    scanned_ = true;
}

void ClaimOrder::read_done() {
  scanned_ = false;
  cursor_ = "0-0";
}

} // namespace keepup::jobs
