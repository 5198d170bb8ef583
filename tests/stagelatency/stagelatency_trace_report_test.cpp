// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-trace-report's reader (cli/trace_report.hpp): real tracer lines become records, bad
// lines a rejection with a reason, and the page escapes what the file names.
#include "trace_report.hpp"

#include <gtest/gtest.h>

namespace tr = keepup::trace_report;

namespace {

// Lines as the tracer writes them (a run of slow-ms=3,gap-ms=20 with a dropqueue).
const char *const kGap =
    R"({"type":"gap","t":0.048000,"pad":"capsfilter0:sink","gap_s":0.033409,"stages":[)"
    R"({"element":"work","kind":"processing","s":0.007258}],"idle_s":0.026,"src":"videotestsrc0",)"
    R"("complete":true})";
const char *const kSummary =
    R"({"type":"summary","final":true,"t":1.570575,"rss_mb":26.8,"stages":[{"element":"late",)"
    R"("factory":"identity","kind":"processing","buffers":38,"fps":24.6,"mean_ms":40.2,)"
    R"("p50_ms":40.1,"p95_ms":40.3,"p99_ms":43.3,"max_ms":43.3,"total_s":1.5,"share":0.97,)"
    R"("max_gap_ms":48.7,"gaps":1}]})";
const char *const kDrops = R"({"type":"drops","t":1.004843,"element":"dq<1>","in":30,"out":25,)"
                           R"("dropped":4})";
const char *const kMemory = R"({"type":"memory","t":1.004843,"rss_mb":26.8,"growth_mb_per_min":0})";
const char *const kSlow = R"({"type":"slow","t":0.026530,"element":"work","ms":7.258301})";

} // namespace

TEST(StageLatencyTraceReport, TracerLinesAreRecords) {
  for (const char *text : {kGap, kSummary, kDrops, kMemory, kSlow}) {
    const tr::Line line = tr::read_line(text);
    EXPECT_EQ(line.kind, tr::Line::Kind::record) << text;
    EXPECT_TRUE(line.reason.empty());
    EXPECT_TRUE(line.record.is_object());
  }
}

TEST(StageLatencyTraceReport, BadLinesAreRejectedWithAReason) {
  EXPECT_EQ(tr::read_line("").kind, tr::Line::Kind::blank);
  EXPECT_EQ(tr::read_line(" \t\r").kind, tr::Line::Kind::blank);
  // What the tracer wrote under LANG=de_DE before its output went through the JSON library.
  const tr::Line comma = tr::read_line(R"({"type":"gap","t":0,183148,"pad":"x:sink"})");
  EXPECT_EQ(comma.kind, tr::Line::Kind::not_json);
  EXPECT_EQ(comma.reason.rfind("not JSON (", 0), 0u) << comma.reason;
  EXPECT_TRUE(comma.record.is_null());
  EXPECT_EQ(tr::read_line(R"({"type":"memory","t":1e400})").kind, tr::Line::Kind::not_json);
  for (const char *wrong : {R"({"type":"gap","t":"soon"})", "[1,2]", "3",
                            R"({"type":"summary","stages":{"element":"x"}})",
                            R"({"type":"summary","stages":[{"element":7}]})",
                            R"({"type":"gap","stages":[{"s":"x"}]})", R"({"type":5})"}) {
    const tr::Line line = tr::read_line(wrong);
    EXPECT_EQ(line.kind, tr::Line::Kind::not_record) << wrong;
    EXPECT_EQ(line.reason, "not a stagelatency record (wrong field types)");
  }
}

TEST(StageLatencyTraceReport, AGapWithoutStagesGetsAnEmptyList) {
  const tr::Line line = tr::read_line(R"({"type":"gap","t":2,"pad":"a:sink","gap_s":1.5})");
  ASSERT_EQ(line.kind, tr::Line::Kind::record);
  EXPECT_EQ(line.record["stages"], tr::json::array());
}

TEST(StageLatencyTraceReport, ReportGathersRecordsAndTheLastSummary) {
  tr::Report r;
  EXPECT_TRUE(r.empty());
  for (const char *text : {kSlow, kGap, kDrops, kMemory, kSummary})
    r.add(tr::read_line(text).record);
  EXPECT_FALSE(r.empty());
  EXPECT_EQ(r.records, 5u);
  EXPECT_EQ(r.gaps.size(), 1u);
  EXPECT_EQ(r.slow.size(), 1u);
  ASSERT_EQ(r.drops.count("dq<1>"), 1u);
  EXPECT_EQ(r.drops.at("dq<1>").points.at(0).second, 4);
  EXPECT_DOUBLE_EQ(r.t_end, 1.570575);
  ASSERT_EQ(r.stages().size(), 1u);
  EXPECT_EQ(r.stages()[0]["element"], "late");
}

TEST(StageLatencyTraceReport, PageEscapesNames) {
  tr::Report r;
  r.add(tr::read_line(kDrops).record);
  r.add(tr::read_line(R"({"type":"summary","final":true,"t":1,"stages":[{"element":)"
                      R"("<script>x</script>","kind":"processing","p50_ms":1,"max_ms":2}]})")
            .record);
  const std::string html = tr::render_html(r, "a<b>.jsonl");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b&gt;.jsonl"), std::string::npos);
  EXPECT_NE(html.find("dq&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
}
