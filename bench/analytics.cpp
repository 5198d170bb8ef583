// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-analytics: the analytics chain end to end on a live 720p30 generated traffic
// scene (keepup-analyze test --live), with the stagelatency tracer on: output frame rate and
// each stage's time per frame, for yolodetect sync, interval=3 and async. The anchor is the
// input rate measured in the same run (the dropqueue right after the source).
//
//   keepup-bench-analytics [--seconds 20] [--analyze PATH]
#include <glib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct Stage {
  double mean_ms = 0, p95_ms = 0, fps = 0;
};

struct Result {
  bool ok = false;
  std::string error;
  std::map<std::string, Stage> stages; // by element name
  double dropped = 0;
};

Result run(const std::string &analyze, int seconds, const std::vector<std::string> &extra) {
  Result r;
  gchar *tmp = g_build_filename(g_get_tmp_dir(), "keepup-bench-analytics.jsonl", nullptr);
  const std::string trace = tmp;
  g_free(tmp);
  std::remove(trace.c_str());
  std::vector<std::string> args = {
      analyze, "test", "--live", "--seconds", std::to_string(seconds), "--output", "-", "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar **env = g_get_environ();
  env = g_environ_setenv(env, "GST_TRACERS",
                         ("stagelatency(interval=0,file=" + trace + ")").c_str(), TRUE);
  gchar *out = nullptr, *err = nullptr;
  gint status = 0;
  GError *error = nullptr;
  const bool spawned = g_spawn_sync(nullptr, argv.data(), env, G_SPAWN_DEFAULT, nullptr, nullptr,
                                    &out, &err, &status, &error);
  g_strfreev(env);
  if (!spawned || !g_spawn_check_wait_status(status, nullptr)) {
    r.error = error ? error->message : (err ? err : "failed");
    g_clear_error(&error);
    g_free(out);
    g_free(err);
    return r;
  }
  g_free(out);
  g_free(err);
  std::ifstream in(trace);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j.value("type", "") != "summary" || !j.value("final", false))
      continue;
    for (const auto &s : j["stages"]) {
      Stage st{s.value("mean_ms", 0.0), s.value("p95_ms", 0.0), s.value("fps", 0.0)};
      r.stages[s.value("element", std::string())] = st;
      if (s.contains("dropqueue"))
        r.dropped = s["dropqueue"].value("dropped", 0.0);
    }
    r.ok = true;
  }
  if (!r.ok)
    r.error = "no final tracer summary in " + trace;
  return r;
}

} // namespace

int main(int argc, char **argv) {
  int seconds = 20;
  std::string analyze = std::string(KEEPUP_BENCH_BIN_DIR) + "/keepup-analyze";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::max(5, std::atoi(argv[++i]));
    } else if (a == "--analyze" && i + 1 < argc) {
      analyze = argv[++i];
    } else {
      std::fprintf(stderr, "usage: keepup-bench-analytics [--seconds 20] [--analyze PATH]\n");
      return 2;
    }
  }
  struct Variant {
    std::string name;
    std::vector<std::string> args;
  };
  const std::vector<Variant> variants = {
      {"sync (interval=1)", {}}, {"interval=3", {"--interval", "3"}}, {"async", {"--async"}}};
  std::printf("live 1280x720 at 30 fps, generated traffic, keepup-traffic-320, %d s per run\n",
              seconds);
  std::printf("%-18s %7s %7s %8s %8s %10s %10s %10s %10s\n", "variant", "in fps", "out fps",
              "out/in", "dropped", "det ms", "det p95", "track ms", "overlay ms");
  double async_ratio = 0, overlay_worst = 0;
  for (const auto &v : variants) {
    const Result r = run(analyze, seconds, v.args);
    if (!r.ok) {
      std::printf("%-18s failed: %s\n", v.name.c_str(), r.error.c_str());
      continue;
    }
    auto stage = [&](const char *name) {
      auto it = r.stages.find(name);
      return it == r.stages.end() ? Stage{} : it->second;
    };
    const Stage dq = stage("dq"), det = stage("det"), track = stage("track"),
                overlay = stage("overlay");
    const double ratio = dq.fps > 0 ? overlay.fps / dq.fps : 0;
    if (v.name == "async")
      async_ratio = ratio;
    overlay_worst = std::max(overlay_worst, overlay.mean_ms);
    std::printf("%-18s %7.1f %7.1f %8.2f %8.0f %10.2f %10.2f %10.2f %10.2f\n", v.name.c_str(),
                dq.fps, overlay.fps, ratio, r.dropped, det.mean_ms, det.p95_ms, track.mean_ms,
                overlay.mean_ms);
    std::fflush(stdout);
  }
  std::printf("goal: 30 fps output with async on 2 cores: %.2f of the input rate -> %s\n",
              async_ratio, async_ratio >= 0.97 ? "met" : "not met");
  std::printf("goal: detectoverlay <= 2 ms per 720p frame: %.2f ms -> %s\n", overlay_worst,
              overlay_worst <= 2.0 ? "met" : "not met");
  return 0;
}
