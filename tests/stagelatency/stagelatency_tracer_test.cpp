// SPDX-License-Identifier: LGPL-2.1-or-later
// stagelatency tracer tests. A tracer is chosen before gst_init(), so this binary has its own
// main (the precedent of core's leaks tracer test): it sets GST_TRACERS with a JSON-lines file
// and a trace file in a fresh folder, then every test runs real pipelines and asserts on the
// numbers the tracer reports (get-stats) and on the events it writes.
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <functional>
#include <map>
#include <fstream>
#include <sys/wait.h>
#include <string>
#include <vector>

namespace {

std::string g_dir;
std::string jsonl() {
  return g_dir + "/run.jsonl";
}
std::string tracefile() {
  return g_dir + "/trace.json";
}

GstTracer *stagelatency() {
  GList *tracers = gst_tracing_get_active_tracers();
  GstTracer *found = nullptr;
  for (GList *l = tracers; l; l = l->next)
    if (!found && g_str_equal(G_OBJECT_TYPE_NAME(l->data), "GstStageLatencyTracer"))
      found = GST_TRACER(gst_object_ref(l->data));
  g_list_free_full(tracers, gst_object_unref);
  return found;
}

// The tracer's get-stats snapshot (caller frees).
GstStructure *all_stats() {
  GstTracer *tracer = stagelatency();
  EXPECT_NE(tracer, nullptr);
  GstStructure *all = nullptr;
  g_signal_emit_by_name(tracer, "get-stats", &all);
  gst_object_unref(tracer);
  return all;
}

// The stage entries of a snapshot, in its order (slowest first).
std::vector<const GstStructure *> stage_list(const GstStructure *all) {
  std::vector<const GstStructure *> out;
  const GValue *list = gst_structure_get_value(all, "stages");
  for (guint i = 0; list && i < gst_value_list_get_size(list); ++i)
    out.push_back(gst_value_get_structure(gst_value_list_get_value(list, i)));
  return out;
}

// The get-stats entry of one element (caller frees), or nullptr.
GstStructure *stage_stats(const std::string &element) {
  GstStructure *all = all_stats();
  GstStructure *found = nullptr;
  for (const GstStructure *s : stage_list(all))
    if (element == gst_structure_get_string(s, "element"))
      found = gst_structure_copy(s);
  gst_structure_free(all);
  return found;
}

double ms(const GstStructure *s, const char *field) {
  guint64 v = 0;
  EXPECT_TRUE(gst_structure_get_uint64(s, field, &v)) << field;
  return static_cast<double>(v) / 1e6;
}

// Runs a launch line to EOS and to NULL (which writes the final summary and trace file).
// `setup` runs on the pipeline before it starts; `feed` right after it starts.
void run(const std::string &desc, const std::function<void(GstElement *)> &setup = {},
         const std::function<void(GstElement *)> &feed = {}) {
  GError *error = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &error);
  ASSERT_EQ(error, nullptr) << error->message;
  if (setup)
    setup(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  if (feed)
    feed(p);
  GstBus *bus = gst_element_get_bus(p);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 120 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(m, nullptr) << "timeout: " << desc;
  EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS) << desc;
  gst_message_unref(m);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
}

std::vector<nlohmann::json> events(const std::string &type) {
  std::vector<nlohmann::json> out;
  std::ifstream f(jsonl());
  std::string line;
  while (std::getline(f, line)) {
    nlohmann::json j = nlohmann::json::parse(line); // throws (fails the test) if not JSON
    if (j.value("type", "") == type)
      out.push_back(j);
  }
  return out;
}

std::vector<nlohmann::json> gaps_with_prefix(const std::string &prefix) {
  std::vector<nlohmann::json> out;
  for (auto &g : events("gap"))
    if (g["pad"].get<std::string>().rfind(prefix, 0) == 0)
      out.push_back(g);
  return out;
}

// Runs gst-launch-1.0 in a child process with its own GST_TRACERS (a tracer is chosen at
// gst_init, so tracer settings other than this binary's need a process of their own).
// Returns the exit status (-1 when it did not exit normally) and its stderr.
// `extra_env` adds variables (LC_ALL, LOCPATH) to the child's environment.
int launch_with_tracers(const std::string &tracers, const std::string &pipeline, std::string &err,
                        const std::vector<std::pair<std::string, std::string>> &extra_env = {}) {
  gchar **env = g_get_environ();
  env = g_environ_setenv(env, "GST_TRACERS", tracers.c_str(), TRUE);
  for (const auto &[name, value] : extra_env)
    env = g_environ_setenv(env, name.c_str(), value.c_str(), TRUE);
  env = g_environ_setenv(env, "G_DEBUG", "fatal_warnings", TRUE);
  gchar **argv = nullptr;
  GError *error = nullptr;
  const std::string cmd = "gst-launch-1.0 -q --no-fault " + pipeline; // a crash exits
  if (!g_shell_parse_argv(cmd.c_str(), nullptr, &argv, &error)) {
    ADD_FAILURE() << error->message;
    g_clear_error(&error);
    g_strfreev(env);
    return -1;
  }
  gchar *out = nullptr, *errtext = nullptr;
  gint status = 0;
  const gboolean ran = g_spawn_sync(nullptr, argv, env, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out,
                                    &errtext, &status, &error);
  g_strfreev(argv);
  g_strfreev(env);
  if (!ran) {
    ADD_FAILURE() << error->message;
    g_clear_error(&error);
    return -1;
  }
  err = errtext ? errtext : "";
  g_free(out);
  g_free(errtext);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::vector<nlohmann::json> events_in(const std::string &path, const std::string &type) {
  std::vector<nlohmann::json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.value("type", "") == type)
      out.push_back(j);
  }
  return out;
}

// Buffers the final summary in a JSON-lines file reports for `element` (0 when absent).
uint64_t final_buffers(const std::string &path, const std::string &element) {
  uint64_t n = 0;
  for (auto &s : events_in(path, "summary"))
    if (s["final"].get<bool>())
      for (auto &st : s["stages"])
        if (st["element"] == element)
          n = st["buffers"].get<uint64_t>();
  return n;
}

} // namespace

TEST(StageLatency, ExclusiveTimesOfTwoSleepyStagesAndTheSlowestFirst) {
  run("videotestsrc num-buffers=40 ! video/x-raw,width=64,height=64 ! "
      "identity name=a_slow sleep-time=20000 ! identity name=a_fast sleep-time=5000 ! "
      "fakesink name=a_sink");
  GstStructure *slow = stage_stats("a_slow");
  GstStructure *fast = stage_stats("a_fast");
  ASSERT_NE(slow, nullptr);
  ASSERT_NE(fast, nullptr);
  EXPECT_NEAR(ms(slow, "p50-ns"), 20.0, 5.0);
  EXPECT_NEAR(ms(fast, "p50-ns"), 5.0, 1.25);
  guint64 n = 0;
  gst_structure_get_uint64(slow, "buffers", &n);
  EXPECT_EQ(n, 40u);
  // Slowest first: among this pipeline's stages a_slow leads the list.
  GstStructure *all = all_stats();
  std::string first_of_ours;
  for (const GstStructure *s : stage_list(all)) {
    const std::string name = gst_structure_get_string(s, "element");
    if (first_of_ours.empty() && name.rfind("a_", 0) == 0)
      first_of_ours = name;
  }
  EXPECT_EQ(first_of_ours, "a_slow");
  gst_structure_free(all);
  gst_structure_free(slow);
  gst_structure_free(fast);
}

TEST(StageLatency, QueueTimeIsResidenceNotProcessing) {
  run("videotestsrc num-buffers=30 is-live=true ! video/x-raw,width=64,height=64 ! "
      "queue name=b_q ! identity name=b_slow sleep-time=50000 ! fakesink name=b_sink");
  GstStructure *q = stage_stats("b_q");
  GstStructure *slow = stage_stats("b_slow");
  ASSERT_NE(q, nullptr);
  ASSERT_NE(slow, nullptr);
  EXPECT_STREQ(gst_structure_get_string(q, "kind"), "queue");
  EXPECT_LT(ms(q, "p50-ns"), 5.0) << "the queue's own work is tiny";
  EXPECT_GT(ms(q, "residence-p95-ns"), 100.0) << "buffers wait behind a 50 ms consumer";
  EXPECT_NEAR(ms(slow, "p50-ns"), 50.0, 12.5) << "the slow element keeps its own time";
  gst_structure_free(q);
  gst_structure_free(slow);
}

TEST(StageLatency, EncoderWithDelayIsNotChargedForDownstream) {
  // x264enc holds frames (lookahead) and pushes several at once into a 10 ms stage.
  run("videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240 ! "
      "x264enc name=c_enc speed-preset=ultrafast rc-lookahead=20 threads=1 ! "
      "identity name=c_after sleep-time=10000 ! fakesink name=c_sink");
  GstStructure *enc = stage_stats("c_enc");
  GstStructure *after = stage_stats("c_after");
  ASSERT_NE(enc, nullptr);
  ASSERT_NE(after, nullptr);
  EXPECT_NEAR(ms(after, "p50-ns"), 10.0, 2.5);
  EXPECT_LT(ms(enc, "p95-ns"), 8.0) << "10 ms per pushed frame would show here if counted";
  gst_structure_free(enc);
  gst_structure_free(after);
}

TEST(StageLatency, OneStallGivesExactlyOneGapAtTheRightPad) {
  static int seen = 0;
  seen = 0;
  run("videotestsrc num-buffers=20 ! video/x-raw,width=64,height=64 ! "
      "identity name=d_block signal-handoffs=true ! identity name=d_next ! fakesink name=d_sink",
      [](GstElement *p) {
        GstElement *block = gst_bin_get_by_name(GST_BIN(p), "d_block");
        g_signal_connect(block, "handoff", G_CALLBACK(+[](GstElement *, GstBuffer *, gpointer) {
                           if (++seen == 10)
                             g_usleep(1500 * 1000); // the stall this test is about
                         }),
                         nullptr);
        gst_object_unref(block);
      });

  const auto gaps = gaps_with_prefix("d_");
  ASSERT_EQ(gaps.size(), 1u) << "one stall, one GAP line";
  const double t = gaps[0]["t"].get<double>();
  EXPECT_GT(t, 1.4) << "seconds since the tracer started, after the 1.5 s stall";
  EXPECT_LT(t, 60.0);
  EXPECT_EQ(gaps[0]["pad"], "d_next:sink");
  EXPECT_GE(gaps[0]["gap_s"].get<double>(), 1.4);
  ASSERT_FALSE(gaps[0]["stages"].empty());
  EXPECT_EQ(gaps[0]["stages"][0]["element"], "d_block");
  EXPECT_EQ(gaps[0]["stages"][0]["kind"], "processing");
  EXPECT_GE(gaps[0]["stages"][0]["s"].get<double>(), 1.4);
}

TEST(StageLatency, AStalledLiveSourceIsUpstreamIdle) {
  run("appsrc name=e_src is-live=true format=time "
      "caps=video/x-raw,format=GRAY8,width=8,height=8,framerate=30/1 ! "
      "identity name=e_id ! fakesink name=e_sink",
      {}, [](GstElement *p) {
        GstElement *src = gst_bin_get_by_name(GST_BIN(p), "e_src");
        for (int i = 0; i < 10; ++i) {
          if (i == 5)
            g_usleep(1500 * 1000); // the source has nothing to give for 1.5 s
          GstBuffer *b = gst_buffer_new_allocate(nullptr, 64, nullptr);
          GST_BUFFER_PTS(b) = i * GST_SECOND / 30;
          gst_app_src_push_buffer(GST_APP_SRC(src), b);
          g_usleep(5 * 1000);
        }
        gst_app_src_end_of_stream(GST_APP_SRC(src));
        gst_object_unref(src);
      });

  const auto gaps = gaps_with_prefix("e_");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]["pad"], "e_id:sink");
  EXPECT_GE(gaps[0]["idle_s"].get<double>(), 1.4);
  EXPECT_EQ(gaps[0]["src"], "e_src");
}

TEST(StageLatency, SlowAndCriticalLinesNameTheElementOncePerSecond) {
  run("videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64 ! "
      "identity name=f_slow sleep-time=20000 ! identity name=f_crit sleep-time=80000 ! "
      "fakesink");
  int slow = 0, crit = 0;
  for (auto &e : events("slow"))
    slow += e["element"] == "f_slow";
  for (auto &e : events("critical"))
    crit += e["element"] == "f_crit";
  EXPECT_EQ(slow, 1) << "10 slow buffers within a second: one line";
  EXPECT_EQ(crit, 1);
  for (auto &e : events("slow"))
    EXPECT_NE(e["element"], "f_crit") << "over critical-ms is CRITICAL, not SLOW";
}

TEST(StageLatency, TelemetryBreaksDownTheFirstFramesAtEachSink) {
  run("videotestsrc num-buffers=10 ! video/x-raw,width=64,height=64 ! "
      "identity name=j_work sleep-time=10000 ! fakesink name=j_sink");
  std::vector<std::string> lines;
  for (auto &e : events("telemetry")) {
    const std::string line = e["line"];
    if (line.find(" at j_sink:") != std::string::npos)
      lines.push_back(line);
  }
  // The first buffer has no predecessor to measure from: frames 2..4 (telemetry-frames=3).
  ASSERT_EQ(lines.size(), 3u);
  for (const auto &line : lines) {
    EXPECT_NE(line.find("[TELEMETRY] Frame"), std::string::npos) << line;
    EXPECT_NE(line.find("j_work="), std::string::npos) << line;
    EXPECT_NE(line.find("TOTAL="), std::string::npos) << line;
  }
}

TEST(StageLatency, MemoryLimitWarnsOnce) {
  // The tracer samples RSS every second: run a little over two seconds.
  run("videotestsrc is-live=true num-buffers=70 ! video/x-raw,width=64,height=64 ! fakesink");
  const auto warnings = events("memory-warning");
  ASSERT_EQ(warnings.size(), 1u) << "over memory-limit-mb=1: warned once, not every second";
  EXPECT_EQ(warnings[0]["reason"], "limit");
  EXPECT_GT(warnings[0]["rss_mb"].get<double>(), 1.0);
  EXPECT_GE(events("memory").size(), 2u) << "RSS sampled every second";
}

TEST(StageLatency, GetStatsHasTheDocumentedFields) {
  run("videotestsrc num-buffers=5 ! identity name=g_id ! fakesink");
  GstStructure *s = stage_stats("g_id");
  ASSERT_NE(s, nullptr);
  for (const char *f : {"buffers", "total-ns", "mean-ns", "p50-ns", "p95-ns", "p99-ns", "max-ns",
                        "residence-p50-ns", "residence-p95-ns", "max-gap-ns", "gaps"})
    EXPECT_TRUE(gst_structure_has_field_typed(s, f, G_TYPE_UINT64)) << f;
  EXPECT_TRUE(gst_structure_has_field_typed(s, "fps", G_TYPE_DOUBLE));
  EXPECT_STREQ(gst_structure_get_string(s, "kind"), "processing");
  gst_structure_free(s);
  GstStructure *all = all_stats();
  EXPECT_TRUE(gst_structure_has_name(all, "stagelatency-stats"));
  for (const char *f : {"rss-mb", "peak-rss-mb", "growth-mb-per-min"})
    EXPECT_TRUE(gst_structure_has_field_typed(all, f, G_TYPE_DOUBLE)) << f;
  gst_structure_free(all);
}

TEST(StageLatency, FilesParseAsJsonLinesAndChromeTrace) {
  run("videotestsrc num-buffers=20 ! identity name=h_id ! fakesink");
  const auto summaries = events("summary"); // every line parsed as JSON on the way
  ASSERT_FALSE(summaries.empty());
  const auto &last = summaries.back();
  EXPECT_TRUE(last["final"].get<bool>());
  bool found = false;
  for (auto &st : last["stages"])
    found |= st["element"] == "h_id" && st["buffers"] == 20;
  EXPECT_TRUE(found);
  std::ifstream f(tracefile());
  const nlohmann::json trace = nlohmann::json::parse(f);
  ASSERT_TRUE(trace["traceEvents"].is_array());
  int h_events = 0;
  const double wall_us = last["t"].get<double>() * 1e6;
  for (auto &e : trace["traceEvents"]) {
    ASSERT_EQ(e["ph"], "X");
    ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number() && e["tid"].is_number());
    // Same time base as the JSON lines: microseconds since the tracer started.
    ASSERT_GE(e["ts"].get<double>(), 0.0);
    ASSERT_LE(e["ts"].get<double>(), wall_us);
    h_events += e["name"] == "h_id";
  }
  EXPECT_EQ(h_events, 20);
}

TEST(StageLatency, HtmlReportIsProduced) {
  run("videotestsrc num-buffers=20 ! identity name=i_id sleep-time=2000 ! fakesink");
  const char *build = std::getenv("KEEPUP_BUILD_DIR");
  ASSERT_NE(build, nullptr);
  const std::string out = g_dir + "/report.html";
  const std::string cmd = std::string(build) + "/bin/keepup-trace-report " + jsonl() + " -o " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream f(out);
  const std::string html((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("i_id"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos) << "self-contained: no network";
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(std::system((std::string(build) + "/bin/keepup-trace-report /nonexistent.jsonl -o " +
                         g_dir + "/x.html 2>/dev/null")
                            .c_str()),
            0)
      << "a missing input is an error";
}

TEST(StageLatency, TwoInstancesEachKeepTheirOwnState) {
  const std::string a = g_dir + "/two-a.jsonl", b = g_dir + "/two-b.jsonl";
  std::string err;
  const int rc =
      launch_with_tracers("stagelatency(file=" + a + ");stagelatency(file=" + b + ",slow-ms=1000)",
                          "videotestsrc num-buffers=30 ! identity name=two_id ! fakesink", err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_EQ(final_buffers(a, "two_id"), 30u) << err;
  EXPECT_EQ(final_buffers(b, "two_id"), 30u) << err;
}

TEST(StageLatency, AnInvalidValueIsReportedAndTheDefaultKept) {
  const std::string f = g_dir + "/invalid.jsonl";
  std::string err;
  const int rc = launch_with_tracers("stagelatency(slow-ms=abc,interval=-1,file=" + f + ")",
                                     "videotestsrc num-buffers=20 ! identity name=inv_id ! "
                                     "fakesink",
                                     err);
  EXPECT_EQ(rc, 0) << err;
  EXPECT_NE(err.find("slow-ms"), std::string::npos) << err;
  EXPECT_NE(err.find("'abc'"), std::string::npos) << err;
  EXPECT_NE(err.find("interval"), std::string::npos) << err;
  EXPECT_EQ(final_buffers(f, "inv_id"), 20u);
  // The default slow-ms (50) kept: a pass-through identity is never SLOW.
  for (auto &e : events_in(f, "slow"))
    EXPECT_NE(e["element"], "inv_id") << "slow-ms=abc must not become 0";
}

// gst-launch-1.0 calls setlocale(LC_ALL, ""): under a comma-decimal locale every file the
// tracer writes must still be JSON (numbers written with printf or std::to_string(double)
// became "t":0,183148), and keepup-trace-report must read them. The locale is compiled into
// a folder of the test's own (LOCPATH), so no system locale has to be installed.
TEST(StageLatency, OutputIsJsonUnderACommaDecimalLocale) {
  const std::string locales = g_dir + "/locales";
  g_mkdir_with_parents(locales.c_str(), 0700);
  gchar *localedef = g_find_program_in_path("localedef");
  if (!localedef)
    GTEST_SKIP() << "no localedef (package libc-bin/locales) to build de_DE.UTF-8";
  gchar *def_out = nullptr, *def_err = nullptr;
  gint def_status = 0;
  const std::string def_dir = locales + "/de_DE.UTF-8";
  const gchar *def_argv[] = {localedef, "-i", "de_DE", "-f", "UTF-8", def_dir.c_str(), nullptr};
  const gboolean def_ran =
      g_spawn_sync(nullptr, const_cast<gchar **>(def_argv), nullptr, G_SPAWN_DEFAULT, nullptr,
                   nullptr, &def_out, &def_err, &def_status, nullptr);
  const std::string def_message = def_err ? def_err : "";
  g_free(localedef);
  g_free(def_out);
  g_free(def_err);
  if (!def_ran || !g_file_test((def_dir + "/LC_NUMERIC").c_str(), G_FILE_TEST_EXISTS))
    GTEST_SKIP() << "localedef could not build de_DE.UTF-8 (no de_DE source in "
                    "/usr/share/i18n/locales?): "
                 << def_message;

  const std::string f = g_dir + "/de.jsonl", trace = g_dir + "/de-trace.json";
  std::string err;
  const int rc = launch_with_tracers(
      "stagelatency(slow-ms=3,critical-ms=30,gap-ms=20,interval=1,telemetry-frames=2,"
      "memory-limit-mb=1,file=" +
          f + ",trace-file=" + trace + ")",
      "videotestsrc is-live=true num-buffers=45 ! video/x-raw,width=64,height=48,framerate=30/1 ! "
      "identity name=loc_work sleep-time=4000 ! dropqueue name=loc_dq max-size-buffers=2 ! "
      "identity name=loc_late sleep-time=40000 ! fakesink name=loc_sink",
      err, {{"LOCPATH", locales}, {"LC_ALL", "de_DE.UTF-8"}});
  ASSERT_EQ(rc, 0) << err;
  // The locale really applied: the human table on stderr uses decimal commas.
  EXPECT_NE(err.find("summary after 1,"), std::string::npos) << err;

  std::ifstream in(f);
  std::string line;
  std::map<std::string, int> types;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << f << ":" << lineno << ": " << line;
    ASSERT_TRUE(j.is_object()) << line;
    ++types[j.value("type", "")];
    if (j.contains("t")) {
      EXPECT_TRUE(j["t"].is_number()) << line;
    }
  }
  for (const char *type :
       {"slow", "critical", "gap", "memory", "memory-warning", "drops", "summary", "telemetry"})
    EXPECT_GT(types[type], 0) << "no " << type << " line in " << f;
  for (auto &s : events_in(f, "summary"))
    for (auto &st : s["stages"])
      if (st["element"] == "loc_work") {
        EXPECT_TRUE(st["mean_ms"].is_number_float());
        EXPECT_GT(st["mean_ms"].get<double>(), 3.0) << "4 ms per buffer, not 4 ms read as 4,0";
      }

  std::ifstream tf(trace);
  nlohmann::json chrome;
  ASSERT_NO_THROW(chrome = nlohmann::json::parse(tf)) << trace;
  ASSERT_TRUE(chrome["traceEvents"].is_array());
  EXPECT_FALSE(chrome["traceEvents"].empty());
  for (auto &e : chrome["traceEvents"])
    ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number()) << e.dump();

  // keepup-trace-report reads every line (it reports skipped lines on stderr).
  const std::string report = std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/keepup-trace-report";
  const std::string html = g_dir + "/de.html";
  const gchar *argv_report[] = {report.c_str(), f.c_str(), "-o", html.c_str(), nullptr};
  gchar *r_out = nullptr, *r_err = nullptr;
  gint r_status = 0;
  ASSERT_TRUE(g_spawn_sync(nullptr, const_cast<gchar **>(argv_report), nullptr, G_SPAWN_DEFAULT,
                           nullptr, nullptr, &r_out, &r_err, &r_status, nullptr));
  const std::string report_err = r_err ? r_err : "";
  g_free(r_out);
  g_free(r_err);
  EXPECT_TRUE(WIFEXITED(r_status) && WEXITSTATUS(r_status) == 0) << report_err;
  EXPECT_EQ(report_err.find("skipped"), std::string::npos) << report_err;
}

int main(int argc, char **argv) {
  char tmpl[] = "/tmp/keepup-tracer-XXXXXX";
  g_dir = mkdtemp(tmpl);
  // memory-limit-mb=1: any process is over it, so the warning path is exercised.
  const std::string tracers = "stagelatency(slow-ms=15,critical-ms=60,gap-ms=1000,"
                              "telemetry-frames=3,memory-limit-mb=1,file=" +
                              jsonl() + ",trace-file=" + tracefile() + ")";
  g_setenv("GST_TRACERS", tracers.c_str(), TRUE);
  g_setenv("GST_PLUGIN_PATH_1_0", KEEPUP_TEST_PLUGIN_DIR, TRUE);
  g_setenv("GST_PLUGIN_SYSTEM_PATH_1_0", KEEPUP_TEST_SYSTEM_PLUGIN_DIR, TRUE);
  g_setenv("GST_REGISTRY_1_0", KEEPUP_TEST_REGISTRY, TRUE);
  g_setenv("KEEPUP_BUILD_DIR", KEEPUP_TEST_BUILD_DIR, TRUE);
  g_log_set_always_fatal(
      static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
  ::testing::InitGoogleTest(&argc, argv);
  gst_init(&argc, &argv);
  const int rc = RUN_ALL_TESTS();
  std::system(("rm -rf '" + g_dir + "'").c_str());
  return rc;
}
