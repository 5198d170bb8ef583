// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-analyze as users run it (a child process, plugins from the build tree): a playable
// recording and valid JSON lines, clear failures, and the quality of the whole chain on the
// generated traffic scene against its ground truth.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <glib/gstdio.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "analyze_process.hpp"
#include "mot_metrics.hpp"
#include "test_util.hpp"
#include "track_jsonl.hpp"

using namespace keepup::test;

namespace {

keepup::track::MotResult evaluate_run(const ScratchDir &dir,
                                      const std::vector<std::string> &extra) {
  std::vector<std::string> args = {"test",   "--seconds",     "15",   "--output",    "-", "--quiet",
                                   "--meta", dir / "t.jsonl", "--gt", dir / "gt.txt"};
  args.insert(args.end(), extra.begin(), extra.end());
  const AppRun r = analyze(args);
  EXPECT_TRUE(exited_ok(r)) << r.err;
  const auto result = keepup::track::evaluate(
      keepup::track::parse_mot_gt(read_text_file(dir / "gt.txt")),
      keepup::track::parse_track_jsonl(read_text_file(dir / "t.jsonl")), 0.5, true);
  std::printf("%s: frames %lld MOTA %.3f IDF1 %.3f ID switches %lld, speed error %.2f %% (%lld)\n",
              extra.empty() ? "defaults" : extra[0].c_str(), static_cast<long long>(result.frames),
              result.mota, result.idf1, static_cast<long long>(result.id_switches),
              result.speed_median_abs_error_pct, static_cast<long long>(result.speed_samples));
  return result;
}

// A locale compiled into a scratch folder (no root needed): used with LOCPATH=<path>.
struct LocaleDir {
  std::string path;
  ~LocaleDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace

TEST(Analyze, TestInputGivesAPlayableRecordingAndJsonLines) {
  ScratchDir dir;
  const AppRun r =
      analyze({"test", "--seconds", "3", "--output", dir / "out.ts", "--meta", dir / "out.jsonl"});
  ASSERT_TRUE(exited_ok(r)) << r.err;
  EXPECT_NE(r.out.find("frames"), std::string::npos) << "a progress line or the summary";
  EXPECT_NE(r.out.find("summary"), std::string::npos);
  EXPECT_EQ(decoded_frames(dir / "out.ts"), 90);
  std::istringstream lines(read_text_file(dir / "out.jsonl"));
  std::string line;
  int count = 0, with_objects = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line); // throws on bad JSON
    ASSERT_TRUE(j.contains("pts") && j.contains("frame") && j.contains("objects"));
    EXPECT_EQ(j["frame"].get<int>(), count + 1);
    for (const auto &o : j["objects"]) {
      EXPECT_TRUE(o.contains("id") && o.contains("label") && o.contains("box"));
      EXPECT_EQ(o["box"].size(), 4U);
    }
    with_objects += j["objects"].empty() ? 0 : 1;
    ++count;
  }
  EXPECT_EQ(count, 90);
  EXPECT_GT(with_objects, 80);
}

// --meta: every speed comes with its uncertainty (objecttrack's speed-uncertainty-kmh, read
// through the analytics contract), and neither appears without the other.
TEST(Analyze, MetaLinesCarryTheSpeedUncertainty) {
  ScratchDir dir;
  const AppRun r =
      analyze({"test", "--seconds", "3", "--output", "-", "--quiet", "--meta", dir / "t.jsonl"});
  ASSERT_TRUE(exited_ok(r)) << r.err;
  std::istringstream lines(read_text_file(dir / "t.jsonl"));
  std::string line;
  int speeds = 0, positive = 0;
  while (std::getline(lines, line)) {
    const auto j = nlohmann::json::parse(line);
    for (const auto &o : j["objects"]) {
      ASSERT_EQ(o.contains("speed_kmh"), o.contains("speed_uncertainty_kmh")) << line;
      if (!o.contains("speed_kmh"))
        continue;
      ASSERT_TRUE(o["speed_uncertainty_kmh"].is_number()) << line;
      const double u = o["speed_uncertainty_kmh"].get<double>();
      EXPECT_GE(u, 0.0) << line;
      EXPECT_LT(u, o["speed_kmh"].get<double>()) << "an uncertainty, not noise: " << line;
      ++speeds;
      positive += u > 0 ? 1 : 0;
    }
  }
  EXPECT_GT(speeds, 20) << "speeds from the generated scene's own scale";
  EXPECT_GT(positive, 0) << "a fit over real detections has some spread";
}

// --raw records the generated scene as it is (a test clip) and its summary counts the frames
// it recorded (it said "0 frames": the count sat on the sink, which gets buffer lists).
TEST(Analyze, RawRecordsTheInputAndCountsItsFrames) {
  ScratchDir dir;
  const std::string clip = dir / "clip.ts";
  const AppRun r =
      analyze({"test", "--raw", "--seconds", "2", "--size", "320x240", "--output", clip});
  ASSERT_TRUE(exited_ok(r)) << r.err;
  EXPECT_NE(r.out.find("\n60 frames in"), std::string::npos) << r.out;
  EXPECT_EQ(decoded_frames(clip), 60);
}

TEST(Analyze, BadInputsFailWithAMessage) {
  AppRun r = analyze({"/nonexistent/clip.mp4"});
  EXPECT_FALSE(exited_ok(r));
  EXPECT_NE(r.err.find("no such file"), std::string::npos) << r.err;
  r = analyze({"test", "--model", "/nonexistent.onnx"});
  EXPECT_FALSE(exited_ok(r));
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  r = analyze({"test", "--interval", "0"});
  EXPECT_FALSE(exited_ok(r));
  r = analyze({"test", "--seconds", "1", "--output", "-", "--lines", "x:1,2"});
  EXPECT_FALSE(exited_ok(r)) << "a malformed counting line stops the run";
  EXPECT_NE(r.err.find("lines"), std::string::npos) << r.err;
  // A quote would end the value inside the pipeline description and add elements to it.
  r = analyze({"test", "--seconds", "1", "--output", "-", "--lines",
               "gate:160,0,160,240\" ! filesink location=\"/tmp/injected.bin"});
  EXPECT_FALSE(exited_ok(r));
  EXPECT_NE(r.err.find("--lines may not contain"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("filesink"), std::string::npos) << "no pipeline was built: " << r.out;
}

// The whole chain on the generated scene, scored on the frames that reached the output.
TEST(AnalyticsQuality, FullChain) {
  ScratchDir dir;
  // Speed through a four-point calibration: the 720p scene's corners at 0.045 m per pixel.
  const auto r =
      evaluate_run(dir, {"--calibration", "0,0:0,0;1280,0:57.6,0;1280,720:57.6,32.4;0,720:0,32.4"});
  EXPECT_GE(r.idf1, 0.85);
  EXPECT_GE(r.mota, 0.8);
  EXPECT_GT(r.speed_samples, 1000);
  EXPECT_LE(r.speed_median_abs_error_pct, 5.0);
}

TEST(AnalyticsQuality, IntervalThreeAndTenPercentDroppedFrames) {
  ScratchDir dir;
  const auto r = evaluate_run(dir, {"--interval", "3", "--drop", "0.1"});
  EXPECT_LT(r.frames, 440) << "frames were dropped upstream";
  EXPECT_GE(r.idf1, 0.8);
  EXPECT_GT(r.speed_samples, 1000);
  EXPECT_LE(r.speed_median_abs_error_pct, 5.0);
}

// Machine output under a comma-decimal locale: keepup-analyze calls setlocale(LC_ALL, ""), so
// under de_DE every printf %f or std::to_string of a double would write "0,5". The JSON lines
// and the event lines must still parse (and carry numbers), --conf 0.3 must still mean 0.3,
// and the MOT ground truth must keep its ten comma-separated fields.
TEST(Analyze, MachineOutputIgnoresACommaDecimalLocale) {
  ScratchDir dir;
  gchar *tmp = g_dir_make_tmp("keepup-locale-XXXXXX", nullptr);
  ASSERT_NE(tmp, nullptr);
  LocaleDir locales{tmp};
  g_free(tmp);
  const AppRun made =
      run_program({"localedef", "-i", "de_DE", "-f", "UTF-8", locales.path + "/de_DE.UTF-8"});
  if (!g_file_test((locales.path + "/de_DE.UTF-8/LC_NUMERIC").c_str(), G_FILE_TEST_EXISTS))
    GTEST_SKIP() << "cannot generate de_DE.UTF-8 with localedef (is localedef and the de_DE "
                    "source in /usr/share/i18n/locales installed?): "
                 << made.err;
  const Env env = {{"LOCPATH", locales.path}, {"LC_ALL", "de_DE.UTF-8"}};
  const AppRun check = run_program({"locale", "decimal_point"}, env);
  if (check.out.rfind(",", 0) != 0)
    GTEST_SKIP() << "the generated de_DE.UTF-8 does not load (decimal point '" << check.out << "')";

  const AppRun r = analyze({"test", "--seconds", "3", "--output", "-", "--quiet", "--conf", "0.3",
                            "--drop", "0.05", "--meta", dir / "t.jsonl", "--gt", dir / "gt.txt",
                            "--events", dir / "events.jsonl"},
                           env);
  ASSERT_TRUE(exited_ok(r)) << r.err;

  std::istringstream lines(read_text_file(dir / "t.jsonl"));
  std::string line;
  int count = 0, objects = 0, speeds = 0;
  while (std::getline(lines, line)) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    ASSERT_TRUE(j["pts"].is_number_unsigned()) << line;
    ASSERT_TRUE(j["frame"].is_number_integer()) << line;
    for (const auto &o : j["objects"]) {
      ASSERT_EQ(o["box"].size(), 4U) << line;
      for (const auto &v : o["box"])
        ASSERT_TRUE(v.is_number()) << line;
      ASSERT_TRUE(o["confidence"].is_number_float()) << line;
      EXPECT_GE(o["confidence"].get<double>(), 0.3) << "--conf 0.3 read as 0.3: " << line;
      if (o.contains("speed_kmh")) {
        ASSERT_TRUE(o["speed_kmh"].is_number()) << line;
        ++speeds;
      }
      ++objects;
    }
    ++count;
  }
  EXPECT_GT(count, 60) << "3 s at 30 fps, 5 % dropped";
  EXPECT_GT(objects, count) << "the scene has several cars in most frames";
  EXPECT_GT(speeds, 0) << "speeds from the scene's own scale";

  std::istringstream event_lines(read_text_file(dir / "events.jsonl"));
  int events = 0;
  while (std::getline(event_lines, line)) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(j.is_object()) << line;
    ++events;
  }
  EXPECT_GT(events, 0) << "tracks start, end and cross the gate in 3 s";

  const std::string gt = read_text_file(dir / "gt.txt");
  std::istringstream gt_lines(gt);
  int gt_count = 0;
  while (std::getline(gt_lines, line)) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 9) << "ten fields: " << line;
    ++gt_count;
  }
  EXPECT_GT(gt_count, 90);
  EXPECT_GT(keepup::track::parse_mot_gt(gt).size(), 60U) << "the ground truth reads back";
}

// Number options are read without the locale: "0,3" is refused with a message under every
// locale instead of being read as 0 (atof) and running with no confidence threshold.
TEST(Analyze, NumberOptionsTakeADecimalPoint) {
  for (const char *option : {"--conf", "--drop", "--meters-per-pixel"}) {
    const AppRun r = analyze({"test", "--seconds", "1", "--output", "-", option, "0,3"});
    EXPECT_FALSE(exited_ok(r)) << option;
    EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
  }
}
