// SPDX-License-Identifier: LGPL-2.1-or-later
// detectoverlay as an element: zones drawn with their live occupancy (and not with
// show-zones=false), and upstream drops learnt in band from the dropqueues' `keepup-drops`
// events, without a reference to any queue.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "analytics_contract.hpp"
#include "test_util.hpp"

namespace contract = keepup::contract;
using namespace keepup::test;

namespace {

constexpr int kWidth = 320, kHeight = 240;
constexpr guint8 kGrey = 90;

// The zone of these tests: x 100..260, y 100..200.
contract::TrackingMeta zone_scene(std::map<std::string, guint> occupancy) {
  contract::TrackingMeta m;
  m.zones = {{"lot", {{100, 100}, {260, 100}, {260, 200}, {100, 200}}}};
  m.occupancy["lot"] = std::move(occupancy);
  return m;
}

std::vector<guint8> draw(const contract::TrackingMeta &scene, bool show_zones) {
  GstHarness *h = gst_harness_new("detectoverlay");
  g_object_set(h->element, "show-hud", FALSE, "show-zones", show_zones ? TRUE : FALSE, nullptr);
  gst_harness_set_src_caps_str(h, ("video/x-raw,format=BGR,width=" + std::to_string(kWidth) +
                                   ",height=" + std::to_string(kHeight) + ",framerate=30/1")
                                      .c_str());
  const gsize size = static_cast<gsize>(kWidth) * kHeight * 3; // stride 960: a multiple of 4
  GstBuffer *in = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(in, 0, kGrey, size);
  GST_BUFFER_PTS(in) = 0;
  EXPECT_TRUE(contract::write(in, scene));
  EXPECT_EQ(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  std::vector<guint8> pixels(size);
  if (out) {
    gst_buffer_extract(out, 0, pixels.data(), size);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
  return pixels;
}

// Pixels that differ between a and b (or from the grey input when b is empty), counted
// inside the zone's box (its outline included) and outside it.
struct Changed {
  int inside = 0, outside = 0;
};
Changed changed(const std::vector<guint8> &a, const std::vector<guint8> &b = {}) {
  Changed c;
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x) {
      const std::size_t i = (static_cast<std::size_t>(y) * kWidth + x) * 3;
      bool differs = false;
      for (int k = 0; k < 3; ++k)
        differs = differs || a[i + k] != (b.empty() ? kGrey : b[i + k]);
      if (!differs)
        continue;
      const bool in_zone = x >= 96 && x <= 264 && y >= 96 && y <= 204;
      ++(in_zone ? c.inside : c.outside);
    }
  return c;
}

} // namespace

TEST(DetectOverlay, ZonesAreDrawnWithTheirOccupancy) {
  const auto one_car = draw(zone_scene({{"car", 1}}), true);
  const Changed drawn = changed(one_car);
  EXPECT_GT(drawn.inside, 300) << "outline and caption inside the zone's box";
  EXPECT_EQ(drawn.outside, 0) << "nothing else is on the frame";

  const auto busier = draw(zone_scene({{"car", 2}, {"bike", 1}}), true);
  EXPECT_GT(changed(busier, one_car).inside, 20) << "the caption follows the occupancy";

  const auto off = draw(zone_scene({{"car", 1}}), false);
  const Changed none = changed(off);
  EXPECT_EQ(none.inside + none.outside, 0) << "show-zones=false draws no zone";
}

namespace {

// One tracked car with a speed, and its uncertainty when given: the drawn frame.
std::vector<guint8> draw_car(std::optional<double> uncertainty) {
  GstHarness *h = gst_harness_new("detectoverlay");
  g_object_set(h->element, "show-hud", FALSE, nullptr);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=BGR,width=320,height=240,framerate=30/1");
  const gsize size = static_cast<gsize>(kWidth) * kHeight * 3;
  GstBuffer *in = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(in, 0, kGrey, size);
  GST_BUFFER_PTS(in) = 0;
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta(in, "car", 60, 120, 80, 50);
  contract::write(roi, contract::DetectionParam{"car", 0, 0.9, std::nullopt, true});
  contract::TrackingParam t;
  t.track_id = 4;
  t.state = "confirmed";
  t.speed_kmh = 52;
  t.speed_uncertainty_kmh = uncertainty;
  contract::write(roi, t);
  EXPECT_EQ(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  std::vector<guint8> pixels(size);
  if (out) {
    gst_buffer_extract(out, 0, pixels.data(), size);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
  return pixels;
}

} // namespace

TEST(DetectOverlay, ASpeedWithAnUncertaintyGetsALongerLabel) {
  const auto plain = draw_car(std::nullopt);
  const auto with = draw_car(3.0);
  // The label sits above the box (y < 120): "car 0.90 #4 52 km/h" vs "... 52 ± 3 km/h".
  int differ = 0;
  for (int y = 0; y < 120; ++y)
    for (int x = 0; x < kWidth; ++x)
      for (int k = 0; k < 3; ++k) {
        const std::size_t i = (static_cast<std::size_t>(y) * kWidth + x) * 3 + k;
        differ += plain[i] != with[i] ? 1 : 0;
      }
  EXPECT_GT(differ, 50);
  EXPECT_EQ(plain.size(), with.size());
}

namespace {

struct DropRun {
  guint64 overlay_dropped = 0, queue_dropped = 0;
  guint queues = 0;
  guint queue_refs_at_eos = 0;
  bool queue_finalized = false;
  std::string error;
};

// 30 frames into a dropqueue holding 2 whose output is held back until all of them went in
// (a blocking probe released at EOS on its sink pad): most of them are dropped, the same
// number on every run. `tail` is what follows the queue.
DropRun run_drops(const std::string &tail) {
  DropRun r;
  const std::string desc = "videotestsrc num-buffers=30 ! video/x-raw,format=I420,width=64,"
                           "height=48,framerate=30/1 ! dropqueue name=dq max-size-buffers=2 "
                           "leaky=downstream live-only=false ! " +
                           tail + " ! fakesink sync=false";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline) {
    r.error = err ? err->message : "parse failed";
    g_clear_error(&err);
    return r;
  }
  GstElement *dq = gst_bin_get_by_name(GST_BIN(pipeline), "dq");
  GstPad *src = gst_element_get_static_pad(dq, "src");
  GstPad *sink = gst_element_get_static_pad(dq, "sink");
  struct Hold {
    GstPad *src;
    gulong block;
  } hold{src, gst_pad_add_probe(
                  src, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM,
                  +[](GstPad *, GstPadProbeInfo *info, gpointer) {
                    return GST_IS_BUFFER(GST_PAD_PROBE_INFO_DATA(info)) ? GST_PAD_PROBE_OK
                                                                        : GST_PAD_PROBE_PASS;
                  },
                  nullptr, nullptr)};
  gst_pad_add_probe(
      sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      +[](GstPad *, GstPadProbeInfo *info, gpointer data) {
        auto *held = static_cast<Hold *>(data);
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS && held->block) {
          gst_pad_remove_probe(held->src, held->block);
          held->block = 0;
        }
        return GST_PAD_PROBE_OK;
      },
      &hold, nullptr);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg)
    r.error = "timeout";
  else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR)
    r.error = "error";
  if (msg)
    gst_message_unref(msg);
  gst_bus_set_flushing(bus, TRUE); // messages still queued hold references to their sources
  gst_object_unref(bus);

  g_object_get(dq, "dropped", &r.queue_dropped, nullptr);
  if (GstElement *ov = gst_bin_get_by_name(GST_BIN(pipeline), "ov")) {
    r.overlay_dropped = stats_u64(ov, "dropped-upstream");
    r.queues = stats_uint(ov, "upstream-queues");
    gst_object_unref(ov);
  }
  // Counted once both streaming threads left the queue (each holds its pad's stream lock,
  // and a reference to the queue, while inside) and the bus dropped its messages: no
  // passing reference is left then.
  GST_PAD_STREAM_LOCK(sink);
  GST_PAD_STREAM_LOCK(src);
  r.queue_refs_at_eos = G_OBJECT(dq)->ref_count;
  GST_PAD_STREAM_UNLOCK(src);
  GST_PAD_STREAM_UNLOCK(sink);
  gst_object_unref(sink);
  gst_object_unref(src);

  gst_element_set_state(pipeline, GST_STATE_NULL);
  g_object_add_weak_pointer(G_OBJECT(dq), reinterpret_cast<gpointer *>(&dq));
  gst_object_unref(dq); // ours; the pipeline holds the other
  gst_object_unref(pipeline);
  r.queue_finalized = dq == nullptr;
  if (dq)
    g_object_remove_weak_pointer(G_OBJECT(dq), reinterpret_cast<gpointer *>(&dq));
  return r;
}

} // namespace

TEST(DetectOverlay, UpstreamDropsArriveInBandWithoutAReferenceToTheQueue) {
  const DropRun with_overlay = run_drops("videoconvert ! detectoverlay name=ov");
  ASSERT_EQ(with_overlay.error, "");
  EXPECT_GT(with_overlay.queue_dropped, 20U) << "the held queue dropped most of the 30";
  EXPECT_EQ(with_overlay.overlay_dropped, with_overlay.queue_dropped)
      << "the overlay knows the queue's final total (announced before EOS too)";
  EXPECT_EQ(with_overlay.queues, 1U);
  EXPECT_TRUE(with_overlay.queue_finalized) << "nothing keeps the queue alive";

  // The same pipeline without the overlay: the queue has as many references at EOS, so the
  // overlay holds none.
  const DropRun without = run_drops("videoconvert ! identity");
  ASSERT_EQ(without.error, "");
  EXPECT_EQ(with_overlay.queue_refs_at_eos, without.queue_refs_at_eos);
}

TEST(DetectOverlay, DropsOfSeveralQueuesAreSummedPerQueue) {
  GstHarness *h = gst_harness_new("detectoverlay");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=BGR,width=32,height=32,framerate=30/1");
  ASSERT_TRUE(gst_harness_push_event(h, contract::drops_event({"a", 1, 5})));
  ASSERT_TRUE(gst_harness_push_event(h, contract::drops_event({"b", 2, 7})));
  ASSERT_TRUE(gst_harness_push_event(h, contract::drops_event({"a", 1, 9}))); // a running total
  EXPECT_EQ(stats_u64(h->element, "dropped-upstream"), 16U);
  EXPECT_EQ(stats_uint(h->element, "upstream-queues"), 2U);
  // The events go on downstream (another overlay, the application).
  int passed = 0;
  while (GstEvent *e = gst_harness_try_pull_event(h)) {
    passed += contract::read_drops(e) ? 1 : 0;
    gst_event_unref(e);
  }
  EXPECT_EQ(passed, 3);
  gst_harness_teardown(h);
}
