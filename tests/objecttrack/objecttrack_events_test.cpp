// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack behind a detector that leaves its skipped frames empty or marks reused
// detections fresh=false, zones, speeds with uncertainty, and the events (schema v1): every
// message converts to a JSON line that validates against events-v1.schema.json, and
// keepup-analyze --events writes those lines.
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "json_schema_lite.hpp"
#include "keepup_metas.hpp"
#include "roi_frames.hpp"
#include "test_util.hpp"
#include "track_event_json.hpp"

using namespace keepup::test;

namespace {

constexpr GstClockTime kFrame = GST_SECOND / 30;
const char *kCaps = "video/x-raw,format=BGR,width=640,height=360,framerate=30/1";

using Det = Roi;

GstBuffer *frame(guint64 n, const std::vector<Det> &dets) {
  return roi_frame(n, dets);
}

HarnessPtr tracker(const std::string &props) {
  HarnessPtr h(gst_harness_new_parse(("objecttrack " + props).c_str()));
  gst_harness_set_src_caps_str(h.get(), kCaps);
  return h;
}

SchemaLite load_schema() {
  std::ifstream in(KEEPUP_TEST_EVENTS_SCHEMA);
  return SchemaLite(nlohmann::json::parse(in));
}

} // namespace

// A detector that runs on every 3rd frame and leaves the frames between empty, with frames
// dropped: the empty frames are learned to be "not inferred" (empty-frames=auto), the tracks
// keep their ids and are reported with predicted boxes between the detections.
TEST(ObjectTrackFeeds, SparseDetectionsWithEmptyFramesBetweenKeepTheTracks) {
  HarnessPtr h = tracker("min-hits=3");
  std::mt19937 rng(5);
  guint64 received = 0;
  std::vector<guint64> ids;
  int between_reported = 0, between = 0;
  for (guint64 n = 0; n < 150; ++n) {
    if (n > 10 && rng() % 10 == 0)
      continue; // dropped upstream
    const bool inferred = received++ % 3 == 0;
    std::vector<Det> dets;
    if (inferred)
      dets = {{40.0 + 3.0 * n, 100, 60, 30}, {560.0 - 3.0 * n, 250, 60, 30}};
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(n, dets));
    const auto t = tracked(out);
    gst_buffer_unref(out);
    if (n < 30)
      continue;
    if (!inferred) {
      ++between;
      between_reported += t.size() == 2;
      for (const auto &o : t)
        EXPECT_TRUE(o.predicted);
    }
    if (t.size() == 2 && ids.empty())
      ids = {t[0].id, t[1].id};
    for (const auto &o : t)
      EXPECT_TRUE(o.id == ids[0] || o.id == ids[1]) << "frame " << n << " id " << o.id;
  }
  EXPECT_EQ(between_reported, between) << "both cars on every frame between detections";
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  EXPECT_EQ(stats_u64(e, "total-tracks"), 2U);
  EXPECT_GT(stats_u64(e, "predictions"), stats_u64(e, "updates"));
  EXPECT_NEAR(static_cast<double>(stats_u64(e, "detector-interval-ns")), 3.0 * kFrame, 2e6);
  gst_object_unref(e);
}

// The same through a real pipeline, appsrc ! objecttrack ! appsink, as an application feeding
// another detector's results would: detections on every 3rd frame, nothing on the others.
TEST(ObjectTrackFeeds, AppsrcFedEveryThirdFrameWithEmptyFramesBetween) {
  GstElement *p =
      gst_parse_launch((std::string("appsrc name=src format=time caps=") + kCaps +
                        " ! objecttrack min-hits=2 ! appsink name=sink sync=false max-buffers=0")
                           .c_str(),
                       nullptr);
  ASSERT_NE(p, nullptr);
  GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
  ASSERT_EQ(gst_element_set_state(p, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  for (guint64 n = 0; n < 60; ++n)
    ASSERT_EQ(gst_app_src_push_buffer(GST_APP_SRC(src),
                                      frame(n, n % 3 == 0
                                                   ? std::vector<Det>{{40.0 + 4.0 * n, 100, 60, 30}}
                                                   : std::vector<Det>{})),
              GST_FLOW_OK);
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  std::set<guint64> ids;
  int frames = 0, predicted = 0, reported = 0;
  while (GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    const auto t = tracked(gst_sample_get_buffer(sample));
    if (frames >= 12) { // confirmed (2 hits) and the cadence learned
      reported += t.size() == 1;
      for (const auto &o : t) {
        ids.insert(o.id);
        predicted += o.predicted;
      }
    }
    ++frames;
    gst_sample_unref(sample);
  }
  EXPECT_EQ(frames, 60);
  EXPECT_EQ(reported, 48) << "the car on every frame, also between detections";
  EXPECT_EQ(predicted, 32) << "two frames of three are predictions";
  EXPECT_EQ(ids.size(), 1U);
  GstElement *e = gst_bin_get_by_name(GST_BIN(p), "objecttrack0");
  EXPECT_EQ(stats_u64(e, "total-tracks"), 1U);
  gst_object_unref(e);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(p);
}

// The same feed with empty-frames=no-objects: every empty frame is a miss and the stats say
// so (no predictions); not-inferred predicts on every empty frame.
TEST(ObjectTrackFeeds, EmptyFramesPropertyOverridesTheCadence) {
  for (const char *mode : {"no-objects", "not-inferred"}) {
    SCOPED_TRACE(mode);
    HarnessPtr h = tracker(std::string("min-hits=2 empty-frames=") + mode);
    for (guint64 n = 0; n < 30; ++n)
      gst_buffer_unref(gst_harness_push_and_pull(
          h.get(), frame(n, n % 3 == 0 ? std::vector<Det>{{40.0 + 3.0 * n, 100, 60, 30}}
                                       : std::vector<Det>{})));
    GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
    EXPECT_EQ(stats_u64(e, "predictions"), g_str_equal(mode, "no-objects") ? 0U : 20U);
    EXPECT_EQ(stats_u64(e, "total-tracks"), 1U);
    gst_object_unref(e);
  }
}

// Reused detections marked fresh=false on their own params (no inference meta): predicted,
// not measured, so the speed stays right; every speed carries its uncertainty.
TEST(ObjectTrackFeeds, StaleDetectionParamsOnlyPredictAndSpeedsHaveUncertainty) {
  HarnessPtr h = tracker("min-hits=1 meters-per-pixel=0.1");
  double last_x = 0;
  for (guint64 n = 0; n < 90; ++n) { // 4 px per frame = 120 px/s = 12 m/s = 43.2 km/h
    const bool inferred = n % 3 == 0;
    if (inferred)
      last_x = 40.0 + 4.0 * static_cast<double>(n);
    GstBuffer *out =
        gst_harness_push_and_pull(h.get(), frame(n, {{last_x, 100, 60, 30, "car", 0, inferred}}));
    const auto t = tracked(out);
    gst_buffer_unref(out);
    ASSERT_EQ(t.size(), 1U) << n;
    EXPECT_EQ(t[0].predicted, !inferred) << n;
    if (!inferred && n > 10) { // once the velocity is known
      EXPECT_NEAR(t[0].x, 40.0 + 4.0 * static_cast<double>(n), 3.0) << "moves on, not stale";
    }
    if (n > 60) {
      ASSERT_TRUE(t[0].has_speed) << n;
      EXPECT_NEAR(t[0].speed, 43.2, 1.0);
      EXPECT_GT(t[0].uncertainty, 0.0);
      EXPECT_LT(t[0].uncertainty, 3.0);
    }
  }
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  EXPECT_EQ(stats_u64(e, "predictions"), 60U);
  EXPECT_EQ(stats_u64(e, "stale-detections"), 60U);
  gst_object_unref(e);
}

// Zones, loitering, lines per class, the end of every track when the scene empties, and
// every message as a schema-valid JSON line.
TEST(ObjectTrackEvents, ZonesLinesAndTracksPostSchemaValidEvents) {
  HarnessPtr h =
      tracker("min-hits=2 max-lost-time=300000000 post-track-messages=true "
              "meters-per-pixel=0.05 stream-name=cam1 loiter-time=1000000000 "
              "zones=\"lot:0,150;200,150;200,360;0,360|lane:250,0;450,0;450,140;250,140\" "
              "lines=\"gate:300,0,300,360\"");
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  BusTap tap(e);
  guint occupancy_seen = 0;
  for (guint64 n = 0; n < 60; ++n) {
    // A car drives along the top lane, through the gate and the `lane` zone; a bike parks
    // in the `lot` (standing there 2 s: loitering).
    std::vector<Det> dets = {{100.0 + 8.0 * n, 90, 60, 30}, {80, 250, 30, 20, "bike", 2}};
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame(n, dets));
    if (GstStructure *scene = keepup::gstmeta::find(out, keepup::gstmeta::kTracking)) {
      const GValue *occ = gst_structure_get_value(scene, "occupancy");
      if (occ) {
        const GstStructure *zones = gst_value_get_structure(occ);
        const GValue *lot = gst_structure_get_value(zones, "lot");
        guint bikes = 0;
        if (lot && gst_structure_get_uint(gst_value_get_structure(lot), "bike", &bikes))
          occupancy_seen = std::max(occupancy_seen, bikes);
      }
    }
    gst_buffer_unref(out);
  }
  EXPECT_EQ(occupancy_seen, 1U) << "the bike counted in the lot on the tracking meta";
  GstStructure *stats = nullptr;
  g_object_get(e, "stats", &stats, nullptr);
  const GstStructure *lines = gst_value_get_structure(gst_structure_get_value(stats, "lines"));
  guint64 cars = 0;
  EXPECT_TRUE(gst_structure_get_uint64(lines, "gate-car-backward", &cars) ||
              gst_structure_get_uint64(lines, "gate-car-forward", &cars));
  EXPECT_EQ(cars, 1U);
  const GstStructure *zones = gst_value_get_structure(gst_structure_get_value(stats, "zones"));
  guint bikes = 0;
  EXPECT_TRUE(gst_structure_get_uint(gst_value_get_structure(gst_structure_get_value(zones, "lot")),
                                     "bike", &bikes));
  EXPECT_EQ(bikes, 1U);
  gst_structure_free(stats);
  for (guint64 n = 60; n < 90; ++n) // everybody gone
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame(n, {})));

  const SchemaLite schema = load_schema();
  std::map<std::string, int> count;
  auto msgs = tap.take(GST_MESSAGE_ELEMENT);
  for (GstMessage *m : msgs) {
    const GstStructure *s = gst_message_get_structure(m);
    const std::string line = keepup::trackevents::event_json_line(s);
    ASSERT_FALSE(line.empty()) << gst_structure_get_name(s);
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(schema.validate(j), "") << line;
    const std::string type = j.at("type");
    EXPECT_EQ(std::string(gst_structure_get_name(s)), "objecttrack-" + type);
    EXPECT_EQ(j.at("stream"), "cam1");
    ++count[type];
    if (type == "loitering") {
      EXPECT_EQ(j.at("zone"), "lot");
      EXPECT_EQ(j.at("label"), "bike");
      EXPECT_GE(j.at("dwell_ns").get<guint64>(), 1000000000U);
    } else if (type == "zone-exited" && j.at("zone") == "lot") {
      EXPECT_GE(j.at("dwell_ns").get<guint64>(), 1900000000U) << line;
    } else if (type == "track-ended" && j.at("label") == "car") {
      EXPECT_EQ(j.at("zones_visited"), nlohmann::json::array({"lane"}));
      ASSERT_EQ(j.at("lines_crossed").size(), 1U);
      EXPECT_EQ(j.at("lines_crossed")[0].at("line"), "gate");
      EXPECT_TRUE(j.contains("max_speed_kmh") && j.contains("mean_speed_uncertainty_kmh")) << line;
      // 8 px per frame at 0.05 m/px = 12 m/s = 43.2 km/h
      EXPECT_NEAR(j.at("mean_speed_kmh").get<double>(), 43.2, 1.5);
    } else if (type == "line-crossed") {
      EXPECT_TRUE(j.contains("speed_uncertainty_kmh")) << line;
    }
  }
  BusTap::unref_all(msgs);
  EXPECT_EQ(count["track-started"], 2);
  EXPECT_EQ(count["track-ended"], 2) << "the scene emptied: both tracks end";
  EXPECT_EQ(count["line-crossed"], 1);
  EXPECT_EQ(count["zone-entered"], 2);
  EXPECT_EQ(count["zone-exited"], 2);
  EXPECT_EQ(count["loitering"], 1) << "once per object";
  gst_object_unref(e);
}

TEST(ObjectTrackEvents, EndOfStreamEndsEveryTrack) {
  HarnessPtr h =
      tracker("min-hits=2 post-track-messages=true zones=\"all:0,0;640,0;640,360;0,360\"");
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  BusTap tap(e);
  for (guint64 n = 0; n < 10; ++n)
    gst_buffer_unref(gst_harness_push_and_pull(
        h.get(), frame(n, {{40.0 + 3.0 * n, 100, 60, 30}, {300, 250, 30, 20, "bike", 2}})));
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_eos()));
  std::map<std::string, int> count;
  auto msgs = tap.take(GST_MESSAGE_ELEMENT);
  for (GstMessage *m : msgs) {
    const auto j =
        nlohmann::json::parse(keepup::trackevents::event_json_line(gst_message_get_structure(m)));
    ++count[j.at("type")];
    if (j.at("type") == "track-ended") {
      EXPECT_EQ(j.at("pts"), 9 * kFrame);
      EXPECT_EQ(j.at("zones_visited"), nlohmann::json::array({"all"}));
    }
  }
  BusTap::unref_all(msgs);
  EXPECT_EQ(count["track-started"], 2);
  EXPECT_EQ(count["track-ended"], 2);
  EXPECT_EQ(count["zone-exited"], 2);
  EXPECT_EQ(stats_uint(e, "active-tracks"), 0U);
  gst_object_unref(e);
}

TEST(ObjectTrackEvents, SchemaRejectsWhatItShould) {
  const SchemaLite schema = load_schema();
  nlohmann::json ok = {{"v", 1},         {"type", "zone-entered"},
                       {"stream", "s"},  {"wall_time", "2026-12-04T16:55:01.123Z"},
                       {"pts", 0},       {"track_id", 3},
                       {"label", "car"}, {"class_id", 0},
                       {"zone", "lot"}};
  EXPECT_EQ(schema.validate(ok), "");
  auto bad = ok;
  bad["v"] = 2;
  EXPECT_NE(schema.validate(bad), "");
  bad = ok;
  bad.erase("zone");
  EXPECT_NE(schema.validate(bad), "");
  bad = ok;
  bad["extra"] = 1;
  EXPECT_NE(schema.validate(bad), "");
  bad = ok;
  bad["wall_time"] = "04.12.2026 16:55";
  EXPECT_NE(schema.validate(bad), "");
  bad = ok;
  bad["type"] = "zone-exited"; // needs dwell_ns
  EXPECT_NE(schema.validate(bad), "");
  bad["dwell_ns"] = -1;
  EXPECT_NE(schema.validate(bad), "");
  bad["dwell_ns"] = 5;
  EXPECT_EQ(schema.validate(bad), "");
}

TEST(ObjectTrackEvents, BadZonesAreRefusedAtStart) {
  for (const char *zones : {"lot:0,0;10,0", "a:0,0;9,0;0,9|a:0,0;9,0;0,9", "lot 0,0;9,0;0,9"}) {
    SCOPED_TRACE(zones);
    const PipelineError e = first_pipeline_error(std::string("videotestsrc num-buffers=1 ! "
                                                             "objecttrack zones=\"") +
                                                 zones + "\" ! fakesink");
    EXPECT_TRUE(e.matches(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.message;
    EXPECT_NE(e.message.find("zones:"), std::string::npos) << e.message;
  }
}

// keepup-analyze --events FILE on the generated scene: one schema-valid JSON object per line.
TEST(ObjectTrackEvents, AnalyzeWritesTheEventsAsJsonLines) {
  ScratchDir dir;
  const std::string events = dir / "events.jsonl";
  std::vector<std::string> argv_s = {std::string(KEEPUP_TEST_BUILD_DIR) + "/bin/keepup-analyze",
                                     "test",
                                     "--seconds",
                                     "4",
                                     "--output",
                                     "-",
                                     "--quiet",
                                     "--lines",
                                     "gate:640,0,640,720",
                                     "--events",
                                     events};
  std::vector<gchar *> argv;
  for (auto &a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  gint status = -1;
  gchar *out = nullptr, *err = nullptr;
  ASSERT_TRUE(g_spawn_sync(nullptr, argv.data(), nullptr, G_SPAWN_DEFAULT, nullptr, nullptr, &out,
                           &err, &status, nullptr));
  const std::string err_text = err ? err : "";
  g_free(out);
  g_free(err);
  ASSERT_TRUE(g_spawn_check_wait_status(status, nullptr)) << err_text;
  const SchemaLite schema = load_schema();
  std::istringstream lines(read_text_file(events));
  std::map<std::string, int> count;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(schema.validate(j), "") << line;
    ++count[j.value("type", "")];
  }
  EXPECT_GT(count["track-started"], 2);
  EXPECT_EQ(count["track-ended"], count["track-started"]) << "EOS ends the rest";
  EXPECT_GT(count["line-crossed"], 0);
}
