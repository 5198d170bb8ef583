// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency report (core/report, core/output_files): summary rows as a JSON line and
// as the stderr table, the events of the JSON-lines file, the Chrome trace, and numbers that
// stay JSON under a comma-decimal locale.
#include "output_files.hpp"
#include "report.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace sl = keepup::stagelatency;

namespace {

sl::Summary two_stages() {
  sl::Histogram work, none, waiting, residence;
  for (int i = 0; i < 4; ++i)
    work.record(2'000'000); // 2 ms
  waiting.record(500'000);
  residence.record(30'000'000);
  sl::Summary s;
  s.final = true;
  s.wall_s = 0.5;
  s.rss_mb = 12.25;
  s.rows.push_back(sl::stage_row("enc", "x264enc", sl::StageKind::processing, work, none));
  s.rows.back().fps = 29.5;
  s.rows.back().max_gap_ns = 1'500'000;
  s.rows.back().gaps = 2;
  s.rows.push_back(sl::stage_row("dq", "dropqueue", sl::StageKind::queue, waiting, residence));
  s.rows.back().dropqueue = sl::DropCounts{10, 7, 3};
  return s;
}

std::string read_all(const std::string &path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

} // namespace

TEST(StageLatencyReport, SummaryJsonHasTheDocumentedFields) {
  const sl::Json j = sl::to_json(two_stages());
  EXPECT_EQ(sl::dump_line(j).rfind(R"({"type":"summary","final":true,"t":0.5,)", 0), 0u)
      << "type first, as the lines always were";
  ASSERT_EQ(j["stages"].size(), 2u);
  const auto &enc = j["stages"][0];
  EXPECT_EQ(enc["kind"], "processing");
  EXPECT_EQ(enc["buffers"], 4);
  EXPECT_NEAR(enc["mean_ms"].get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(enc["p50_ms"].get<double>(), 2.0, 0.07) << "histogram bucket midpoint";
  EXPECT_NEAR(enc["total_s"].get<double>(), 0.008, 1e-12);
  EXPECT_NEAR(enc["share"].get<double>(), 0.016, 1e-12);
  EXPECT_EQ(enc["max_gap_ms"], 1.5);
  EXPECT_EQ(enc["gaps"], 2);
  EXPECT_FALSE(enc.contains("residence_p50_ms")) << "only queues have a residence";
  EXPECT_FALSE(enc.contains("dropqueue"));
  const auto &dq = j["stages"][1];
  EXPECT_EQ(dq["kind"], "queue");
  EXPECT_NEAR(dq["residence_p50_ms"].get<double>(), 30.0, 1.0);
  EXPECT_EQ(dq["dropqueue"], (sl::Json{{"in", 10}, {"out", 7}, {"dropped", 3}}));
}

TEST(StageLatencyReport, TableHasOneAlignedLinePerStage) {
  const std::string table = sl::to_table(two_stages());
  std::istringstream in(table);
  std::string title, header, enc, dq, extra;
  std::getline(in, title);
  std::getline(in, header);
  std::getline(in, enc);
  std::getline(in, dq);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(title.rfind("stagelatency final summary after 0.5 s (RSS 12 MB", 0), 0u) << title;
  EXPECT_EQ(enc.rfind("  enc ", 0), 0u);
  EXPECT_NE(enc.find(" 2.00 "), std::string::npos) << enc;
  EXPECT_NE(dq.find("queue (time = waiting); in 10 out 7 dropped 3"), std::string::npos) << dq;
  // Columns line up: the notes column starts at the same offset in the header and a row.
  EXPECT_EQ(header.find("notes"), dq.find("queue ("));
}

TEST(StageLatencyReport, EventsCarryTheirFields) {
  sl::Attribution a;
  a.stages = {{0, 1'200'000'000}, {1, 1'000'000}};
  a.idle_ns = 300'000'000;
  a.idle_source = 2;
  const std::vector<sl::StageInfo> infos = {{"enc", false}, {"sink", true}, {"src", false}};
  const sl::Json gap = sl::gap_event(4.25, "enc:sink", 1'501'000'000, a, infos);
  EXPECT_EQ(sl::dump_line(gap),
            R"({"type":"gap","t":4.25,"pad":"enc:sink","gap_s":1.501,"stages":[)"
            R"({"element":"enc","kind":"processing","s":1.2},)"
            R"({"element":"sink","kind":"blocked","s":0.001}],"idle_s":0.3,"src":"src",)"
            R"("complete":true})");
  EXPECT_EQ(sl::dump_line(sl::slow_event(1.5, "enc", 80.25, true)),
            R"({"type":"critical","t":1.5,"element":"enc","ms":80.25})");
  EXPECT_EQ(sl::dump_line(sl::drops_event(2, "dq", {5, 4, 1})),
            R"({"type":"drops","t":2.0,"element":"dq","in":5,"out":4,"dropped":1})");
  EXPECT_EQ(sl::dump_line(sl::memory_growth_event(3, 100.5, 12.5)),
            R"({"type":"memory-warning","reason":"growth","t":3.0,"rss_mb":100.5,)"
            R"("growth_mb_per_min":12.5})");
  EXPECT_EQ(sl::format_telemetry_line(3, "sink", 42'600'000, a, infos),
            "[TELEMETRY] Frame 3 at sink: enc=1200.0ms sink=1.0ms idle=300.0ms TOTAL=42.6ms");
  // A name that is not UTF-8 (GStreamer does not check) is replaced, never a throw.
  EXPECT_NE(sl::dump_line(sl::slow_event(1, "bad\xff", 1, false)).find("bad\xef\xbf\xbd"),
            std::string::npos);
}

TEST(StageLatencyReport, FilesAreJsonLinesAndOneChromeTrace) {
  char dir_template[] = "/tmp/keepup-report-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  sl::JsonLinesFile lines;
  std::string error;
  ASSERT_TRUE(lines.open(dir + "/run.jsonl", error)) << error;
  lines.write(sl::memory_event(1, 20.5, 0));
  lines.write(sl::to_json(two_stages()));
  lines.close();
  lines.write(sl::memory_event(2, 21, 0)); // closed: nothing
  std::istringstream in(read_all(dir + "/run.jsonl"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_NO_THROW(sl::Json::parse(line)) << line;
    ++n;
  }
  EXPECT_EQ(n, 2);
  EXPECT_FALSE(lines.open(dir + "/missing/x.jsonl", error));
  EXPECT_FALSE(error.empty());

  sl::ChromeTraceFile trace;
  ASSERT_TRUE(trace.open(dir + "/trace.json", error));
  trace.add(sl::chrome_event("enc", 1, 1000.5, 20.25));
  trace.add(sl::chrome_event("sink", 2, 1021, 0.5));
  trace.finish();
  const sl::Json doc = sl::Json::parse(read_all(dir + "/trace.json"));
  EXPECT_EQ(doc["displayTimeUnit"], "ms");
  ASSERT_EQ(doc["traceEvents"].size(), 2u);
  EXPECT_EQ(doc["traceEvents"][0], (sl::Json{{"name", "enc"},
                                             {"cat", "stage"},
                                             {"ph", "X"},
                                             {"pid", 1},
                                             {"tid", 1},
                                             {"ts", 1000.5},
                                             {"dur", 20.25}}));
  ASSERT_TRUE(trace.open(dir + "/empty.json", error));
  trace.finish();
  EXPECT_EQ(sl::Json::parse(read_all(dir + "/empty.json"))["traceEvents"], sl::Json::array());
  std::system(("rm -rf '" + dir + "'").c_str());
}

// What gst-launch-1.0 does (setlocale(LC_ALL, "")) under LANG=de_DE.UTF-8: printf writes
// 0,5, the report must not. The locale is built into a folder of the test's own.
TEST(StageLatencyReport, NumbersStayJsonUnderACommaDecimalLocale) {
  char dir_template[] = "/tmp/keepup-locale-XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  const std::string cmd = "localedef -i de_DE -f UTF-8 '" + dir + "/de_DE.UTF-8' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::system(("rm -rf '" + dir + "'").c_str());
    GTEST_SKIP() << "localedef cannot build de_DE.UTF-8 here";
  }
  setenv("LOCPATH", dir.c_str(), 1);
  const std::string before = std::setlocale(LC_ALL, nullptr);
  ASSERT_NE(std::setlocale(LC_ALL, "de_DE.UTF-8"), nullptr);
  char printed[16];
  std::snprintf(printed, sizeof printed, "%.1f", 0.5);
  const std::string line = sl::dump_line(sl::to_json(two_stages()));
  const std::string chrome = sl::dump_line(sl::chrome_event("enc", 1, 1000.5, 20.25));
  const std::string table = sl::to_table(two_stages());
  std::setlocale(LC_ALL, before.c_str());
  unsetenv("LOCPATH");
  std::system(("rm -rf '" + dir + "'").c_str());
  EXPECT_STREQ(printed, "0,5") << "the locale applied";
  EXPECT_NO_THROW(sl::Json::parse(line)) << line;
  EXPECT_NE(line.find(R"("t":0.5,)"), std::string::npos) << line;
  EXPECT_NE(chrome.find(R"("ts":1000.5,)"), std::string::npos) << chrome;
  EXPECT_NE(table.find("after 0,5 s"), std::string::npos) << "the table is for people: " << table;
}
