// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-tracer: what tracing costs.
//  1. micro: fakesrc num-buffers=N sizetype=fixed sizemax=64 ! identity x10 ! fakesink, with no
//     tracer (the anchor), stagelatency, and core latency(flags=pipeline+element); rounds
//     alternate the order. Wall and CPU seconds per run, ratios against the anchor.
//  2. live: a live 1080p30 x264enc (ultrafast) pipeline for --live-frames frames without and
//     with stagelatency: the CPU the tracer adds, in percent.
// Each run is a gst-launch-1.0 child process (tracers are chosen at gst_init).
//
//   keepup-bench-tracer [--buffers 1500000] [--rounds 2] [--live-frames 600] [--skip-live]
#include <algorithm>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <spawn.h>
#include <string>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <vector>

extern char **environ;

namespace {

struct Run {
  double wall = 0, cpu = 0;
};

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs gst-launch-1.0 with the given tracers ("" = none); false if it failed.
bool launch(const std::string &tracers, const std::vector<std::string> &pipeline, Run &r) {
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    if (std::string(*e).rfind("GST_TRACERS=", 0) != 0 &&
        std::string(*e).rfind("GST_DEBUG=", 0) != 0)
      env.emplace_back(*e);
  if (!tracers.empty())
    env.push_back("GST_TRACERS=" + tracers);
  if (tracers.find("latency(") == 0)
    env.push_back("GST_DEBUG=GST_TRACER:7"); // core latency logs through the debug system
  std::vector<char *> envp;
  for (auto &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {"gst-launch-1.0", "-q"};
  args.insert(args.end(), pipeline.begin(), pipeline.end());
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const double t0 = now_s();
  if (posix_spawnp(&pid, "gst-launch-1.0", &fa, nullptr, argv.data(), envp.data()) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return false;
  }
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  r.wall = now_s() - t0;
  r.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t sp = s.find(' ', pos);
    out.push_back(s.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
    if (sp == std::string::npos)
      break;
    pos = sp + 1;
  }
  return out;
}

} // namespace

int main(int argc, char **argv) {
  long buffers = 1500000, live_frames = 600;
  int rounds = 2;
  bool live = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--buffers" && i + 1 < argc)
      buffers = std::atol(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc)
      rounds = std::atoi(argv[++i]);
    else if (a == "--live-frames" && i + 1 < argc)
      live_frames = std::atol(argv[++i]);
    else if (a == "--skip-live")
      live = false;
    else {
      std::fprintf(stderr,
                   "usage: %s [--buffers 1500000] [--rounds 2] [--live-frames 600] [--skip-live]\n",
                   argv[0]);
      return 2;
    }
  }
  if (buffers <= 0 || rounds < 1 || live_frames <= 0) {
    std::fprintf(stderr, "need positive --buffers, --rounds and --live-frames\n");
    return 2;
  }
  std::string micro =
      "fakesrc num-buffers=" + std::to_string(buffers) + " sizetype=fixed sizemax=64 !";
  for (int i = 0; i < 10; ++i)
    micro += " identity !";
  micro += " fakesink";
  // The do-nothing tracer (bench/noop_tracer.cpp) lives next to the build's plugins.
  if (const char *path = std::getenv("GST_PLUGIN_PATH"))
    setenv("GST_PLUGIN_PATH", (std::string(path) + ":" + KEEPUP_BENCH_PLUGIN_DIR).c_str(), 1);
  else
    setenv("GST_PLUGIN_PATH", KEEPUP_BENCH_PLUGIN_DIR, 1);
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"none", ""},
      {"noop-hooks", "keepupnoop"},
      {"stagelatency", "stagelatency"},
      {"latency", "latency(flags=pipeline+element)"},
  };
  std::printf("tracer benchmark: %s\n%d round(s), order alternating\n", micro.c_str(), rounds);
  std::fflush(stdout);
  std::map<std::string, Run> sum;
  for (int round = 0; round < rounds; ++round) {
    auto order = variants;
    if (round % 2)
      std::reverse(order.begin(), order.end());
    for (const auto &[name, tracers] : order) {
      std::fprintf(stderr, "  %s (round %d)...\n", name.c_str(), round + 1);
      Run r;
      if (!launch(tracers, split(micro), r)) {
        std::fprintf(stderr, "%s failed\n", name.c_str());
        return 1;
      }
      sum[name].wall += r.wall;
      sum[name].cpu += r.cpu;
    }
  }
  const Run &anchor = sum["none"];
  std::printf("\n%-14s %9s %9s %11s %10s\n", "tracer", "wall s", "cpu s", "wall/none", "cpu/none");
  for (const auto &[name, tracers] : variants) {
    const Run &r = sum[name];
    std::printf("%-14s %9.2f %9.2f %11.2f %10.2f\n", name.c_str(), r.wall / rounds, r.cpu / rounds,
                r.wall / anchor.wall, r.cpu / anchor.cpu);
  }
  const double ratio = sum["stagelatency"].wall / anchor.wall;
  const double floor = sum["noop-hooks"].wall / anchor.wall;
  std::printf("\ngoal: stagelatency <= 2x no tracer (wall): %.2fx -> %s\n", ratio,
              ratio <= 2.0 ? "met" : "NOT met");
  std::printf("      GStreamer's own dispatch of the same hooks (do-nothing tracer): %.2fx;\n"
              "      stagelatency's own work on top of it: %.2fx of the untraced run\n",
              floor, ratio - floor);
  std::printf("      core latency tracer for comparison: %.2fx\n",
              sum["latency"].wall / anchor.wall);

  if (live) {
    const std::string pipeline =
        "videotestsrc is-live=true num-buffers=" + std::to_string(live_frames) +
        " ! video/x-raw,width=1920,height=1080,framerate=30/1 ! x264enc speed-preset=ultrafast "
        "tune=zerolatency ! fakesink";
    std::printf("\nlive: %s\n", pipeline.c_str());
    std::fflush(stdout);
    Run none, traced;
    for (int round = 0; round < rounds; ++round) {
      Run a, b;
      const bool first_none = round % 2 == 0;
      if (!launch(first_none ? "" : "stagelatency", split(pipeline), first_none ? a : b) ||
          !launch(first_none ? "stagelatency" : "", split(pipeline), first_none ? b : a)) {
        std::fprintf(stderr, "live run failed\n");
        return 1;
      }
      none.cpu += a.cpu;
      traced.cpu += b.cpu;
    }
    const double overhead = (traced.cpu / none.cpu - 1) * 100;
    std::printf("%-14s %9s %9.2f\n%-14s %9s %9.2f\n", "none", "", none.cpu / rounds, "stagelatency",
                "", traced.cpu / rounds);
    std::printf("goal: CPU overhead <= 2 %%: %+.1f %% -> %s\n", overhead,
                overhead <= 2.0 ? "met" : "NOT met");
  }
  return 0;
}
