// SPDX-License-Identifier: LGPL-2.1-or-later
// The pure part of keepup-analyze's shared camera jobs (pipelines/analyze_jobs.hpp): job JSON,
// what a worker refuses, the command line a job runs, the result entry's fields, the lease
// arithmetic and the claim order. No Redis here: tests/analyze/worker_test.cpp runs the fleet.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "analyze_jobs.hpp"

using namespace keepup::jobs;

namespace {
std::string field(const std::vector<std::pair<std::string, std::string>> &fields,
                  const std::string &name) {
  for (const auto &[k, v] : fields)
    if (k == name)
      return v;
  return "<absent>";
}
} // namespace

TEST(AnalyzeJobs, JobSurvivesJsonBothWays) {
  const Job job{"cam-12", "rtsp://cam/12", {"--seconds", "60", "--async", "--output", "/o.ts"}};
  std::string error;
  const auto back = parse_job(to_json(job), &error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->id, "cam-12");
  EXPECT_EQ(back->input, "rtsp://cam/12");
  EXPECT_EQ(back->options, job.options);
  const auto j = nlohmann::json::parse(to_json(job));
  EXPECT_EQ(j["v"], 1);
  const auto anonymous = parse_job(to_json(Job{"", "clip.ts", {}}), &error);
  ASSERT_TRUE(anonymous) << error;
  EXPECT_EQ(anonymous->id, "");
  EXPECT_FALSE(nlohmann::json::parse(to_json(Job{"", "clip.ts", {}})).contains("id"));
}

TEST(AnalyzeJobs, MalformedJobsAreRefusedWithAReason) {
  const std::pair<const char *, const char *> cases[] = {
      {"not json", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"input":"a.ts"})", "\"v\": 1"},
      {R"({"v":2,"input":"a.ts"})", "\"v\": 1"},
      {R"({"v":1})", "no \"input\""},
      {R"({"v":1,"input":""})", "no \"input\""},
      {R"({"v":1,"input":"a.ts","options":"--async"})", "not a list"},
      {R"({"v":1,"input":"a.ts","options":["--seconds",3]})", "non-string"},
      {R"({"v":1,"id":7,"input":"a.ts"})", "not a string"},
      {R"({"v":1,"id":"../x","input":"a.ts"})", "job id"},
      {R"({"v":1,"input":"a.ts","options":["--show"]})", "--show cannot run"},
      {R"({"v":1,"input":"a.ts","options":["--events","-"]})", "--events - cannot run"},
      {R"({"v":1,"input":"a.ts","options":["--worker","redis://x"]})", "--worker"},
      // An input read as an option: --help used to end every worker that claimed the job.
      {R"({"v":1,"input":"--help"})", "starts with '-'"},
      {R"({"v":1,"input":"-h"})", "starts with '-'"},
  };
  for (const auto &[json, reason] : cases) {
    std::string error;
    EXPECT_FALSE(parse_job(json, &error)) << json;
    EXPECT_NE(error.find(reason), std::string::npos) << json << " -> " << error;
  }
  std::string error;
  EXPECT_TRUE(parse_job(R"({"v":1,"input":"a.ts","options":["--events","ev.jsonl"]})", &error))
      << "--events to a file is fine: " << error;
}

TEST(AnalyzeJobs, JobIdsNameFilesSafely) {
  std::string error;
  EXPECT_TRUE(valid_job_id("cam-12_a.b:3", &error)) << error;
  EXPECT_FALSE(valid_job_id("", &error));
  EXPECT_FALSE(valid_job_id(".hidden", &error));
  EXPECT_FALSE(valid_job_id("a/b", &error));
  EXPECT_FALSE(valid_job_id("a b", &error));
  EXPECT_FALSE(valid_job_id(std::string(129, 'a'), &error));
  EXPECT_TRUE(valid_job_id(std::string(128, 'a'), &error));
}

TEST(AnalyzeJobs, RunArgsAddAnOutputNamedAfterTheJobOnlyWhenThereIsNone) {
  EXPECT_EQ(run_args(Job{"", "clip.ts", {"--async"}}, "1733-0"),
            (std::vector<std::string>{"clip.ts", "--async", "--output", "1733-0.ts"}));
  EXPECT_EQ(run_args(Job{"cam:1", "clip.ts", {}}, "cam:1"),
            (std::vector<std::string>{"clip.ts", "--output", "cam_1.ts"}));
  EXPECT_EQ(run_args(Job{"x", "clip.ts", {"--output", "/o.ts", "--quiet"}}, "x"),
            (std::vector<std::string>{"clip.ts", "--output", "/o.ts", "--quiet"}));
}

TEST(AnalyzeJobs, ResultFieldsCarryFiguresAndCountsAsJson) {
  Result r;
  r.job = "cam-1";
  r.status = "ok";
  r.worker = "w1";
  r.output = "/o.ts";
  r.frames = 90;
  r.tracks = 7;
  r.counts = {{"gate", {3, 1}}};
  r.seconds = 2.5;
  const auto f = result_fields(r);
  EXPECT_EQ(field(f, "job"), "cam-1");
  EXPECT_EQ(field(f, "status"), "ok");
  EXPECT_EQ(field(f, "worker"), "w1");
  EXPECT_EQ(field(f, "frames"), "90");
  EXPECT_EQ(field(f, "tracks"), "7");
  EXPECT_EQ(field(f, "output"), "/o.ts");
  EXPECT_EQ(field(f, "seconds"), "2.5");
  EXPECT_EQ(field(f, "error"), "<absent>");
  const auto counts = nlohmann::json::parse(field(f, "counts"));
  EXPECT_EQ(counts["gate"]["forward"], 3);
  EXPECT_EQ(counts["gate"]["backward"], 1);
  r.status = "error";
  r.error = "job is not JSON";
  EXPECT_EQ(field(result_fields(r), "error"), "job is not JSON");
}

TEST(AnalyzeJobs, LeaseTimingRenewsThreeTimesPerLease) {
  std::string error;
  const auto t = lease_timing(9000, &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->lease.count(), 9000);
  EXPECT_EQ(t->renew_every.count(), 3000);
  EXPECT_EQ(t->block.count(), 1000) << "idle workers notice SIGTERM within a second";
  const auto short_lease = lease_timing(400, &error);
  ASSERT_TRUE(short_lease);
  EXPECT_EQ(short_lease->block.count(), 100) << "a timed-out lease is seen within lease/4";
  EXPECT_LT(short_lease->renew_every, short_lease->lease);
  EXPECT_FALSE(lease_timing(kMinLeaseMs - 1, &error));
  EXPECT_NE(error.find("--lease-ms"), std::string::npos);
}

TEST(AnalyzeJobs, OwnershipRepliesMapToOutcomes) {
  EXPECT_EQ(ownership_from_reply(1), Ownership::Owner);
  EXPECT_EQ(ownership_from_reply(0), Ownership::Taken);
  EXPECT_EQ(ownership_from_reply(-1), Ownership::Gone);
}

TEST(AnalyzeJobs, ClaimOrderTakesTimedOutEntriesBeforeNewOnes) {
  ClaimOrder order;
  auto step = order.next();
  EXPECT_EQ(step.kind, ClaimOrder::Kind::AutoClaim);
  EXPECT_EQ(step.cursor, "0-0");
  // The pending list is long: the scan goes on from where XAUTOCLAIM stopped.
  order.autoclaimed("17-3", false);
  step = order.next();
  EXPECT_EQ(step.kind, ClaimOrder::Kind::AutoClaim);
  EXPECT_EQ(step.cursor, "17-3");
  // A timed-out entry was taken: after running it, look for more before reading new ones.
  order.autoclaimed("0-0", true);
  EXPECT_EQ(order.next().kind, ClaimOrder::Kind::AutoClaim);
  // Scanned to the end with nothing taken: wait for new entries.
  order.autoclaimed("0-0", false);
  EXPECT_EQ(order.next().kind, ClaimOrder::Kind::ReadNew);
  // After each read (entry or timeout) the scan starts again from the beginning.
  order.read_done();
  step = order.next();
  EXPECT_EQ(step.kind, ClaimOrder::Kind::AutoClaim);
  EXPECT_EQ(step.cursor, "0-0");
}

TEST(AnalyzeJobs, EachAttemptWritesFilesOfItsOwnNamedAfterTheWorker) {
  const auto run = stage_outputs({"clip.ts", "--output", "/srv/out/lot.ts", "--meta",
                                  "/srv/out/lot.jsonl", "--events", "ev", "--quiet"},
                                 "box a");
  EXPECT_EQ(run.args, (std::vector<std::string>{"clip.ts", "--output", "/srv/out/lot.part-box_a.ts",
                                                "--meta", "/srv/out/lot.part-box_a.jsonl",
                                                "--events", "ev.part-box_a", "--quiet"}));
  ASSERT_EQ(run.files.size(), 3U);
  EXPECT_EQ(run.files[0].staged, "/srv/out/lot.part-box_a.ts");
  EXPECT_EQ(run.files[0].final_path, "/srv/out/lot.ts");
  EXPECT_EQ(run.files[2].final_path, "ev");
  // stdout, no recording, numbered recordings and dots in folder names.
  const auto kept = stage_outputs(
      {"clip.ts", "--output", "-", "--events", "-", "--meta", "/a.b/m", "--x", "--output"}, "w");
  EXPECT_EQ(kept.args, (std::vector<std::string>{"clip.ts", "--output", "-", "--events", "-",
                                                 "--meta", "/a.b/m.part-w", "--x", "--output"}));
  EXPECT_EQ(stage_outputs({"cam", "--output", "/rec/cam-%05d.ts"}, "w").files.size(), 0U);
  EXPECT_EQ(stage_outputs({"cam", "--output", ".hidden"}, "w").args[2], ".hidden.part-w");
  EXPECT_EQ(stage_outputs({"test", "--gt", "gt.txt"}, "w").args[2], "gt.part-w.txt");
}
