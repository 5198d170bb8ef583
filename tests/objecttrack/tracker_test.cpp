// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's core: assignment, Kalman, association cases, homography, lines, parsers.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mot_metrics.hpp"
#include "tracker.hpp"

using namespace keepup::track;

namespace {

constexpr std::int64_t kFrame = 33'333'333; // 30 fps in ns

Box box_at(double cx, double cy, double w = 40, double h = 20) {
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

TrackerConfig quick_config() {
  TrackerConfig c;
  c.min_hits = 1;
  return c;
}

} // namespace

TEST(Assignment, OptimalOnAKnownMatrix) {
  // Greedy would take (0,0)=1 and then pay 9; the optimum pays 2 + 3.
  const std::vector<std::vector<double>> cost = {{1, 2}, {3, 9}};
  EXPECT_EQ(assign(cost, 100), (std::vector<int>{1, 0}));
  const std::vector<std::vector<double>> three = {{4, 1, 3}, {2, 0, 5}, {3, 2, 2}};
  EXPECT_EQ(assign(three, 100), (std::vector<int>{1, 0, 2}));
}

TEST(Assignment, RectangularAndGated) {
  const std::vector<std::vector<double>> wide = {{0.9, 0.1, 0.5}};
  EXPECT_EQ(assign(wide, 1.0), (std::vector<int>{1}));
  const std::vector<std::vector<double>> tall = {{0.3}, {0.1}, {0.2}};
  EXPECT_EQ(assign(tall, 1.0), (std::vector<int>{-1, 0, -1}));
  // Pairs above the gate are never made, even if that leaves rows unassigned.
  const std::vector<std::vector<double>> gated = {{0.95, 0.99}, {0.2, 0.97}};
  EXPECT_EQ(assign(gated, 0.8), (std::vector<int>{-1, 0}));
  EXPECT_TRUE(assign({}, 1.0).empty());
}

TEST(Kalman, ConstantVelocityIsLearnedAndPredicted) {
  BoxKalman kf;
  kf.init(box_at(100, 50));
  for (int i = 1; i <= 30; ++i) { // 60 px/s to the right, 30 fps
    kf.predict(1.0 / 30);
    kf.update(box_at(100 + 2.0 * i, 50));
  }
  EXPECT_NEAR(kf.velocity().x, 60.0, 3.0);
  EXPECT_NEAR(kf.velocity().y, 0.0, 1.0);
  kf.predict(0.5); // half a second without measurements
  EXPECT_NEAR(kf.box().centre().x, 160 + 30, 3.0);
}

TEST(Kalman, UpdateMovesTowardsTheMeasurementByTheGain) {
  Kalman1D k;
  k.init(0.0, 1.0, 1.0);
  k.update(10.0, 1.0); // equal variances: half way
  EXPECT_NEAR(k.position(), 5.0, 1e-9);
  EXPECT_NEAR(k.variance(), 0.5, 1e-9);
}

TEST(Tracker, IdsStayWithObjectsAndAreConfirmedAfterMinHits) {
  TrackerConfig c;
  c.min_hits = 3;
  Tracker t(c);
  std::vector<std::uint64_t> ids;
  for (int f = 0; f < 10; ++f) {
    const auto out = t.update(
        {{box_at(100 + 3.0 * f, 50), 0, 0.9}, {box_at(300, 200 - 2.0 * f), 1, 0.8}}, f * kFrame);
    if (f < 2) {
      EXPECT_TRUE(out.empty()) << "frame " << f << ": tentative tracks are not reported";
      continue;
    }
    ASSERT_EQ(out.size(), 2U) << f;
    if (ids.empty())
      ids = {out[0].id, out[1].id};
    EXPECT_EQ(out[0].id, ids[0]);
    EXPECT_EQ(out[1].id, ids[1]);
    EXPECT_EQ(out[0].detection, 0);
    EXPECT_EQ(out[1].detection, 1);
  }
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(t.counters().total_tracks, 2U);
}

TEST(Tracker, CrossingObjectsKeepTheirIds) {
  Tracker t(quick_config());
  std::uint64_t left_mover = 0, right_mover = 0;
  for (int f = 0; f < 60; ++f) {
    // Two cars on lanes 24 px apart, passing each other at frame 30.
    const double a = 100 + 6.0 * f, b = 460 - 6.0 * f;
    const auto out =
        t.update({{box_at(a, 100, 40, 20), 0, 0.9}, {box_at(b, 110, 40, 20), 0, 0.9}}, f * kFrame);
    ASSERT_EQ(out.size(), 2U) << f;
    for (const auto &o : out) {
      const bool is_a = o.detection == 0;
      std::uint64_t &id = is_a ? right_mover : left_mover;
      if (id == 0)
        id = o.id;
      EXPECT_EQ(o.id, id) << "frame " << f;
    }
  }
  EXPECT_EQ(t.counters().total_tracks, 2U);
}

TEST(Tracker, OcclusionGapWithinMaxLostTimeKeepsTheId) {
  TrackerConfig c = quick_config();
  c.max_lost_ns = 1'000'000'000;
  Tracker t(c);
  std::uint64_t id = 0;
  for (int f = 0; f < 40; ++f) {
    std::vector<Detection> dets;
    if (f < 10 || f >= 25) // hidden for 15 frames (0.5 s)
      dets.push_back({box_at(50 + 4.0 * f, 80), 0, 0.9});
    const auto out = t.update(dets, f * kFrame);
    if (dets.empty())
      continue;
    ASSERT_EQ(out.size(), 1U) << f;
    if (id == 0)
      id = out[0].id;
    EXPECT_EQ(out[0].id, id) << f;
  }
  EXPECT_EQ(t.counters().total_tracks, 1U);
}

TEST(Tracker, StartAndEndEvents) {
  TrackerConfig c;
  c.min_hits = 2;
  c.max_lost_ns = 100'000'000;
  Tracker t(c);
  t.update({{box_at(100, 100), 0, 0.9}}, 0);
  EXPECT_TRUE(t.take_track_events().empty()); // still tentative
  t.update({{box_at(102, 100), 0, 0.9}}, kFrame);
  auto events = t.take_track_events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_TRUE(events[0].started);
  t.update({}, 2 * kFrame);
  t.update({}, 8 * kFrame); // lost for 0.23 s > 0.1 s
  events = t.take_track_events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_FALSE(events[0].started);
  EXPECT_EQ(events[0].age_ns, 8 * kFrame);
}

TEST(Tracker, LostLongerThanMaxLostTimeStartsANewTrack) {
  TrackerConfig c = quick_config();
  c.max_lost_ns = 200'000'000;
  Tracker t(c);
  t.update({{box_at(100, 100), 0, 0.9}}, 0);
  t.update({}, 100'000'000);
  t.update({}, 400'000'000); // gone for 0.4 s > 0.2 s
  const auto out = t.update({{box_at(100, 100), 0, 0.9}}, 450'000'000);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].id, 2U);
}

TEST(Tracker, LowConfidenceDetectionsOnlyContinueTracks) {
  Tracker t(quick_config());
  const auto first = t.update({{box_at(100, 100), 0, 0.9}}, 0);
  ASSERT_EQ(first.size(), 1U);
  // Next frame the object is blurred (0.3) and a weak false positive appears elsewhere.
  const auto out = t.update({{box_at(103, 100), 0, 0.3}, {box_at(400, 300), 0, 0.3}}, kFrame);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].id, first[0].id);
  EXPECT_EQ(out[0].detection, 0);
  EXPECT_EQ(t.counters().total_tracks, 1U);
}

TEST(Tracker, ClassesArePerTrack) {
  Tracker t(quick_config());
  const auto a = t.update({{box_at(100, 100), 0, 0.9}}, 0);
  const auto b = t.update({{box_at(101, 100), 1, 0.9}}, kFrame); // same place, other class
  ASSERT_EQ(b.size(), 2U); // the new track, and the old one coasting on its prediction
  const auto &fresh = b[0].detection == 0 ? b[0] : b[1];
  const auto &coasting = b[0].detection == 0 ? b[1] : b[0];
  EXPECT_NE(fresh.id, a[0].id);
  EXPECT_EQ(coasting.id, a[0].id);
  EXPECT_TRUE(coasting.predicted);
  EXPECT_EQ(coasting.state, TrackState::lost);
  TrackerConfig any = quick_config();
  any.per_class = false;
  Tracker u(any);
  const auto c = u.update({{box_at(100, 100), 0, 0.9}}, 0);
  const auto d = u.update({{box_at(101, 100), 1, 0.9}}, kFrame);
  EXPECT_EQ(d[0].id, c[0].id);
}

TEST(Tracker, PredictionsFillFramesWithoutDetections) {
  Tracker t(quick_config());
  for (int f = 0; f < 10; ++f)
    t.update({{box_at(100 + 5.0 * f, 100), 0, 0.9}}, f * kFrame);
  const auto out = t.predict(12 * kFrame);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_TRUE(out[0].predicted);
  EXPECT_NEAR(out[0].box.centre().x, 160, 4.0);
}

TEST(Tracker, RoiKeepsOnlyObjectsStandingInside) {
  TrackerConfig c = quick_config();
  c.roi = parse_polygon("0,0;200,0;200,200;0,200");
  Tracker t(c);
  const auto out = t.update({{box_at(100, 100), 0, 0.9}, {box_at(300, 100), 0, 0.9}}, 0);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].detection, 0);
}

TEST(Tracker, SpeedFromTimestampsNotFrameCounts) {
  // 0.1 m per pixel, 100 px/s = 10 m/s = 36 km/h; frames arrive irregularly (drops).
  TrackerConfig c = quick_config();
  c.ground = Homography::from_scale(0.1);
  Tracker t(c);
  std::mt19937 rng(3);
  std::int64_t ts = 0;
  std::optional<double> speed;
  for (int f = 0; f < 60; ++f) {
    ts += kFrame * (1 + static_cast<int>(rng() % 3)); // 1-3 frame intervals
    const double x = 50 + 100.0 * static_cast<double>(ts) / 1e9;
    const auto out = t.update({{box_at(x, 100), 0, 0.9}}, ts);
    ASSERT_EQ(out.size(), 1U);
    speed = out[0].speed_kmh;
  }
  ASSERT_TRUE(speed.has_value());
  EXPECT_NEAR(*speed, 36.0, 0.5);
  Tracker uncalibrated(quick_config());
  EXPECT_FALSE(uncalibrated.update({{box_at(1, 1), 0, 0.9}}, 0)[0].speed_kmh.has_value());
}

TEST(Tracker, LineCrossingsHaveADirectionAndAreCountedOnce) {
  TrackerConfig c = quick_config();
  c.lines = parse_lines("gate:200,0,200,400");
  Tracker t(c);
  for (int f = 0; f < 40; ++f) // left to right across x = 200
    t.update({{box_at(100 + 10.0 * f, 100), 0, 0.9}, {box_at(500 - 10.0 * f, 300), 2, 0.9}},
             f * kFrame);
  const auto events = t.take_events();
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].line, "gate");
  EXPECT_NE(events[0].direction, events[1].direction);
  const auto &counts = t.counters().line_counts.at("gate");
  EXPECT_EQ(counts.first, 1U);
  EXPECT_EQ(counts.second, 1U);
  EXPECT_TRUE(t.take_events().empty());
}

TEST(Geometry, HomographyFromFourPointsMapsThemExactly) {
  // A perspective view of a 10 m x 40 m road section.
  const std::array<Point, 4> img = {Point{100, 700}, Point{1180, 700}, Point{800, 200},
                                    Point{480, 200}};
  const std::array<Point, 4> gnd = {Point{0, 0}, Point{10, 0}, Point{10, 40}, Point{0, 40}};
  const Homography h = Homography::from_points(img, gnd);
  for (int i = 0; i < 4; ++i) {
    const Point g = h.to_ground(img[static_cast<std::size_t>(i)]);
    EXPECT_NEAR(g.x, gnd[static_cast<std::size_t>(i)].x, 1e-6);
    EXPECT_NEAR(g.y, gnd[static_cast<std::size_t>(i)].y, 1e-6);
  }
  const Point mid = h.to_ground({640, 700}); // middle of the near edge
  EXPECT_NEAR(mid.x, 5.0, 1e-6);
  EXPECT_NEAR(mid.y, 0.0, 1e-6);
}

TEST(Geometry, CrossingDirectionAndSegmentBounds) {
  const CountLine line{"l", {0, 0}, {0, 10}};
  EXPECT_EQ(crossing(line, {-1, 5}, {1, 5}), -crossing(line, {1, 5}, {-1, 5}));
  EXPECT_NE(crossing(line, {-1, 5}, {1, 5}), 0);
  EXPECT_EQ(crossing(line, {-1, 20}, {1, 20}), 0); // passes beyond the segment's end
  EXPECT_EQ(crossing(line, {1, 5}, {2, 5}), 0);
  // Landing exactly on the line counts once, leaving it does not count again.
  EXPECT_NE(crossing(line, {-1, 5}, {0, 5}), 0);
  EXPECT_EQ(crossing(line, {0, 5}, {1, 5}), 0);
}

// Every part of a property string is checked: no empty fields, decimal numbers only (hex and
// trailing junk refused, the C locale never consulted), a polygon that encloses an area.
TEST(Geometry, PropertyStringsAreStrict) {
  auto refuses = [](auto parse, const std::string &text, const std::string &property,
                    const std::string &part) {
    SCOPED_TRACE(text);
    try {
      parse(text);
      ADD_FAILURE() << "accepted";
    } catch (const ParseError &e) {
      const std::string what = e.what();
      EXPECT_EQ(what.rfind(property + ":", 0), 0U) << what;
      EXPECT_NE(what.find(part), std::string::npos) << what;
    }
  };
  const auto roi = [](const std::string &t) { return parse_polygon(t); };
  const auto lines = [](const std::string &t) { return parse_lines(t); };
  const auto calibration = [](const std::string &t) { return parse_calibration(t); };
  refuses(roi, "0,0;10,10;20,20", "roi", "area");  // collinear
  refuses(roi, "5,5;5,5;5,5;5,5", "roi", "area");  // one point four times
  refuses(roi, "0,0;10,0;;10,10", "roi", "empty"); // empty field
  refuses(roi, "0,0;10,0;10,10;", "roi", "empty"); // trailing separator
  refuses(roi, "0,0;10,,0;10,10", "roi", "empty"); // empty coordinate
  refuses(roi, "0,0;0x10,0;10,10", "roi", "0x10"); // hex
  refuses(roi, "0,0;10,0;10,1e", "roi", "1e");     // junk
  refuses(roi, "0,0;10,0;10, inf", "roi", "inf");
  refuses(lines, "gate:0,0,,10,10", "lines", "empty");
  refuses(lines, "gate:0x0,0,10,10", "lines", "0x0");
  refuses(lines, "gate:0,0,10,10;;exit:1,1,5,5", "lines", "empty");
  refuses(lines, "gate:+1,0,10,10", "lines", "+1");
  refuses(calibration, "0x0,0:0,0;100,0:10,0;100,100:10,10;0,100:0,10", "calibration", "0x0");
  refuses(calibration, "0,0:0,0;;100,0:10,0;100,100:10,10;0,100:0,10", "calibration", "empty");
  refuses(calibration, "0,0:0,0;100,0:10,0;100,100:10,10;0,100:0,", "calibration", "empty");
  // Decimal notation with a point, spaces around fields, negative and exponent numbers pass.
  EXPECT_NO_THROW(parse_polygon(" 0.5,0 ; 10.25,0 ; 10,-1e1 "));
  EXPECT_NO_THROW(parse_lines("gate: 0.5, 0, 10, 10"));
}

TEST(Geometry, PropertyStringsAreCheckedWithClearMessages) {
  EXPECT_NO_THROW(parse_calibration("0,0:0,0;100,0:10,0;100,100:10,10;0,100:0,10"));
  try {
    parse_calibration("0,0:0,0;100,0:10,0;100,100:10,10");
    FAIL() << "three points accepted";
  } catch (const ParseError &e) {
    EXPECT_NE(std::string(e.what()).find("four"), std::string::npos);
  }
  EXPECT_THROW(parse_calibration("0,0:0,0;1,1:1,1;2,2:2,2;0,100:0,10"), ParseError); // collinear
  EXPECT_THROW(parse_calibration("0,0:0,0;100,0:10,x;100,100:10,10;0,100:0,10"), ParseError);
  EXPECT_THROW(parse_polygon("0,0;10,10"), ParseError);
  EXPECT_THROW(parse_polygon("0,0;10;10,10"), ParseError);
  EXPECT_THROW(parse_lines("a:0,0,10"), ParseError);
  EXPECT_THROW(parse_lines("a:0,0,10,10;a:1,1,2,2"), ParseError);
  EXPECT_THROW(parse_lines("bad name:0,0,10,10"), ParseError);
  EXPECT_THROW(parse_lines("z:5,5,5,5"), ParseError);
  const auto lines = parse_lines("north:0,10,100,10; south:0,90,100,90");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[1].name, "south");
  EXPECT_TRUE(inside_polygon(parse_polygon("0,0;10,0;10,10;0,10"), {5, 5}));
  EXPECT_FALSE(inside_polygon(parse_polygon("0,0;10,0;10,10;0,10"), {15, 5}));
}

TEST(Geometry, CalibrationThatDoesNotMapItsOwnPointsIsRejected) {
  // Fuzzer finds: the solved homography is NaN, or misses the points by far.
  EXPECT_THROW(
      parse_calibration("0,0:0,0;10,0:0,4;10,10:1,0;1,80:1,8888888888888888888888888888880"),
      ParseError);
  EXPECT_THROW(parse_calibration("100,700:0,0;1180,1e30:4,0;900,300:28,40;380,300:0,40"),
               ParseError);
  const Homography h = parse_calibration("100,700:0,0;1180,700:4,0;900,300:4,40;380,300:0,40");
  EXPECT_NEAR(h.to_ground({900, 300}).y, 40, 1e-6);
}

TEST(MotMetrics, GroundTruthRejectsNonFiniteOutOfRangeAndGarbage) {
  EXPECT_THROW(parse_mot_gt("1,nan,0,0,10,10\n"), std::invalid_argument);
  EXPECT_THROW(parse_mot_gt("1e30,1,0,0,10,10\n"), std::invalid_argument);
  EXPECT_THROW(parse_mot_gt("1abc,1,0,0,10,10\n"), std::invalid_argument);
  const auto seq = parse_mot_gt("2, 7,0,0,10,10\r\n");
  ASSERT_EQ(seq.at(2).size(), 1U);
  EXPECT_EQ(seq.at(2)[0].id, 7);
}
