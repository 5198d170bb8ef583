// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-analyze as a child process (plugins from the build tree through the test's
// environment), and the frame count of a recording it wrote: shared by the analyze tests and
// the fleet (--submit / --worker) tests.
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace keepup::test {

struct AppRun {
  int status = -1;
  std::string out, err;
};

using Env = std::vector<std::pair<std::string, std::string>>;

// Runs a program to its end with this process's environment plus `env`.
inline AppRun run_program(const std::vector<std::string> &argv_s, const Env &env = {}) {
  std::vector<std::string> args = argv_s;
  std::vector<gchar *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gchar **envp = g_get_environ();
  for (const auto &[name, value] : env)
    envp = g_environ_setenv(envp, name.c_str(), value.c_str(), TRUE);
  AppRun r;
  gchar *out = nullptr, *err = nullptr;
  GError *error = nullptr;
  const bool spawned = g_spawn_sync(nullptr, argv.data(), envp, G_SPAWN_SEARCH_PATH, nullptr,
                                    nullptr, &out, &err, &r.status, &error);
  g_strfreev(envp);
  if (!spawned) {
    r.err = error ? error->message : "spawn failed";
    g_clear_error(&error);
    return r;
  }
  r.out = out ? out : "";
  r.err = err ? err : "";
  g_free(out);
  g_free(err);
  return r;
}

inline std::string analyze_binary() {
  return std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/keepup-analyze";
}

inline AppRun analyze(const std::vector<std::string> &args, const Env &env = {}) {
  std::vector<std::string> argv_s = {analyze_binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  return run_program(argv_s, env);
}

inline bool exited_ok(const AppRun &r) {
  return g_spawn_check_wait_status(r.status, nullptr);
}
inline int exit_code(const AppRun &r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// Frames a keepup-analyze recording (H.264 in MPEG-TS) decodes to; a decode error fails the
// calling test.
inline int decoded_frames(const std::string &ts) {
  GstElement *p = gst_parse_launch(("filesrc location=" + ts +
                                    " ! tsdemux ! h264parse ! avdec_h264 ! fakesink name=sink "
                                    "signal-handoffs=true")
                                       .c_str(),
                                   nullptr);
  std::string error;
  const int frames = count_handoffs_to_eos(p, error);
  gst_object_unref(p);
  EXPECT_EQ(error, "") << ts;
  return frames;
}

} // namespace keepup::test
