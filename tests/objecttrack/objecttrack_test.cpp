// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack and detectoverlay through GstHarness: metas in -> ids out, predictions on
// frames without fresh detections, messages, settings errors; overlay pixels in every format.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "keepup_metas.hpp"
#include "roi_frames.hpp"
#include "test_util.hpp"

using namespace keepup::test;

namespace {

constexpr GstClockTime kFrame = GST_SECOND / 30;
const char *kCaps = "video/x-raw,format=BGR,width=640,height=360,framerate=30/1";

struct Box {
  guint x, y, w, h;
};

// A frame with one ROI meta per box, as yolodetect writes them.
GstBuffer *frame_with(guint64 n, const std::vector<Box> &boxes, int fresh = -1,
                      gsize size = 640 * 360 * 3) {
  std::vector<Roi> rois;
  for (const Box &b : boxes)
    rois.push_back({static_cast<double>(b.x), static_cast<double>(b.y), static_cast<double>(b.w),
                    static_cast<double>(b.h)});
  return roi_frame(n, rois, fresh, size);
}

HarnessPtr tracker(const std::string &props) {
  HarnessPtr h(gst_harness_new_parse(("objecttrack " + props).c_str()));
  gst_harness_set_src_caps_str(h.get(), kCaps);
  return h;
}

} // namespace

TEST(ObjectTrack, DetectionsInTrackIdsOut) {
  HarnessPtr h = tracker("min-hits=2");
  std::vector<guint64> first_ids;
  for (guint64 n = 0; n < 10; ++n) {
    GstBuffer *out = gst_harness_push_and_pull(
        h.get(), frame_with(n, {{static_cast<guint>(50 + 6 * n), 100, 60, 30},
                                {static_cast<guint>(400 - 5 * n), 250, 60, 30}}));
    const auto t = tracked(out);
    gst_buffer_unref(out);
    if (n == 0) {
      EXPECT_TRUE(t.empty()) << "tentative tracks are not reported, detections are replaced";
      continue;
    }
    ASSERT_EQ(t.size(), 2U) << n;
    if (first_ids.empty())
      first_ids = {t[0].id, t[1].id};
    EXPECT_EQ(t[0].id, first_ids[0]);
    EXPECT_EQ(t[1].id, first_ids[1]);
    EXPECT_EQ(t[0].state, "confirmed");
    EXPECT_FALSE(t[0].has_speed) << "no calibration, no speed";
  }
  EXPECT_NE(first_ids[0], first_ids[1]);
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  EXPECT_EQ(stats_u64(e, "total-tracks"), 2U);
  EXPECT_EQ(stats_u64(e, "updates"), 10U);
  gst_object_unref(e);
}

TEST(ObjectTrack, FramesWithoutFreshDetectionsGetPredictedBoxes) {
  HarnessPtr h = tracker("min-hits=1 meters-per-pixel=0.1");
  guint x = 0;
  for (guint64 n = 0; n < 20; ++n) { // 4 px per frame = 120 px/s = 12 m/s = 43.2 km/h
    x = static_cast<guint>(40 + 4 * n);
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame_with(n, {{x, 100, 60, 30}}, 1)));
  }
  // yolodetect interval: the next frames carry the stale box and fresh=false.
  for (guint64 n = 20; n < 23; ++n) {
    GstBuffer *out = gst_harness_push_and_pull(h.get(), frame_with(n, {{x, 100, 60, 30}}, 0));
    const auto t = tracked(out);
    gst_buffer_unref(out);
    ASSERT_EQ(t.size(), 1U);
    EXPECT_TRUE(t[0].predicted);
    const guint expected = static_cast<guint>(40 + 4 * n);
    EXPECT_NEAR(t[0].x, expected, 3.0) << "the prediction moves on, the stale box does not";
    ASSERT_TRUE(t[0].has_speed);
    EXPECT_NEAR(t[0].speed, 43.2, 2.0);
  }
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  EXPECT_EQ(stats_u64(e, "predictions"), 3U);
  gst_object_unref(e);
}

TEST(ObjectTrack, LineCrossingsAndTrackMessagesArePosted) {
  HarnessPtr h = tracker("min-hits=1 max-lost-time=100000000 post-track-messages=true "
                         "lines=\"gate:300,0,300,360\"");
  GstElement *e = gst_harness_find_element(h.get(), "objecttrack");
  BusTap tap(e);
  for (guint64 n = 0; n < 30; ++n)
    gst_buffer_unref(gst_harness_push_and_pull(
        h.get(), frame_with(n, {{static_cast<guint>(200 + 10 * n), 100, 40, 20}})));
  for (guint64 n = 30; n < 40; ++n) // gone: the track ends after 100 ms
    gst_buffer_unref(gst_harness_push_and_pull(h.get(), frame_with(n, {})));
  auto msgs = tap.take(GST_MESSAGE_ELEMENT);
  int crossed = 0, started = 0, ended = 0;
  for (GstMessage *m : msgs) {
    const GstStructure *s = gst_message_get_structure(m);
    if (gst_structure_has_name(s, "objecttrack-line-crossed")) {
      ++crossed;
      EXPECT_STREQ(gst_structure_get_string(s, "line"), "gate");
      EXPECT_STREQ(gst_structure_get_string(s, "label"), "car");
      int dir = 0;
      EXPECT_TRUE(gst_structure_get_int(s, "direction", &dir));
      EXPECT_NE(dir, 0);
    } else if (gst_structure_has_name(s, "objecttrack-track-started")) {
      ++started;
    } else if (gst_structure_has_name(s, "objecttrack-track-ended")) {
      ++ended;
    }
  }
  BusTap::unref_all(msgs);
  EXPECT_EQ(crossed, 1);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(ended, 1);
  GstStructure *stats = nullptr;
  g_object_get(e, "stats", &stats, nullptr);
  const GValue *lines = gst_structure_get_value(stats, "lines");
  ASSERT_NE(lines, nullptr);
  const GstStructure *ls = gst_value_get_structure(lines);
  guint64 fwd = 0, back = 0;
  gst_structure_get_uint64(ls, "gate-forward", &fwd);
  gst_structure_get_uint64(ls, "gate-backward", &back);
  EXPECT_EQ(fwd + back, 1U);
  gst_structure_free(stats);
  gst_object_unref(e);
}

TEST(ObjectTrack, BadPropertyStringsAreRefusedAtStart) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"calibration=\"0,0:0,0;100,0:10,0;100,100:10,10\"", "four"},
      {"roi=\"0,0;10,10\"", "at least 3"},
      {"roi=\"0,0;10,x;5,5\"", "not a number"},
      {"lines=\"gate:0,0,10\"", "four numbers"},
      {"lines=\"a:0,0,1,1;a:2,2,3,3\"", "used twice"},
  };
  for (const auto &[props, text] : cases) {
    SCOPED_TRACE(props);
    const PipelineError e =
        first_pipeline_error("videotestsrc num-buffers=1 ! objecttrack " + props + " ! fakesink");
    EXPECT_TRUE(e.matches(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.message;
    EXPECT_NE(e.debug.find(text), std::string::npos) << e.debug;
  }
}

TEST(ObjectTrack, DegenerateAndNonDecimalPropertyStringsAreSettingsErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"roi=\"0,0;10,10;20,20\"", "roi:"},
      {"roi=\"0,0;10,0;;10,10\"", "roi:"},
      {"roi=\"0,0;0x10,0;10,10\"", "0x10"},
      {"lines=\"gate:0,0,,10,10\"", "lines:"},
      {"lines=\"gate:0x0,0,10,10\"", "0x0"},
      {"calibration=\"0x0,0:0,0;100,0:10,0;100,100:10,10;0,100:0,10\"", "calibration:"},
  };
  for (const auto &[props, text] : cases) {
    SCOPED_TRACE(props);
    const PipelineError e =
        first_pipeline_error("videotestsrc num-buffers=1 ! objecttrack " + props + " ! fakesink");
    EXPECT_TRUE(e.matches(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS)) << e.message;
    EXPECT_NE(e.message.find(text), std::string::npos) << "named in the message: " << e.message;
  }
}

// The overlay draws where the boxes are and nowhere else, in every format, with strides
// padded (width 638).
TEST(DetectOverlay, PixelsChangeWhereBoxesAreDrawnInEveryFormat) {
  const int w = 638, h = 360;
  for (const char *format : {"BGR", "RGB", "BGRx", "BGRA", "RGBx", "RGBA", "I420", "NV12"}) {
    SCOPED_TRACE(format);
    const std::string caps =
        std::string("video/x-raw,format=") + format + ",width=638,height=360,framerate=30/1";
    GstCaps *c = gst_caps_from_string(caps.c_str());
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, c));
    gst_caps_unref(c);
    HarnessPtr hh(gst_harness_new_parse("detectoverlay show-hud=false"));
    gst_harness_set_src_caps_str(hh.get(), caps.c_str());
    GstBuffer *in = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
    gst_buffer_memset(in, 0, 60, GST_VIDEO_INFO_SIZE(&info));
    GST_BUFFER_PTS(in) = 0;
    auto *m = gst_buffer_add_video_region_of_interest_meta(in, "car", 100, 120, 200, 80);
    gst_video_region_of_interest_meta_add_param(m, gst_structure_new("detection", "confidence",
                                                                     G_TYPE_DOUBLE, 0.8, "class-id",
                                                                     G_TYPE_INT, 0, nullptr));
    gst_video_region_of_interest_meta_add_param(
        m, gst_structure_new("tracking", "track-id", G_TYPE_UINT64, G_GUINT64_CONSTANT(7),
                             "speed-kmh", G_TYPE_DOUBLE, 42.0, nullptr));
    GstBuffer *reference = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(hh.get(), in);
    ASSERT_NE(out, nullptr);
    GstVideoFrame a, b;
    ASSERT_TRUE(gst_video_frame_map(&a, &info, reference, GST_MAP_READ));
    ASSERT_TRUE(gst_video_frame_map(&b, &info, out, GST_MAP_READ));
    auto px = [](GstVideoFrame *f, int x, int y) {
      const auto *p = static_cast<const guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(f, 0));
      return p + y * GST_VIDEO_FRAME_PLANE_STRIDE(f, 0) + x * GST_VIDEO_FRAME_COMP_PSTRIDE(f, 0);
    };
    const int bytes = GST_VIDEO_FRAME_COMP_PSTRIDE(&a, 0);
    // On the box's left edge, at mid height: changed. Far from it: untouched.
    EXPECT_NE(std::memcmp(px(&a, 100, 160), px(&b, 100, 160), static_cast<std::size_t>(bytes)), 0);
    EXPECT_NE(std::memcmp(px(&a, 300, 160), px(&b, 300, 160), static_cast<std::size_t>(bytes)), 0);
    EXPECT_EQ(std::memcmp(px(&a, 500, 300), px(&b, 500, 300), static_cast<std::size_t>(bytes)), 0);
    EXPECT_EQ(std::memcmp(px(&a, 200, 160), px(&b, 200, 160), static_cast<std::size_t>(bytes)), 0)
        << "inside the box stays as it was";
    // The last column of the padded rows is still the picture's own.
    EXPECT_EQ(
        std::memcmp(px(&a, w - 1, h - 1), px(&b, w - 1, h - 1), static_cast<std::size_t>(bytes)),
        0);
    gst_video_frame_unmap(&a);
    gst_video_frame_unmap(&b);
    gst_buffer_unref(reference);
    gst_buffer_unref(out);
  }
}

TEST(DetectOverlay, EveryLayerCanBeSwitchedOff) {
  const char *caps = "video/x-raw,format=I420,width=320,height=240,framerate=30/1";
  HarnessPtr hh(gst_harness_new_parse("detectoverlay show-hud=false show-boxes=false "
                                      "show-labels=false show-trails=false"));
  gst_harness_set_src_caps_str(hh.get(), caps);
  const gsize size = 320 * 240 * 3 / 2;
  GstBuffer *in = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(in, 0, 60, size);
  GST_BUFFER_PTS(in) = 0;
  gst_buffer_add_video_region_of_interest_meta(in, "car", 10, 10, 100, 80);
  GstBuffer *reference = gst_buffer_copy_deep(in);
  GstBuffer *out = gst_harness_push_and_pull(hh.get(), in);
  GstMapInfo ma, mb;
  gst_buffer_map(reference, &ma, GST_MAP_READ);
  gst_buffer_map(out, &mb, GST_MAP_READ);
  EXPECT_EQ(std::memcmp(ma.data, mb.data, size), 0);
  gst_buffer_unmap(reference, &ma);
  gst_buffer_unmap(out, &mb);
  gst_buffer_unref(reference);
  gst_buffer_unref(out);
}
