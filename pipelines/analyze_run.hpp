// SPDX-License-Identifier: LGPL-2.1-or-later
// One keepup-analyze run as a function, so the command line and a fleet worker's job take the
// very same code path (analyze.cpp), and the fleet modes --submit / --worker
// (analyze_worker.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keepup::analyze {

struct RunHooks {
  // The command line: SIGINT/SIGTERM end the input (EOS) and finish the recording. A worker
  // handles its signals itself and says so through `abandon`.
  bool handle_signals = true;
  // Polled every 100 ms while the pipeline runs: true stops it at once (no EOS wait; the
  // recording is finished as far as it got) and the run reports abandoned.
  std::function<bool()> abandon;
};

struct RunReport {
  bool abandoned = false;
  std::uint64_t frames = 0, tracks = 0;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> line_counts; // fwd, back
  std::string output; // the recording; empty when there is none
  std::string error;  // why the run failed (also printed on stderr)
  double seconds = 0;
};

// args as on the command line, without the program name ("test", "--seconds", "3", ...).
// Returns the exit status: 0 done, 1 failed, 2 bad options. gst_init must have run.
int run(const std::vector<std::string> &args, const RunHooks &hooks, RunReport *report);

// A command line split as keepup-analyze reads it: the input and the options around it.
struct Command {
  std::string input;
  std::vector<std::string> options;
};
// Checks args as run() would read them; nullopt after printing why on stderr.
std::optional<Command> check_command(const std::vector<std::string> &args);

// --submit / --worker: the fleet modes. fleet_command says whether argv asks for one.
bool fleet_command(int argc, char **argv);
int fleet_main(int argc, char **argv);

} // namespace keepup::analyze
