// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency tracer's params string (core/tracer_params): strict numbers, unknown keys
// reported, GstStructure quoting and casts, syntax errors apply nothing, round trip.
#include "tracer_params.hpp"

#include <gtest/gtest.h>

namespace sl = keepup::stagelatency;

TEST(StageLatencyParams, EveryKeyIsRead) {
  const auto r = sl::parse_params("slow-ms=15,critical-ms=60.5,gap-ms=1000,interval=5,"
                                  "filter=^enc,file=/tmp/run.jsonl,trace-file=/tmp/t.json,"
                                  "memory-limit-mb=1,memory-growth-mb-per-min=2.5,"
                                  "telemetry-frames=3");
  EXPECT_FALSE(r.syntax_error);
  EXPECT_TRUE(r.invalid.empty());
  EXPECT_TRUE(r.unknown.empty());
  EXPECT_EQ(r.params.slow_ms, 15);
  EXPECT_EQ(r.params.critical_ms, 60.5);
  EXPECT_EQ(r.params.gap_ms, 1000);
  EXPECT_EQ(r.params.interval_s, 5);
  EXPECT_EQ(r.params.filter, "^enc");
  EXPECT_EQ(r.params.file, "/tmp/run.jsonl");
  EXPECT_EQ(r.params.trace_file, "/tmp/t.json");
  EXPECT_EQ(r.params.memory_limit_mb, 1);
  EXPECT_EQ(r.params.memory_growth_mb_per_min, 2.5);
  EXPECT_EQ(r.params.telemetry_frames, 3u);
  EXPECT_TRUE(r.messages("...").empty());
}

TEST(StageLatencyParams, NonNumbersAreErrorsAndKeepTheDefault) {
  const sl::Params defaults;
  for (const char *bad : {"abc", "", "0x10", "1,5", " ", "+2", "-1", "inf", "nan", "2ms", "1e10"}) {
    sl::Params p;
    std::string why;
    EXPECT_EQ(sl::apply_param(p, "slow-ms", bad, &why), sl::ParamStatus::invalid_value) << bad;
    EXPECT_EQ(p, defaults) << bad;
    EXPECT_EQ(why.rfind("slow-ms='" + std::string(bad) + "'", 0), 0u) << why;
  }
  sl::Params p;
  EXPECT_EQ(sl::apply_param(p, "telemetry-frames", "2.5"), sl::ParamStatus::invalid_value);
  EXPECT_EQ(sl::apply_param(p, "telemetry-frames", "4294967296"), sl::ParamStatus::invalid_value);
  EXPECT_EQ(sl::apply_param(p, "telemetry-frames", "4294967295"), sl::ParamStatus::applied);
  EXPECT_EQ(p.telemetry_frames, 4294967295u);
  EXPECT_EQ(sl::apply_param(p, "gap-ms", "1e3"), sl::ParamStatus::applied);
  EXPECT_EQ(p.gap_ms, 1000);
  EXPECT_EQ(sl::apply_param(p, "file", std::string_view("a\0b", 3)),
            sl::ParamStatus::invalid_value);
}

TEST(StageLatencyParams, InvalidAndUnknownAreReportedTheRestApplies) {
  const auto r = sl::parse_params("slow-ms=abc,interval=-1,gap-ms=200,colour=red");
  EXPECT_FALSE(r.syntax_error);
  EXPECT_EQ(r.params.slow_ms, 50) << "default kept, never read as 0";
  EXPECT_EQ(r.params.interval_s, 0);
  EXPECT_EQ(r.params.gap_ms, 200);
  ASSERT_EQ(r.invalid.size(), 2u);
  EXPECT_EQ(r.invalid[0], "slow-ms='abc' (a decimal number from 0 to 1000000000)");
  ASSERT_EQ(r.unknown, std::vector<std::string>{"colour"});
  const auto lines = r.messages("slow-ms=abc,interval=-1,gap-ms=200,colour=red");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("keeping the defaults: slow-ms='abc'"), std::string::npos);
  EXPECT_NE(lines[1].find("unknown parameter(s): colour (known: slow-ms,"), std::string::npos);
}

TEST(StageLatencyParams, QuotesCastsAndSpacesAsGstStructureWritesThem) {
  const auto r = sl::parse_params(
      " slow-ms = (double)5.5 , file=\"/tmp/a, b \\\"c\\\".jsonl\" ,filter=(string)x ");
  ASSERT_FALSE(r.syntax_error) << *r.syntax_error;
  EXPECT_EQ(r.params.slow_ms, 5.5);
  EXPECT_EQ(r.params.file, "/tmp/a, b \"c\".jsonl");
  EXPECT_EQ(r.params.filter, "x");
  EXPECT_FALSE(sl::parse_params("").syntax_error);
  EXPECT_EQ(sl::parse_params("  ").params, sl::Params{});
}

TEST(StageLatencyParams, SyntaxErrorsApplyNothing) {
  for (const char *bad : {"slow-ms", "slow-ms=5,gap-ms", "file=\"open", "slow-ms=5,=3",
                          "file=\"a\"b", "slow-ms=(double5", "1x=2", "slow-ms=(do uble)5"}) {
    const auto r = sl::parse_params(bad);
    EXPECT_TRUE(r.syntax_error) << bad;
    EXPECT_EQ(r.params, sl::Params{}) << bad;
    const auto lines = r.messages(bad);
    ASSERT_EQ(lines.size(), 1u) << bad;
    EXPECT_EQ(lines[0].rfind("cannot parse parameters '" + std::string(bad) + "'", 0), 0u);
  }
}

TEST(StageLatencyParams, LastValueOfARepeatedKeyWins) {
  EXPECT_EQ(sl::parse_params("slow-ms=1,slow-ms=2").params.slow_ms, 2);
}

TEST(StageLatencyParams, FormatParsesBackToTheSameParams) {
  sl::Params p;
  p.slow_ms = 0.1;
  p.critical_ms = 1e9;
  p.gap_ms = 1.0 / 3;
  p.interval_s = 7;
  p.filter = "a,b\"\\c";
  p.file = "/tmp/x y.jsonl";
  p.memory_growth_mb_per_min = 1e-7;
  p.telemetry_frames = 12;
  const auto r = sl::parse_params(sl::format_params(p));
  ASSERT_FALSE(r.syntax_error) << *r.syntax_error;
  EXPECT_TRUE(r.invalid.empty());
  EXPECT_EQ(r.params, p) << sl::format_params(p);
}
