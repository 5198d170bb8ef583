// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-analyze --submit / --worker: camera jobs shared by workers over Redis streams.
//
// keepup:jobs is a stream of jobs (analyze_jobs.hpp), read by the consumer group
// keepup-workers. A worker takes one entry at a time: first an entry whose owner's lease ran
// out (XAUTOCLAIM, min-idle = the lease), else a new one (XREADGROUP, blocking briefly). While
// the job runs, a heartbeat thread renews the lease: it resets the entry's idle time
// (XCLAIM ... JUSTID) every third of the lease. A worker that dies (SIGKILL, power) stops
// renewing; once the entry has been idle for a lease, another worker claims it and runs the
// job again from the start (a file) or picks the camera up again (live).
//
// Exactly one result per job entry. Every action on a claimed entry (renew, hand back,
// complete) is a Lua script that first checks, with XPENDING, that the entry is still
// pending with this worker, and does nothing otherwise; the completion writes the
// keepup:results entry and XACKs in the same script. So if a worker stalled past its lease
// and a second one took the job, whichever is the owner at the end writes the only result:
// the stale one finds the entry taken (its heartbeat already told it to stop), and after the
// XACK nobody can claim the entry again. A guard key (SET keepup:done:<job> NX) alone would
// let a stale worker finish first and win, and it needs cleaning up; the ownership check uses
// the state Redis already keeps for the group. Files are per attempt too
// (jobs::stage_outputs): the two runs of such a job never write into the same file.
//
// SIGTERM/SIGINT: the running job is stopped at once (its part files deleted), handed back (its
// idle time set past any lease so the next claim takes it right away) and the worker exits 0:
// bounded by the pipeline's teardown. Idle, it exits within one blocking read (<= 1 s).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "analyze_jobs.hpp"
#include "analyze_run.hpp"
#include "parse_number.hpp"
#include "redis_client.hpp"

namespace {

using namespace std::chrono_literals;
using keepup::redis::Connection;
using keepup::redis::Reply;

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
  g_stop = true;
}

// Ownership-checked actions on a claimed entry. KEYS[1] jobs; ARGV[1] group, ARGV[2] worker,
// ARGV[3] entry id. Reply 1: done (we own it), 0: pending with another worker, -1: gone.
constexpr const char *kOwnerCheck = R"(
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 then return -1 end
if p[1][2] ~= ARGV[2] then return 0 end
)";
constexpr const char *kRenewTail = R"(
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1)";
// The idle time set past any worker's lease: the next XAUTOCLAIM takes it.
constexpr const char *kHandBackTail = R"(
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', 31536000000, 'JUSTID')
return 1)";
// KEYS[2] results; ARGV[4..] field/value pairs of the result.
constexpr const char *kCompleteTail = R"(
local fields = {'entry', ARGV[3], 'attempts', p[1][4]}
for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1)";

struct FleetOptions {
  bool submit = false;
  std::string uri_text;
  keepup::redis::Uri uri;
  std::string job_id, name;
  long long max_jobs = 0, lease_ms = keepup::jobs::kDefaultLeaseMs;
  std::vector<std::string> rest; // --submit: the job's command line
};

int usage_error(const std::string &message) {
  std::fprintf(stderr, "keepup-analyze: %s\n", message.c_str());
  return 2;
}

std::optional<FleetOptions> parse_fleet(int argc, char **argv, int *status) {
  FleetOptions f;
  *status = 2;
  bool worker = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool fleet_option = a == "--submit" || a == "--worker" || a == "--job-id" ||
                              a == "--max-jobs" || a == "--lease-ms" || a == "--name";
    if (a == "-h" || a == "--help" ||
        (i + 1 < argc &&
         (std::string_view(argv[i + 1]) == "-h" || std::string_view(argv[i + 1]) == "--help") &&
         (a == "--submit" || a == "--worker"))) {
      std::printf(
          "usage: keepup-analyze --submit redis://[[user]:pw@]host[:port][/db] [--job-id ID]\n"
          "                      INPUT [keepup-analyze options]\n"
          "       keepup-analyze --worker redis://... [--max-jobs N] [--lease-ms MS] "
          "[--name NAME]\n"
          "  --job-id ID     the job's name (default: its stream entry id)\n"
          "  --max-jobs N    jobs to run before exiting (default 0: until SIGTERM)\n"
          "  --lease-ms MS   a job whose worker does not renew it for MS is taken over "
          "(default %lld)\n"
          "  --name NAME     this worker's consumer name (default host-pid)\n"
          "SIGTERM/SIGINT: the running job is handed back, exit 0.\n",
          keepup::jobs::kDefaultLeaseMs);
      *status = 0;
      return std::nullopt;
    }
    if (!fleet_option) {
      f.rest.push_back(a);
      continue;
    }
    if (i + 1 >= argc) {
      usage_error(a + " needs a value");
      return std::nullopt;
    }
    const std::string v = argv[++i];
    if (a == "--submit" || a == "--worker") {
      if (!f.uri_text.empty()) {
        usage_error("one of --submit or --worker, once");
        return std::nullopt;
      }
      f.submit = a == "--submit";
      worker = !f.submit;
      f.uri_text = v;
    } else if (a == "--job-id") {
      f.job_id = v;
    } else if (a == "--name") {
      f.name = v;
    } else {
      const auto n = keepup::parse_integer(v);
      if (!n || *n < 0) {
        usage_error(a + " takes a whole number >= 0 (got '" + v + "')");
        return std::nullopt;
      }
      (a == "--max-jobs" ? f.max_jobs : f.lease_ms) = *n;
    }
  }
  std::string error;
  const auto uri = keepup::redis::parse_uri(f.uri_text, &error);
  if (!uri) {
    usage_error("bad Redis URI: " + error);
    return std::nullopt;
  }
  f.uri = *uri;
  if (worker && !f.rest.empty()) {
    usage_error("--worker takes jobs from Redis, not an input or options (got " + f.rest[0] + ")");
    return std::nullopt;
  }
  if (f.submit &&
      (!f.name.empty() || f.max_jobs != 0 || f.lease_ms != keepup::jobs::kDefaultLeaseMs)) {
    usage_error("--name, --max-jobs and --lease-ms are --worker options");
    return std::nullopt;
  }
  if (worker && !f.job_id.empty()) {
    usage_error("--job-id is a --submit option");
    return std::nullopt;
  }
  if (!f.job_id.empty() && !keepup::jobs::valid_job_id(f.job_id, &error)) {
    usage_error(error);
    return std::nullopt;
  }
  *status = 0;
  return f;
}

std::unique_ptr<Connection> connect_or_say(const keepup::redis::Uri &uri) {
  std::string error;
  auto c = Connection::open(uri, 3000ms, &error);
  if (!c)
    std::fprintf(stderr, "keepup-analyze: cannot reach Redis at %s: %s\n", uri.redacted().c_str(),
                 error.c_str());
  return c;
}

int submit(const FleetOptions &f) {
  const auto command = keepup::analyze::check_command(f.rest);
  if (!command)
    return 2; // check_command said why
  keepup::jobs::Job job{f.job_id, command->input, command->options};
  if (const std::string bad = keepup::jobs::forbidden_option(job.options); !bad.empty())
    return usage_error("option " + bad + " cannot run on a worker");
  auto c = connect_or_say(f.uri);
  if (!c)
    return 1;
  Reply r;
  std::string error;
  if (!c->command({"XADD", keepup::jobs::kJobsStream, "*", keepup::jobs::kJobField,
                   keepup::jobs::to_json(job)},
                  &r, &error) ||
      r.is_error()) {
    std::fprintf(stderr, "keepup-analyze: adding the job to %s: %s\n", keepup::jobs::kJobsStream,
                 r.is_error() ? r.str.c_str() : error.c_str());
    return 1;
  }
  std::printf("%s\n", job.id.empty() ? r.str.c_str() : job.id.c_str());
  return 0;
}

// A connection that comes back after Redis went away: every call reconnects if needed.
class Link {
public:
  Link(keepup::redis::Uri uri, std::chrono::milliseconds io_timeout)
      : uri_(std::move(uri)), io_timeout_(io_timeout) {}
  bool call(const std::vector<std::string> &args, Reply *reply, std::string *error) {
    if (!c_ || !c_->ok()) {
      c_ = Connection::open(uri_, 2000ms, error);
      if (!c_)
        return false;
      c_->set_timeout(io_timeout_);
    }
    return c_->command(args, reply, error);
  }

private:
  keepup::redis::Uri uri_;
  std::chrono::milliseconds io_timeout_;
  std::unique_ptr<Connection> c_;
};

// The consumer group (or its stream) does not exist: Redis came back empty, or the stream
// was deleted.
bool no_group(const Reply &r) {
  return r.is_error() && r.str.rfind("NOGROUP", 0) == 0;
}

// Runs an ownership-checked script. nullopt: Redis could not be asked (*error says why).
std::optional<keepup::jobs::Ownership> owned_action(Link &link, const char *tail,
                                                    const FleetOptions &f, const std::string &entry,
                                                    const std::vector<std::string> &extra_keys,
                                                    const std::vector<std::string> &extra_args,
                                                    std::string *error) {
  std::vector<std::string> cmd = {"EVAL", std::string(kOwnerCheck).append(tail),
                                  std::to_string(1 + extra_keys.size()), keepup::jobs::kJobsStream};
  cmd.insert(cmd.end(), extra_keys.begin(), extra_keys.end());
  for (const std::string &a : {std::string(keepup::jobs::kGroup), f.name, entry})
    cmd.push_back(a);
  cmd.insert(cmd.end(), extra_args.begin(), extra_args.end());
  Reply r;
  if (!link.call(cmd, &r, error))
    return std::nullopt;
  // The group itself is gone (Redis came back empty, or the stream was deleted): so is every
  // claim in it. The job is not ours any more; the claim loop creates the group again.
  if (no_group(r))
    return keepup::jobs::Ownership::Gone;
  if (r.is_error() || r.type != Reply::Type::Integer) {
    *error = r.is_error() ? r.str : "unexpected reply";
    return std::nullopt;
  }
  return keepup::jobs::ownership_from_reply(r.integer);
}

// Renews the lease every renew_every until stopped; sets `lost` when another worker owns
// the entry (or it is gone), which makes the running job stop.
class Heartbeat {
public:
  Heartbeat(const FleetOptions &f, const keepup::jobs::LeaseTiming &t, std::string entry)
      : f_(f), timing_(t), entry_(std::move(entry)), thread_([this] { loop(); }) {}
  ~Heartbeat() {
    {
      std::lock_guard lk(m_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool lost() const { return lost_; }

private:
  void loop() {
    try {
      renew_until_done();
    } catch (const std::exception &e) { // a thread's exception would end the process
      std::fprintf(stderr, "keepup-analyze: worker %s: lease of %s: %s; the job stops\n",
                   f_.name.c_str(), entry_.c_str(), e.what());
      lost_ = true;
    }
  }
  void renew_until_done() {
    Link link(f_.uri, timing_.renew_every);
    bool warned = false;
    std::unique_lock lk(m_);
    while (!cv_.wait_for(lk, timing_.renew_every, [this] { return done_; })) {
      lk.unlock();
      std::string error;
      const auto o = owned_action(link, kRenewTail, f_, entry_, {}, {}, &error);
      if (!o && !warned) { // keep trying: nobody can claim the entry while Redis is away
        std::fprintf(stderr, "keepup-analyze: worker %s: renewing the lease of %s: %s\n",
                     f_.name.c_str(), entry_.c_str(), error.c_str());
        warned = true;
      } else if (o) {
        warned = false;
        if (*o != keepup::jobs::Ownership::Owner)
          lost_ = true;
      }
      lk.lock();
      if (lost_)
        return;
    }
  }
  const FleetOptions &f_;
  keepup::jobs::LeaseTiming timing_;
  std::string entry_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> lost_{false};
  std::thread thread_;
};

// Sleeps up to `d`, waking early on SIGTERM.
void nap(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!g_stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
}

class Worker {
public:
  Worker(FleetOptions f, keepup::jobs::LeaseTiming t)
      : f_(std::move(f)), timing_(t), link_(f_.uri, t.block + 3000ms) {}

  int run() {
    if (!setup())
      return 1;
    std::printf("worker %s: waiting for jobs on %s (group %s, lease %lld ms)\n", f_.name.c_str(),
                f_.uri.redacted().c_str(), keepup::jobs::kGroup,
                static_cast<long long>(timing_.lease.count()));
    long long completed = 0;
    auto backoff = 250ms;
    bool warned = false;
    while (!g_stop && (f_.max_jobs == 0 || completed < f_.max_jobs)) {
      std::string error;
      std::optional<keepup::redis::StreamEntry> entry;
      if (!claim(&entry, &error)) {
        if (!warned)
          std::fprintf(stderr, "keepup-analyze: worker %s: %s (retrying)\n", f_.name.c_str(),
                       error.c_str());
        warned = true;
        nap(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        continue;
      }
      if (warned)
        std::fprintf(stderr, "keepup-analyze: worker %s: Redis is back\n", f_.name.c_str());
      warned = false;
      backoff = 250ms;
      if (entry && handle(*entry))
        ++completed;
    }
    std::printf("worker %s: %s after %lld job(s)\n", f_.name.c_str(), g_stop ? "stopped" : "done",
                completed);
    return 0;
  }

private:
  bool setup() {
    std::string error;
    auto c = connect_or_say(f_.uri);
    if (!c)
      return false;
    // From id 0: jobs submitted before the first worker started are run too.
    Reply r;
    if (!c->command(
            {"XGROUP", "CREATE", keepup::jobs::kJobsStream, keepup::jobs::kGroup, "0", "MKSTREAM"},
            &r, &error)) {
      std::fprintf(stderr, "keepup-analyze: Redis at %s: %s\n", f_.uri.redacted().c_str(),
                   error.c_str());
      return false;
    }
    if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0) {
      std::fprintf(stderr, "keepup-analyze: creating the group %s on %s: %s\n",
                   keepup::jobs::kGroup, keepup::jobs::kJobsStream, r.str.c_str());
      return false;
    }
    return true;
  }

  // Redis restarted without its data (or the stream was deleted): the group again, so the
  // next claim works and jobs submitted since are run.
  void recreate_group_if_gone(const Reply &r) {
    if (no_group(r))
      setup();
  }

  // One claim attempt: false when Redis could not be asked. *entry stays empty when nothing
  // was there to take.
  bool claim(std::optional<keepup::redis::StreamEntry> *entry, std::string *error) {
    const auto step = order_.next();
    Reply r;
    if (step.kind == keepup::jobs::ClaimOrder::Kind::AutoClaim) {
      if (!link_.call({"XAUTOCLAIM", keepup::jobs::kJobsStream, keepup::jobs::kGroup, f_.name,
                       std::to_string(timing_.lease.count()), step.cursor, "COUNT", "1"},
                      &r, error))
        return false;
      if (r.is_error() || r.type != Reply::Type::Array || r.elements.size() < 2) {
        *error = r.is_error() ? r.str : "unexpected XAUTOCLAIM reply";
        recreate_group_if_gone(r);
        return false;
      }
      auto entries = keepup::redis::parse_entries(r.elements[1]);
      order_.autoclaimed(r.elements[0].str, !entries.empty());
      if (!entries.empty())
        *entry = std::move(entries.front());
      return true;
    }
    if (!link_.call({"XREADGROUP", "GROUP", keepup::jobs::kGroup, f_.name, "COUNT", "1", "BLOCK",
                     std::to_string(timing_.block.count()), "STREAMS", keepup::jobs::kJobsStream,
                     ">"},
                    &r, error))
      return false;
    if (r.is_error()) {
      *error = r.str;
      recreate_group_if_gone(r);
      return false;
    }
    order_.read_done();
    // [[stream, [entries]]] or nil after the block time
    if (r.type == Reply::Type::Array && !r.elements.empty() && r.elements[0].elements.size() == 2) {
      auto entries = keepup::redis::parse_entries(r.elements[0].elements[1]);
      if (!entries.empty())
        *entry = std::move(entries.front());
    }
    return true;
  }

  // Runs one claimed entry. True when it was completed (result written and acked).
  bool handle(const keepup::redis::StreamEntry &entry) {
    keepup::jobs::Result result;
    result.worker = f_.name;
    result.job = entry.id;
    std::string error;
    const std::string *json = entry.field(keepup::jobs::kJobField);
    const auto job = json ? keepup::jobs::parse_job(*json, &error)
                          : (error = "entry has no \"job\" field", std::nullopt);
    if (!job) {
      std::fprintf(stderr, "keepup-analyze: worker %s: entry %s: %s\n", f_.name.c_str(),
                   entry.id.c_str(), error.c_str());
      result.status = "error";
      result.error = error;
      return complete(entry.id, result);
    }
    if (!job->id.empty())
      result.job = job->id;
    std::printf("worker %s: job %s started (entry %s, input %s)\n", f_.name.c_str(),
                result.job.c_str(), entry.id.c_str(), job->input.c_str());
    keepup::analyze::RunReport report;
    int status = 0;
    bool lost = false;
    const auto staged =
        keepup::jobs::stage_outputs(keepup::jobs::run_args(*job, result.job), f_.name);
    {
      Heartbeat heartbeat(f_, timing_, entry.id);
      keepup::analyze::RunHooks hooks;
      hooks.handle_signals = false;
      hooks.abandon = [&heartbeat] { return g_stop || heartbeat.lost(); };
      status = keepup::analyze::run(staged.args, hooks, &report);
      lost = heartbeat.lost();
    }
    if (lost || report.abandoned) { // the files of an unfinished attempt are nobody's output
      for (const auto &file : staged.files)
        std::remove(file.staged.c_str());
    } else {
      for (const auto &file : staged.files) {
        if (file.staged == report.output)
          report.output = file.final_path;
        if (access(file.staged.c_str(), F_OK) == 0 &&
            std::rename(file.staged.c_str(), file.final_path.c_str()) != 0 && status == 0) {
          status = 1;
          report.error = std::string("moving ")
                             .append(file.staged)
                             .append(" to ")
                             .append(file.final_path)
                             .append(": ")
                             .append(std::strerror(errno));
        }
      }
    }
    if (lost) {
      std::printf("worker %s: job %s: lease lost (another worker has it); stopped, no result\n",
                  f_.name.c_str(), result.job.c_str());
      return false;
    }
    if (report.abandoned) {
      hand_back(entry.id, result.job);
      return false;
    }
    // 2: keepup-analyze refused the options (it printed which on the worker's stderr).
    result.status = status == 0 ? "ok" : status == 2 ? "error" : "failed";
    result.error = status == 0   ? ""
                   : status == 2 ? "keepup-analyze refused the job's options (the worker's log "
                                   "says which)"
                   : report.error.empty() ? "the run failed"
                                          : report.error;
    result.frames = report.frames;
    result.tracks = report.tracks;
    result.counts = report.line_counts;
    result.output = report.output;
    result.seconds = report.seconds;
    return complete(entry.id, result);
  }

  void hand_back(const std::string &entry, const std::string &job) {
    std::string error;
    const auto o = owned_action(link_, kHandBackTail, f_, entry, {}, {}, &error);
    if (o == keepup::jobs::Ownership::Owner)
      std::printf("worker %s: job %s handed back\n", f_.name.c_str(), job.c_str());
    else
      std::printf("worker %s: job %s not handed back (%s): another worker takes it after the "
                  "lease\n",
                  f_.name.c_str(), job.c_str(), o ? "no longer ours" : error.c_str());
  }

  bool complete(const std::string &entry, const keepup::jobs::Result &result) {
    std::vector<std::string> args;
    for (const auto &[k, v] : keepup::jobs::result_fields(result)) {
      args.push_back(k);
      args.push_back(v);
    }
    auto backoff = 250ms;
    for (;;) {
      std::string error;
      const auto o = owned_action(link_, kCompleteTail, f_, entry, {keepup::jobs::kResultsStream},
                                  args, &error);
      if (o) {
        if (*o == keepup::jobs::Ownership::Owner)
          std::printf("worker %s: job %s %s: %llu frames, %llu tracks%s%s\n", f_.name.c_str(),
                      result.job.c_str(), result.status.c_str(),
                      static_cast<unsigned long long>(result.frames),
                      static_cast<unsigned long long>(result.tracks),
                      result.error.empty() ? "" : ", ", result.error.c_str());
        else
          std::printf("worker %s: job %s: result dropped, %s\n", f_.name.c_str(),
                      result.job.c_str(),
                      *o == keepup::jobs::Ownership::Taken ? "another worker owns the job now"
                                                           : "the entry is no longer pending");
        return *o == keepup::jobs::Ownership::Owner;
      }
      std::fprintf(stderr, "keepup-analyze: worker %s: writing the result of %s: %s (retrying)\n",
                   f_.name.c_str(), result.job.c_str(), error.c_str());
      if (g_stop) {
        std::fprintf(stderr,
                     "keepup-analyze: worker %s: stopping without the result of %s: "
                     "another worker runs it again after the lease\n",
                     f_.name.c_str(), result.job.c_str());
        return false;
      }
      nap(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  }

  FleetOptions f_;
  keepup::jobs::LeaseTiming timing_;
  Link link_;
  keepup::jobs::ClaimOrder order_;
};

int work(FleetOptions f) {
  std::string error;
  const auto timing = keepup::jobs::lease_timing(f.lease_ms, &error);
  if (!timing)
    return usage_error(error);
  if (f.name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    f.name = std::string(host).append("-").append(std::to_string(getpid()));
  }
  struct sigaction sa = {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A write to a Redis that went away is an error to retry, not the end of the worker.
  signal(SIGPIPE, SIG_IGN);
  return Worker(std::move(f), *timing).run();
}

} // namespace

bool keepup::analyze::fleet_command(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--submit" || std::string_view(argv[i]) == "--worker")
      return true;
  return false;
}

int keepup::analyze::fleet_main(int argc, char **argv) {
  int status = 2;
  const auto f = parse_fleet(argc, argv, &status);
  if (!f)
    return status;
  return f->submit ? submit(*f) : work(*f);
}
