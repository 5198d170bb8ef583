// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's core behind detectors that do not run on every frame: which frames are
// measurements (FrameClassifier), track life by time (tentative tracks included), tracks
// ending on time when everything leaves, and frames that only predict.
#include <gtest/gtest.h>

#include <algorithm>

#include "frame_policy.hpp"
#include "tracker.hpp"

using namespace keepup::track;

namespace {

constexpr std::int64_t kFrame = 33'333'333; // 30 fps in ns

Box box_at(double cx, double cy, double w = 40, double h = 20) {
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

FrameFacts facts(std::int64_t t_ns, std::size_t detections, std::size_t stale = 0) {
  FrameFacts f;
  f.t_ns = t_ns;
  f.detections = detections;
  f.stale = stale;
  return f;
}

} // namespace

TEST(FrameClassifier, InferenceMetaAndStaleMarksDecideFirst) {
  for (EmptyFrames e :
       {EmptyFrames::automatic, EmptyFrames::no_objects, EmptyFrames::not_inferred}) {
    SCOPED_TRACE(empty_frames_name(e));
    FrameClassifier c(e);
    FrameFacts f = facts(0, 0);
    f.inference_fresh = true;
    EXPECT_EQ(c.classify(f), FrameKind::update) << "an empty inferred frame: nothing there";
    f.inference_fresh = false;
    f.detections = 3;
    EXPECT_EQ(c.classify(f), FrameKind::predict) << "not inferred, whatever it carries";
    EXPECT_EQ(c.classify(facts(kFrame, 2, 2)), FrameKind::predict) << "all reused";
    EXPECT_EQ(c.classify(facts(2 * kFrame, 2, 1)), FrameKind::update) << "one fresh";
    EXPECT_EQ(c.classify(facts(3 * kFrame, 2, 0)), FrameKind::update);
  }
  FrameClassifier no(EmptyFrames::no_objects), ni(EmptyFrames::not_inferred);
  // A frame the detector's motion gate skipped as still: hold, not predict.
  FrameFacts still = facts(0, 0);
  still.inference_fresh = false;
  still.scene_still = true;
  EXPECT_EQ(no.classify(still), FrameKind::hold);
  still.inference_fresh = true; // inferred after all: the flag means nothing then
  EXPECT_EQ(no.classify(still), FrameKind::update);
  EXPECT_STREQ(frame_kind_name(FrameKind::hold), "hold");
  EXPECT_STREQ(frame_kind_name(FrameKind::predict), "predict");
  EXPECT_EQ(no.classify(facts(0, 0)), FrameKind::update);
  EXPECT_EQ(ni.classify(facts(0, 0)), FrameKind::predict);
}

TEST(FrameClassifier, AutoLearnsASparseDetectorsCadence) {
  FrameClassifier c;
  // Before anything is learned an empty frame means "no objects".
  EXPECT_EQ(c.classify(facts(0, 0)), FrameKind::update);
  // Detections on every 3rd frame, empty frames between.
  std::int64_t n = 1;
  for (; n < 30; ++n)
    c.classify(facts(n * kFrame, n % 3 == 0 ? 2 : 0));
  EXPECT_NEAR(static_cast<double>(c.detector_interval_ns()), 3.0 * kFrame, 1000);
  EXPECT_NEAR(static_cast<double>(c.frame_period_ns()), 1.0 * kFrame, 1000);
  // n = 30: detections; 31..35 (< 2 intervals - half a frame): not inferred; 36 on: empty.
  EXPECT_EQ(c.classify(facts(30 * kFrame, 2)), FrameKind::update);
  for (std::int64_t k = 31; k <= 35; ++k)
    EXPECT_EQ(c.classify(facts(k * kFrame, 0)), FrameKind::predict) << k;
  EXPECT_EQ(c.classify(facts(36 * kFrame, 0)), FrameKind::update) << "two results missed: empty";
}

TEST(FrameClassifier, AutoOnAnEveryFrameDetectorTakesEmptyFramesAsEmpty) {
  FrameClassifier c;
  for (std::int64_t n = 0; n < 20; ++n)
    EXPECT_EQ(c.classify(facts(n * kFrame, 1)), FrameKind::update);
  EXPECT_EQ(c.classify(facts(20 * kFrame, 0)), FrameKind::update);
  c.reset();
  EXPECT_EQ(c.detector_interval_ns(), 0);
}

// What broke behind a detector that leaves the frames between empty: tentative tracks ended on
// the first empty frame, so nothing was ever confirmed. Their life is time now.
TEST(TrackLife, TentativeTracksSurviveEmptyFramesWithinTheCoastTime) {
  TrackerConfig c;
  c.min_hits = 3;
  Tracker t(c);
  std::vector<TrackOutput> out;
  for (int f = 0; f <= 6; ++f) // detections on frames 0, 3, 6; "nothing" between
    out = t.update(f % 3 == 0 ? std::vector<Detection>{{box_at(100 + 4.0 * f, 100), 0, 0.9}}
                              : std::vector<Detection>{},
                   f * kFrame);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].state, TrackState::confirmed);
  EXPECT_EQ(t.counters().total_tracks, 1U);
  // A tentative track unseen for longer than the coast time ends without a trace.
  Tracker u(c);
  u.update({{box_at(100, 100), 0, 0.9}}, 0);
  u.update({}, 400'000'000);
  u.update({{box_at(100, 100), 0, 0.9}}, 433'000'000);
  EXPECT_EQ(u.counters().total_tracks, 2U);
  EXPECT_TRUE(u.take_track_events().empty());
}

TEST(TrackLife, EverybodyLeavesAndOnlyPredictionsFollowTracksStillEndOnTime) {
  TrackerConfig c;
  c.min_hits = 2;
  c.max_lost_ns = 500'000'000;
  c.frame_width = 640;
  c.frame_height = 360;
  Tracker t(c);
  // Two cars in the middle of the picture, measured on every 3rd frame, predicted between.
  for (int f = 0; f < 30; ++f) {
    if (f % 3 == 0)
      t.update({{box_at(200 + 2.0 * f, 100), 0, 0.9}, {box_at(300, 250 - 1.0 * f), 0, 0.9}},
               f * kFrame);
    else
      t.predict(f * kFrame);
  }
  const std::int64_t last_seen = 27 * kFrame;
  ASSERT_EQ(t.active(), 2U);
  t.take_track_events();
  // The detector sees nothing more, but its frames are empty and taken as "not inferred":
  // nothing is ever a miss (no evidence of absence: the tracks are still reported). They
  // still end max-lost-time after they were last seen.
  std::vector<TrackEvent> ended;
  std::int64_t f = 30;
  for (; f < 90 && ended.size() < 2; ++f) {
    const auto out = t.predict(f * kFrame);
    for (auto &e : t.take_track_events())
      ended.push_back(e);
    EXPECT_EQ(out.size(), 2U - ended.size()) << f;
  }
  ASSERT_EQ(ended.size(), 2U);
  for (const auto &e : ended) {
    EXPECT_FALSE(e.started);
    EXPECT_EQ(e.last_seen_ns, last_seen);
    EXPECT_LE(e.t_ns - last_seen, 500'000'000 + kFrame);
    EXPECT_GT(e.t_ns - last_seen, 500'000'000 - kFrame);
  }
  EXPECT_EQ(t.active(), 0U);
  EXPECT_TRUE(t.predict(f * kFrame).empty());
}

TEST(TrackLife, AnUnmeasuredTrackWhosePredictionLeftThePictureEndsAtOnce) {
  TrackerConfig c;
  c.min_hits = 1;
  c.frame_width = 640;
  c.frame_height = 360;
  Tracker t(c);
  for (int f = 0; f < 10; ++f) // 600 px/s to the right, last seen near the right edge
    t.update({{box_at(440 + 20.0 * f, 100), 0, 0.9}}, f * kFrame);
  t.take_track_events();
  std::size_t ended = 0;
  for (int f = 10; f < 20 && ended == 0; ++f) {
    t.update({}, f * kFrame);
    ended = t.take_track_events().size();
    if (ended) {
      EXPECT_LT(f, 16) << "gone well before max-lost-time (30 frames)";
    }
  }
  EXPECT_EQ(ended, 1U);
}

TEST(TrackLife, WindowsStretchWithASlowDetector) {
  // One result per second: tracks must neither blink out nor end between two results.
  TrackerConfig c;
  c.min_hits = 2;
  Tracker t(c);
  std::uint64_t id = 0;
  for (int s = 0; s < 10; ++s) {
    const auto out = t.update({{box_at(100 + 10.0 * s, 100), 0, 0.9}}, s * 1'000'000'000LL);
    for (int k = 1; k < 30 && s >= 6; ++k) // intervals are known after 5 gaps
      EXPECT_EQ(t.predict(s * 1'000'000'000LL + k * kFrame).size(), 1U) << s << " " << k;
    if (s >= 1) {
      ASSERT_EQ(out.size(), 1U) << s;
      if (id == 0)
        id = out[0].id;
      EXPECT_EQ(out[0].id, id);
    }
  }
  EXPECT_EQ(t.update_interval_ns(), 1'000'000'000);
}

// A motion-gated detector skips a still scene for up to a second: frames nobody looked at are
// no evidence of absence, so parked cars stay reported and keep their ids.
TEST(TrackLife, AStillSceneSkippedForASecondKeepsItsTracks) {
  TrackerConfig c;
  c.min_hits = 2;
  Tracker t(c);
  std::uint64_t id = 0;
  for (int f = 0; f < 30; ++f)
    t.update({{box_at(200, 100), 0, 0.9}}, f * kFrame);
  for (int f = 30; f < 58; ++f) { // 0.93 s without inference
    const auto out = t.predict(f * kFrame);
    ASSERT_EQ(out.size(), 1U) << f;
    EXPECT_EQ(out[0].state, TrackState::confirmed);
    id = out[0].id;
  }
  const auto out = t.update({{box_at(200, 100), 0, 0.9}}, 58 * kFrame); // the forced refresh
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].id, id);
  EXPECT_FALSE(out[0].predicted);
  EXPECT_EQ(t.counters().total_tracks, 1U);
}

// Traffic stops at a light and the motion gate skips the still picture: held frames keep the
// boxes where they were last measured (predict() would carry them on at the old speed, off the
// parked cars), and the refresh a second later matches the same track with no jump.
TEST(TrackLife, HeldFramesKeepAStoppedCarWhereItWasMeasured) {
  TrackerConfig c;
  c.min_hits = 2;
  Tracker held(c), predicted(c);
  for (int f = 0; f < 30; ++f) { // 300 px/s to the right, then it stops at x = 290
    const double x = 100 + 10.0 * std::min(f, 19);
    held.update({{box_at(x, 100), 0, 0.9}}, f * kFrame);
    predicted.update({{box_at(x, 100), 0, 0.9}}, f * kFrame);
  }
  // The filter still believes in some of the old speed after 10 frames standing.
  const auto moving = predicted.predict(30 * kFrame);
  ASSERT_EQ(moving.size(), 1U);
  const auto first_hold = held.hold(30 * kFrame);
  ASSERT_EQ(first_hold.size(), 1U);
  const double x_at_stop = (first_hold[0].box.x1 + first_hold[0].box.x2) / 2;
  EXPECT_NEAR(x_at_stop, 290, 6);
  std::uint64_t id = first_hold[0].id;
  for (int f = 31; f < 60; ++f) { // a second of still frames
    const auto h = held.hold(f * kFrame);
    ASSERT_EQ(h.size(), 1U) << f;
    EXPECT_EQ(h[0].state, TrackState::confirmed);
    EXPECT_TRUE(h[0].predicted);
    EXPECT_DOUBLE_EQ((h[0].box.x1 + h[0].box.x2) / 2, x_at_stop) << "a held box does not move";
    EXPECT_EQ(h[0].velocity.x, 0.0);
  }
  const auto drift = predicted.predict(59 * kFrame);
  ASSERT_EQ(drift.size(), 1U);
  EXPECT_GT((drift[0].box.x1 + drift[0].box.x2) / 2, x_at_stop + 10)
      << "predict() carries the box on: what hold() is for";
  const auto refresh = held.update({{box_at(290, 100), 0, 0.9}}, 60 * kFrame);
  ASSERT_EQ(refresh.size(), 1U);
  EXPECT_EQ(refresh[0].id, id);
  EXPECT_FALSE(refresh[0].predicted);
  EXPECT_EQ(held.counters().total_tracks, 1U);
}

// At the end of the stream every track ends (and leaves its zones) at the last frame, so the
// events hold a track-ended for every track-started.
TEST(TrackLife, FinishEndsEveryTrackAndEmptiesTheZones) {
  TrackerConfig c;
  c.min_hits = 1;
  c.zones = parse_zones("all:0,0;640,0;640,360;0,360");
  Tracker t(c);
  for (int f = 0; f < 10; ++f)
    t.update({{box_at(100 + 2.0 * f, 100), 0, 0.9}, {box_at(300, 200), 1, 0.9}}, f * kFrame);
  t.take_track_events();
  t.take_zone_events();
  t.finish(9 * kFrame);
  const auto ended = t.take_track_events();
  ASSERT_EQ(ended.size(), 2U);
  for (const auto &e : ended) {
    EXPECT_FALSE(e.started);
    EXPECT_EQ(e.t_ns, 9 * kFrame);
    EXPECT_EQ(e.zones, std::vector<std::string>{"all"});
  }
  const auto exits = t.take_zone_events();
  ASSERT_EQ(exits.size(), 2U);
  EXPECT_EQ(exits[0].kind, ZoneEventKind::exited);
  EXPECT_EQ(t.active(), 0U);
  EXPECT_TRUE(t.occupancy().at("all").empty());
}
