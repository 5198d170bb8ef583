// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's core: decoding both layouts with exact letterbox un-mapping, NMS, filters,
// names, statistics and the async mailbox.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "latest_worker.hpp"
#include "onnx_builder.hpp"
#include "yolo_decode.hpp"

using namespace keepup;
using namespace keepup::yolo;
using keepup::test::v8_tensor;

namespace {

void expect_box(const Detection &d, float x1, float y1, float x2, float y2) {
  EXPECT_NEAR(d.box.x1, x1, 1e-3);
  EXPECT_NEAR(d.box.y1, y1, 1e-3);
  EXPECT_NEAR(d.box.x2, x2, 1e-3);
  EXPECT_NEAR(d.box.y2, y2, 1e-3);
}

} // namespace

TEST(Letterbox, LandscapeFramePadsTopAndBottom) {
  const Letterbox lb = letterbox_geometry(640, 360, 320);
  EXPECT_FLOAT_EQ(lb.scale, 0.5F);
  EXPECT_EQ(lb.scaled_width, 320);
  EXPECT_EQ(lb.scaled_height, 180);
  EXPECT_EQ(lb.pad_x, 0);
  EXPECT_EQ(lb.pad_y, 70);
  EXPECT_FLOAT_EQ(lb.to_frame_y(lb.to_square_y(123.0F)), 123.0F);
  const Letterbox portrait = letterbox_geometry(360, 640, 320);
  EXPECT_EQ(portrait.pad_x, 70);
  EXPECT_EQ(portrait.pad_y, 0);
}

TEST(Decode, V8BoxesAreUnletterboxedExactly) {
  const auto t = v8_tensor({{160, 160, 64, 32, 0.9F, 0.1F},
                            {100, 120, 20, 20, 0.2F, 0.3F},
                            {50, 50, 10, 10, 0.1F, 0.05F}});
  const OutputLayout layout{Layout::v8, 3, 2};
  const auto dets = decode(t.data(), layout, letterbox_geometry(640, 360, 320), 640, 360, {});
  ASSERT_EQ(dets.size(), 2U);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_FLOAT_EQ(dets[0].confidence, 0.9F);
  expect_box(dets[0], 256, 148, 384, 212);
  EXPECT_EQ(dets[1].class_id, 1);
  EXPECT_FLOAT_EQ(dets[1].confidence, 0.3F);
  expect_box(dets[1], 180, 80, 220, 120);
}

TEST(Decode, V5ConfidenceIsObjectnessTimesClass) {
  const std::vector<float> t = {160, 160, 64, 32, 0.8F, 0.5F, 0.9F,  // -> class 1, 0.72
                                100, 100, 10, 10, 0.2F, 1.0F, 1.0F}; // objectness too low
  const OutputLayout layout{Layout::v5, 2, 2};
  const auto dets = decode(t.data(), layout, letterbox_geometry(640, 360, 320), 640, 360, {});
  ASSERT_EQ(dets.size(), 1U);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_NEAR(dets[0].confidence, 0.72F, 1e-6);
  expect_box(dets[0], 256, 148, 384, 212);
}

TEST(Decode, BoxesAreClippedToTheFrame) {
  const auto t = v8_tensor({{5, 75, 40, 20, 0.9F}}); // left edge and top padding
  const auto dets =
      decode(t.data(), {Layout::v8, 1, 1}, letterbox_geometry(640, 360, 320), 640, 360, {});
  ASSERT_EQ(dets.size(), 1U);
  expect_box(dets[0], 0, 0, 50, 30);
}

TEST(Decode, NmsIsPerClass) {
  const auto t = v8_tensor({{100, 100, 40, 40, 0.9F, 0.0F},
                            {102, 101, 40, 40, 0.8F, 0.0F},   // same class, overlaps: suppressed
                            {101, 100, 40, 40, 0.0F, 0.7F}}); // other class: kept
  const auto dets =
      decode(t.data(), {Layout::v8, 3, 2}, letterbox_geometry(320, 320, 320), 320, 320, {});
  ASSERT_EQ(dets.size(), 2U);
  EXPECT_FLOAT_EQ(dets[0].confidence, 0.9F);
  EXPECT_EQ(dets[1].class_id, 1);
}

TEST(Decode, ClassFilterPicksTheBestKeptClass) {
  const auto t = v8_tensor({{100, 100, 40, 40, 0.9F, 0.5F}, {200, 200, 40, 40, 0.9F, 0.1F}});
  DecodeOptions options;
  options.keep_class = {false, true};
  const auto dets =
      decode(t.data(), {Layout::v8, 2, 2}, letterbox_geometry(320, 320, 320), 320, 320, options);
  ASSERT_EQ(dets.size(), 1U);
  EXPECT_EQ(dets[0].class_id, 1);
  EXPECT_FLOAT_EQ(dets[0].confidence, 0.5F);
}

TEST(Decode, MaxDetectionsKeepsTheMostConfident) {
  std::vector<std::vector<float>> anchors;
  for (int i = 0; i < 10; ++i)
    anchors.push_back({20.0F + 30.0F * i, 50, 20, 20, 0.3F + 0.05F * i});
  const auto t = v8_tensor(anchors);
  DecodeOptions options;
  options.max_detections = 3;
  const auto dets =
      decode(t.data(), {Layout::v8, 10, 1}, letterbox_geometry(320, 320, 320), 320, 320, options);
  ASSERT_EQ(dets.size(), 3U);
  EXPECT_NEAR(dets[0].confidence, 0.75F, 1e-6);
  EXPECT_NEAR(dets[2].confidence, 0.65F, 1e-6);
}

TEST(Layout, AutoDetectsFromTheShape) {
  auto v8 = resolve_layout({1, 84, 8400}, Layout::automatic, 0);
  EXPECT_EQ(v8.layout, Layout::v8);
  EXPECT_EQ(v8.classes, 80);
  EXPECT_EQ(v8.anchors, 8400);
  auto v5 = resolve_layout({1, 25200, 85}, Layout::automatic, 0);
  EXPECT_EQ(v5.layout, Layout::v5);
  EXPECT_EQ(v5.classes, 80);
  EXPECT_EQ(resolve_layout({1, 7, 2100}, Layout::automatic, 3).layout, Layout::v8);
  EXPECT_EQ(resolve_layout({1, 6300, 8}, Layout::automatic, 3).layout, Layout::v5);
  EXPECT_EQ(resolve_layout({1, 84, 8400}, Layout::v5, 0).classes, 8395); // the user decides
}

TEST(Layout, AmbiguousOrWrongShapesNameBothOptions) {
  try {
    resolve_layout({1, 9, 9}, Layout::automatic, 0);
    FAIL() << "square output accepted";
  } catch (const LayoutError &e) {
    EXPECT_NE(std::string(e.what()).find("layout=v5"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("layout=v8"), std::string::npos);
  }
  EXPECT_THROW(resolve_layout({1, 3, 4, 4}, Layout::automatic, 0), LayoutError);
  EXPECT_THROW(resolve_layout({1, 4, 100}, Layout::v8, 0), LayoutError);
  // Known class count that fits neither reading.
  EXPECT_THROW(resolve_layout({1, 84, 8400}, Layout::automatic, 3), LayoutError);
}

TEST(Names, UltralyticsMetadata) {
  const auto names = parse_names_metadata("{0: 'person', 1: \"bi cycle\", 2: 'car'}");
  ASSERT_EQ(names.size(), 3U);
  EXPECT_EQ(names[1], "bi cycle");
  EXPECT_TRUE(parse_names_metadata("['a', 'b']").empty());
  EXPECT_TRUE(parse_names_metadata("{0: 'a', 5: 'b'}").empty()); // ids must be 0..N-1
  EXPECT_EQ(class_label(names, 2), "car");
  EXPECT_EQ(class_label(names, 7), "class7");
  EXPECT_EQ(coco80_names().size(), 80U);
  EXPECT_EQ(coco80_names()[2], "car");
}

TEST(Names, LabelsFileSkipsCommentsBlankLinesAndCarriageReturns) {
  const auto names = parse_labels_file("# traffic\r\ncar\r\n\r\n  truck \nbike");
  ASSERT_EQ(names.size(), 3U);
  EXPECT_EQ(names[0], "car");
  EXPECT_EQ(names[1], "truck");
  EXPECT_EQ(names[2], "bike");
}

TEST(Names, ClassFilterByNameAndId) {
  const std::vector<std::string> names = {"car", "truck", "bike"};
  const auto keep = parse_class_filter("car, 2", names, 3);
  EXPECT_EQ(keep, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(parse_class_filter("", names, 3).empty());
  try {
    parse_class_filter("car,plane", names, 3);
    FAIL() << "unknown class accepted";
  } catch (const std::invalid_argument &e) {
    EXPECT_NE(std::string(e.what()).find("plane"), std::string::npos);
  }
  EXPECT_THROW(parse_class_filter("3", names, 3), std::invalid_argument);
}

TEST(Names, ClassFilterRefusesHugeHexNegativeAndEmptyEntriesAsInvalidArgument) {
  const std::vector<std::string> names = {"car", "truck", "bike"};
  for (const char *bad : {"99999999999999999999", "0x1", "-1", "car,,bike", "car,", "1.0"}) {
    SCOPED_TRACE(bad);
    try {
      parse_class_filter(bad, names, 3);
      FAIL() << "accepted";
    } catch (const std::invalid_argument &e) { // not out_of_range: a settings error
      EXPECT_NE(std::string(e.what()).find("classes"), std::string::npos) << e.what();
    }
  }
}

TEST(Latency, MeanAndP95OverTheWindow) {
  LatencyWindow w(100);
  for (int i = 1; i <= 100; ++i)
    w.add(i);
  EXPECT_DOUBLE_EQ(w.mean(), 50.5);
  EXPECT_DOUBLE_EQ(w.p95(), 95.0);
  EXPECT_DOUBLE_EQ(w.last(), 100.0);
  w.add(7.0); // wraps: the newest sample is the last one
  EXPECT_DOUBLE_EQ(w.last(), 7.0);
  for (int i = 0; i < 100; ++i) // the window forgets old samples
    w.add(1000.0);
  EXPECT_DOUBLE_EQ(w.last(), 1000.0);
  EXPECT_DOUBLE_EQ(w.mean(), 1000.0);
}

TEST(LatestWorker, ABusyWorkerTakesOnlyTheNewestJob) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false, started = false;
  std::vector<int> seen;
  LatestWorker<int, int> worker([&](int &job) {
    std::unique_lock lk(m);
    seen.push_back(job);
    started = true;
    cv.notify_all();
    cv.wait(lk, [&] { return release; });
    return job * 10;
  });
  worker.submit(1);
  {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return started; });
  }
  for (int j = 2; j <= 6; ++j) // the worker is busy with job 1: these replace each other
    worker.submit(j);
  {
    std::lock_guard lk(m);
    release = true;
  }
  cv.notify_all();
  worker.wait_idle();
  std::uint64_t generation = 0;
  const auto latest = worker.latest(&generation);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(*latest, 60);
  EXPECT_EQ(seen, (std::vector<int>{1, 6}));
  const auto c = worker.counters();
  EXPECT_EQ(c.submitted, 6U);
  EXPECT_EQ(c.replaced, 4U);
  EXPECT_EQ(c.completed, 2U);
  EXPECT_EQ(generation, 2U);
}

TEST(LatestWorker, AThrowingJobLeavesTheWorkerServing) {
  LatestWorker<int, int> worker([](int &job) {
    if (job < 0)
      throw std::runtime_error("bad job");
    return job;
  });
  worker.submit(-1);
  worker.wait_idle();
  EXPECT_FALSE(worker.latest().has_value());
  worker.submit(5);
  worker.wait_idle();
  EXPECT_EQ(worker.latest().value_or(0), 5);
}
