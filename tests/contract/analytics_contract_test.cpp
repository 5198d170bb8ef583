// SPDX-License-Identifier: LGPL-2.1-or-later
// The analytics contract (elements/common/gst/analytics_contract.hpp): every struct reads
// back as written, the wire names stay the documented ones, and readers given another
// vendor's partial or mistyped structures get defaults, not a crash.
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gtest/gtest.h>

#include "analytics_contract.hpp"

namespace contract = keepup::contract;

namespace {

GstVideoRegionOfInterestMeta *add_roi(GstBuffer *buf, const char *type) {
  return gst_buffer_add_video_region_of_interest_meta(buf, type, 10, 20, 30, 40);
}

} // namespace

TEST(AnalyticsContract, DetectionParamRoundTrips) {
  GstBuffer *buf = gst_buffer_new();
  GstVideoRegionOfInterestMeta *roi = add_roi(buf, "car");
  contract::DetectionParam d;
  d.label = "car";
  d.class_id = 2;
  d.confidence = 0.875;
  d.source_pts = 123456789;
  d.fresh = false;
  contract::write(roi, d);
  EXPECT_EQ(contract::read_detection(roi), d);
  // The documented wire names (yolodetect README).
  const GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, "detection");
  ASSERT_NE(s, nullptr);
  int class_id = 0;
  double confidence = 0;
  guint64 source = 0;
  gboolean fresh = TRUE;
  EXPECT_STREQ(gst_structure_get_string(s, "label"), "car");
  EXPECT_TRUE(gst_structure_get_int(s, "class-id", &class_id));
  EXPECT_TRUE(gst_structure_get_double(s, "confidence", &confidence));
  EXPECT_TRUE(gst_structure_get_uint64(s, "source-pts", &source));
  EXPECT_TRUE(gst_structure_get_boolean(s, "fresh", &fresh));
  EXPECT_EQ(class_id, 2);
  EXPECT_EQ(source, 123456789U);
  EXPECT_FALSE(fresh);
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, ForeignDetectionParamGetsDefaults) {
  GstBuffer *buf = gst_buffer_new();
  // Another vendor's detector: only a label.
  GstVideoRegionOfInterestMeta *roi = add_roi(buf, "person");
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("detection", "label", G_TYPE_STRING, "pedestrian", nullptr));
  auto d = contract::read_detection(roi);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->label, "pedestrian");
  EXPECT_FALSE(d->class_id);
  EXPECT_FALSE(d->confidence);
  EXPECT_FALSE(d->source_pts);
  EXPECT_TRUE(d->fresh) << "a detector that says nothing about freshness is fresh";

  // No label, and fields of the wrong type: the ROI's type names it, the rest is unknown.
  GstVideoRegionOfInterestMeta *odd = add_roi(buf, "bus");
  gst_video_region_of_interest_meta_add_param(
      odd, gst_structure_new("detection", "class-id", G_TYPE_STRING, "seven", "confidence",
                             G_TYPE_STRING, "high", "fresh", G_TYPE_INT, 0, nullptr));
  d = contract::read_detection(odd);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->label, "bus");
  EXPECT_FALSE(d->class_id);
  EXPECT_FALSE(d->confidence);
  EXPECT_TRUE(d->fresh);

  // No param at all.
  EXPECT_FALSE(contract::read_detection(add_roi(buf, "truck")));
  EXPECT_FALSE(contract::read_tracking(roi));
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, TrackingParamRoundTrips) {
  GstBuffer *buf = gst_buffer_new();
  GstVideoRegionOfInterestMeta *roi = add_roi(buf, "car");
  contract::TrackingParam t;
  t.track_id = 42;
  t.state = "confirmed";
  t.age_ns = 2'000'000'000;
  t.predicted = true;
  t.velocity_x = 12.5;
  t.velocity_y = -3.25;
  t.speed_kmh = 52.4;
  t.speed_uncertainty_kmh = 2.6;
  contract::write(roi, t);
  EXPECT_EQ(contract::read_tracking(roi), t);
  const GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, "tracking");
  ASSERT_NE(s, nullptr);
  for (const char *name : {"track-id", "state", "age-ns", "predicted", "velocity-x", "velocity-y",
                           "speed-kmh", "speed-uncertainty-kmh"})
    EXPECT_TRUE(gst_structure_has_field(s, name)) << name;
  EXPECT_EQ(gst_structure_get_field_type(s, "track-id"), G_TYPE_UINT64);

  // No speed: neither field is written.
  GstVideoRegionOfInterestMeta *slow = add_roi(buf, "car");
  t.speed_kmh.reset();
  t.speed_uncertainty_kmh.reset();
  contract::write(slow, t);
  s = gst_video_region_of_interest_meta_get_param(slow, "tracking");
  EXPECT_FALSE(gst_structure_has_field(s, "speed-kmh"));
  EXPECT_FALSE(gst_structure_has_field(s, "speed-uncertainty-kmh"));
  EXPECT_EQ(contract::read_tracking(slow), t);
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, ForeignTrackingParamGetsDefaults) {
  GstBuffer *buf = gst_buffer_new();
  GstVideoRegionOfInterestMeta *roi = add_roi(buf, "car");
  // Another tracker: a 32-bit id and an uncertainty without a speed.
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("tracking", "track-id", G_TYPE_UINT, 7U, "speed-uncertainty-kmh",
                             G_TYPE_DOUBLE, 3.0, nullptr));
  const auto t = contract::read_tracking(roi);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->track_id, 7U);
  EXPECT_EQ(t->state, "");
  EXPECT_FALSE(t->predicted);
  EXPECT_FALSE(t->speed_kmh);
  EXPECT_FALSE(t->speed_uncertainty_kmh) << "an uncertainty of no speed is not shown";
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, InferenceMetaRoundTripsAndSurvivesACopy) {
  GstBuffer *buf = gst_buffer_new();
  EXPECT_FALSE(contract::read_inference(buf));
  contract::InferenceMeta m;
  m.fresh = false;
  m.has_result = true;
  m.source_pts = 99;
  m.inference_ms = 12.5;
  m.detections = 3;
  m.motion_gate = "still";
  ASSERT_TRUE(contract::write(buf, m));
  EXPECT_EQ(contract::read_inference(buf), m);
  GstBuffer *copy = gst_buffer_copy(buf);
  EXPECT_EQ(contract::read_inference(copy), m);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);

  // No result: source-pts is GST_CLOCK_TIME_NONE on the wire, nullopt when read.
  buf = gst_buffer_new();
  contract::InferenceMeta none;
  ASSERT_TRUE(contract::write(buf, none));
  guint64 wire = 0;
  EXPECT_TRUE(gst_structure_get_uint64(keepup::gstmeta::find(buf, keepup::gstmeta::kInference),
                                       "source-pts", &wire));
  EXPECT_EQ(wire, GST_CLOCK_TIME_NONE);
  EXPECT_EQ(contract::read_inference(buf), none);
  gst_buffer_unref(buf);
}

namespace {

contract::TrackingMeta sample_scene() {
  contract::TrackingMeta m;
  m.roi = {{0, 0}, {640, 0}, {640, 360}, {0, 360}};
  m.lines = {{"gate", {0, 200}, {640, 200}}, {"gate-2", {0, 300}, {640, 300}}};
  m.zones = {{"lot", {{100, 100}, {300, 100}, {300, 250}}},
             {"kerb", {{10, 10}, {20, 10}, {20, 20}}}};
  m.line_counts = {{"gate", {5, 2}}, {"gate-2", {1, 0}}};
  m.line_class_counts = {{"gate", {{"car", {4, 2}}, {"bike", {1, 0}}}},
                         {"gate-2", {{"car", {1, 0}}}}};
  m.occupancy = {{"lot", {{"car", 2}, {"bike", 1}}}, {"kerb", {}}};
  m.active_tracks = 6;
  return m;
}

} // namespace

TEST(AnalyticsContract, TrackingMetaRoundTripsWithTypedGeometry) {
  GstBuffer *buf = gst_buffer_new();
  EXPECT_FALSE(contract::read_tracking_meta(buf));
  const contract::TrackingMeta m = sample_scene();
  ASSERT_TRUE(contract::write(buf, m));
  EXPECT_EQ(contract::read_tracking_meta(buf), m)
      << "a line named gate-2 is a line, not class 2 of line gate";

  // On the wire: typed values, not text to parse again; the count names are the documented ones.
  const GstStructure *s = keepup::gstmeta::find(buf, keepup::gstmeta::kTracking);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(gst_structure_get_field_type(s, "roi"), GST_TYPE_ARRAY);
  EXPECT_EQ(gst_structure_get_field_type(s, "lines"), GST_TYPE_STRUCTURE);
  EXPECT_EQ(gst_structure_get_field_type(s, "zones"), GST_TYPE_STRUCTURE);
  const GValue *roi = gst_structure_get_value(s, "roi");
  ASSERT_EQ(gst_value_array_get_size(roi), 4U);
  const GValue *corner = gst_value_array_get_value(roi, 2);
  ASSERT_EQ(gst_value_array_get_size(corner), 2U);
  EXPECT_EQ(g_value_get_double(gst_value_array_get_value(corner, 0)), 640.0);
  guint64 n = 0;
  EXPECT_TRUE(gst_structure_get_uint64(s, "gate-forward", &n));
  EXPECT_EQ(n, 5U);
  EXPECT_TRUE(gst_structure_get_uint64(s, "gate-car-backward", &n));
  EXPECT_EQ(n, 2U);

  // Copies keep it (scaling, tee, queue).
  GstBuffer *copy = gst_buffer_copy(buf);
  EXPECT_EQ(contract::read_tracking_meta(copy), m);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, ForeignOrOldTrackingMetaReadsWhatItCan) {
  GstBuffer *buf = gst_buffer_new();
  // The text form of before, and junk where structures belong.
  GstStructure *s = keepup::gstmeta::add(buf, keepup::gstmeta::kTracking);
  gst_structure_set(s, "roi", G_TYPE_STRING, "0,0;10,0;10,10", "lines", G_TYPE_STRING,
                    "gate:0,5,10,5", "zones", G_TYPE_INT, 3, "occupancy", G_TYPE_STRING, "lot",
                    "gate-forward", G_TYPE_UINT64, G_GUINT64_CONSTANT(4), "active-tracks",
                    G_TYPE_UINT, 2U, nullptr);
  const auto m = contract::read_tracking_meta(buf);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->roi.empty());
  EXPECT_TRUE(m->lines.empty());
  EXPECT_TRUE(m->zones.empty());
  EXPECT_TRUE(m->occupancy.empty());
  EXPECT_TRUE(m->line_counts.empty()) << "counts of a line it does not know are not guessed";
  EXPECT_EQ(m->active_tracks, 2U);

  // A polygon with a malformed point: the point is skipped.
  GstBuffer *odd = gst_buffer_new();
  s = keepup::gstmeta::add(odd, keepup::gstmeta::kTracking);
  GValue roi = G_VALUE_INIT;
  g_value_init(&roi, GST_TYPE_ARRAY);
  ASSERT_TRUE(gst_value_deserialize(&roi, "< < 1.0, 2.0 >, < 3.0 >, < 4, 5 > >"));
  gst_structure_take_value(s, "roi", &roi);
  const auto partial = contract::read_tracking_meta(odd);
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->roi, (contract::Polygon{{1, 2}, {4, 5}}));
  gst_buffer_unref(odd);
  gst_buffer_unref(buf);
}

TEST(AnalyticsContract, DropCountEventRoundTrips) {
  contract::DropCount d{"dq0", 17, 1234};
  GstEvent *e = contract::drops_event(d);
  EXPECT_EQ(GST_EVENT_TYPE(e), GST_EVENT_CUSTOM_DOWNSTREAM);
  EXPECT_TRUE(GST_EVENT_IS_SERIALIZED(e));
  EXPECT_EQ(contract::read_drops(e), d);
  gst_event_unref(e);

  GstEvent *other =
      gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty("vendor-thing"));
  EXPECT_FALSE(contract::read_drops(other));
  gst_event_unref(other);
  GstEvent *eos = gst_event_new_eos();
  EXPECT_FALSE(contract::read_drops(eos));
  gst_event_unref(eos);
  GstEvent *bare =
      gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty("keepup-drops"));
  const auto empty = contract::read_drops(bare);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->dropped, 0U);
  gst_event_unref(bare);
}
