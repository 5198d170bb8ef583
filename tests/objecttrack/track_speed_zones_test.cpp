// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's core: speeds people can trust (samples refused at the frame edge and on size
// jumps, a minimum ground displacement, an uncertainty), zones (parsing, entry, exit with
// dwell, loitering, occupancy per class) and line counts per class and direction.
#include <gtest/gtest.h>

#include <random>

#include "speed_estimator.hpp"
#include "tracker.hpp"
#include "zones.hpp"

using namespace keepup::track;

namespace {

constexpr std::int64_t kFrame = 33'333'333; // 30 fps in ns

Box box_at(double cx, double cy, double w = 40, double h = 20) {
  return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
}

// Feeds `frames` boxes moving at `px_per_s` along x; returns the last estimate.
std::optional<SpeedEstimate> run(SpeedEstimator &s, const SpeedSettings &cfg, const Homography &g,
                                 double x0, double px_per_s, int frames, double jitter = 0,
                                 unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0, jitter > 0 ? jitter : 1);
  for (int f = 0; f < frames; ++f) {
    const double x = x0 + px_per_s * f * kFrame / 1e9 + (jitter > 0 ? n(rng) : 0);
    const Box b = box_at(x, 200);
    s.add(f * kFrame, b, g, cfg, 1280, 720);
  }
  return s.estimate();
}

} // namespace

TEST(Speed, ExactMotionGivesTheSpeedAndOnlyThePixelFloorAsUncertainty) {
  const SpeedSettings cfg;
  SpeedEstimator s;
  // 100 px/s at 0.1 m/px = 10 m/s = 36 km/h.
  const auto e = run(s, cfg, Homography::from_scale(0.1), 100, 100, 60);
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(e->kmh, 36.0, 1e-6);
  EXPECT_GT(e->uncertainty_kmh, 0.0);
  EXPECT_LT(e->uncertainty_kmh, 0.5);
}

TEST(Speed, UncertaintyGrowsWithJitterAndWithMetresPerPixel) {
  const SpeedSettings cfg;
  SpeedEstimator quiet, noisy, coarse;
  const auto q = run(quiet, cfg, Homography::from_scale(0.05), 100, 200, 60, 0.0);
  const auto n = run(noisy, cfg, Homography::from_scale(0.05), 100, 200, 60, 4.0);
  const auto c = run(coarse, cfg, Homography::from_scale(0.10), 100, 100, 60, 0.0);
  ASSERT_TRUE(q && n && c);
  EXPECT_GT(n->uncertainty_kmh, 3 * q->uncertainty_kmh);
  EXPECT_NEAR(c->uncertainty_kmh, 2 * q->uncertainty_kmh, 1e-6) << "same motion, twice the scale";
  // The interval holds the truth (36 km/h) for a jittery track most of the time.
  int held = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    SpeedEstimator s;
    const auto e = run(s, cfg, Homography::from_scale(0.05), 100, 200, 60, 4.0, seed);
    held += std::abs(e->kmh - 36.0) <= e->uncertainty_kmh;
  }
  EXPECT_GE(held, 34) << "about 95 % coverage";
}

TEST(Speed, NoSpeedBeforeTheMinimumGroundDisplacement) {
  SpeedSettings cfg;
  cfg.min_distance_m = 1.0;
  SpeedEstimator creeping, still;
  // 0.2 m/s for 2 s = 0.4 m: not enough to call it a speed.
  EXPECT_FALSE(run(creeping, cfg, Homography::from_scale(0.1), 100, 2, 60).has_value());
  EXPECT_FALSE(run(still, cfg, Homography::from_scale(0.1), 100, 0, 60, 0.5).has_value());
  SpeedEstimator moving;
  EXPECT_TRUE(run(moving, cfg, Homography::from_scale(0.1), 100, 20, 60).has_value());
}

TEST(Speed, ClippedBoxesAndSizeJumpsAreLeftOut) {
  SpeedSettings cfg;
  cfg.window_ns = 1'000'000'000;
  const Homography g = Homography::from_scale(0.1);
  SpeedEstimator s;
  // Entering from the left edge: the box grows, its bottom centre races ahead of the car.
  EXPECT_EQ(s.add(0, {0, 100, 30, 120}, g, cfg, 1280, 720), SpeedSample::clipped);
  EXPECT_EQ(s.add(kFrame, {100, 700, 140, 720}, g, cfg, 1280, 720), SpeedSample::clipped);
  EXPECT_EQ(s.add(2 * kFrame, box_at(300, 200, 40, 20), g, cfg, 1280, 720), SpeedSample::used);
  // Half hidden behind a truck: the box shrinks against the last one fitted.
  EXPECT_EQ(s.add(3 * kFrame, box_at(300, 200, 20, 20), g, cfg, 1280, 720), SpeedSample::size_jump);
  EXPECT_EQ(s.add(4 * kFrame, box_at(301, 200, 22, 20), g, cfg, 1280, 720), SpeedSample::size_jump);
  EXPECT_EQ(s.add(5 * kFrame, box_at(302, 200, 44, 21), g, cfg, 1280, 720), SpeedSample::used);
  EXPECT_FALSE(s.estimate().has_value());
  // A size kept for a whole window is the object's own: fitted again from then on.
  SpeedSample last = SpeedSample::size_jump;
  for (int f = 6; f < 60; ++f)
    last = s.add(f * kFrame, box_at(302 + f, 200, 80, 20), g, cfg, 1280, 720);
  EXPECT_EQ(last, SpeedSample::used);
}

TEST(Speed, TrackerReportsSpeedWithUncertaintyAndSkipsOcclusion) {
  TrackerConfig c;
  c.min_hits = 1;
  c.ground = Homography::from_scale(0.1);
  c.frame_width = 1280;
  c.frame_height = 720;
  Tracker t(c);
  std::optional<double> speed, uncertainty;
  for (int f = 0; f < 60; ++f) { // 100 px/s = 36 km/h; frames 30-39 half occluded
    const double x = 100 + 100.0 * f * kFrame / 1e9;
    const bool occluded = f >= 30 && f < 40;
    // The visible half's bottom centre sits 10 px behind the car's: a false 'slowdown'.
    const Box b = occluded ? Box{x - 20, 190, x, 210} : box_at(x, 200);
    const auto out = t.update({{b, 0, 0.9}}, f * kFrame);
    ASSERT_EQ(out.size(), 1U);
    if (out[0].speed_kmh) {
      ASSERT_TRUE(out[0].speed_uncertainty_kmh.has_value());
      EXPECT_NEAR(*out[0].speed_kmh, 36.0, 0.5) << f;
    }
    speed = out[0].speed_kmh;
    uncertainty = out[0].speed_uncertainty_kmh;
  }
  ASSERT_TRUE(speed && uncertainty);
  t.update({}, 200 * kFrame);
  const auto events = t.take_track_events();
  ASSERT_EQ(events.size(), 2U);
  ASSERT_TRUE(events[1].max_speed && events[1].mean_speed);
  EXPECT_NEAR(events[1].mean_speed->kmh, 36.0, 0.5);
  EXPECT_GE(events[1].max_speed->kmh, events[1].mean_speed->kmh);
  EXPECT_GT(events[1].mean_speed->uncertainty_kmh, 0.0);
}

TEST(Zones, ParsingIsStrict) {
  const auto z = parse_zones("lot:0,0;100,0;100,100;0,100| door:200,0; 300,0;250,80 ");
  ASSERT_EQ(z.size(), 2U);
  EXPECT_EQ(z[0].name, "lot");
  EXPECT_EQ(z[1].name, "door");
  EXPECT_EQ(z[1].polygon.size(), 3U);
  for (const char *bad : {"", "lot", "lot:0,0;1,1", "lot:0,0;1,1;2,2",
                          "a:0,0;9,0;0,9||b:0,0;9,0;0,9", "a:0,0;9,0;0,9|a:0,0;9,0;0,9",
                          "a b:0,0;9,0;0,9", ":0,0;9,0;0,9", "a:0,0;9,0;0,0x9", "a:0,0;9,0;0,9|"}) {
    SCOPED_TRACE(bad);
    try {
      parse_zones(bad);
      ADD_FAILURE() << "accepted";
    } catch (const ParseError &e) {
      EXPECT_EQ(std::string(e.what()).rfind("zones: ", 0), 0U) << e.what();
    }
  }
}

TEST(Zones, EntryExitDwellLoiteringAndOccupancy) {
  ZoneSettings s;
  s.zones = parse_zones("lot:100,100;300,100;300,300;100,300");
  s.loiter_ns = 1'000'000'000;
  s.exit_delay_ns = 300'000'000;
  ZoneMonitor m(s);
  const std::int64_t ms = 1'000'000;
  m.observe(1, 0, {50, 200}, 0); // outside
  m.observe(2, 1, {200, 200}, 0);
  EXPECT_EQ(m.occupancy().at("lot").at(1), 1U);
  m.observe(1, 0, {150, 200}, 100 * ms); // enters
  auto ev = m.take_events();
  ASSERT_EQ(ev.size(), 2U);
  EXPECT_EQ(ev[0].kind, ZoneEventKind::entered);
  EXPECT_EQ(ev[0].track_id, 2U);
  EXPECT_EQ(ev[1].track_id, 1U);
  EXPECT_EQ(ev[1].t_ns, 100 * ms);
  EXPECT_EQ(m.occupancy().at("lot").at(0), 1U);
  // Jitter across the border shorter than the exit delay is no exit.
  m.observe(1, 0, {99, 200}, 200 * ms);
  m.observe(1, 0, {101, 200}, 300 * ms);
  EXPECT_TRUE(m.take_events().empty());
  // Track 2 stays 1.2 s: loitering, once.
  m.observe(2, 1, {200, 200}, 1100 * ms);
  m.observe(2, 1, {200, 200}, 1200 * ms);
  ev = m.take_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].kind, ZoneEventKind::loitering);
  EXPECT_EQ(ev[0].dwell_ns, 1100 * ms);
  // Track 1 leaves at 1.5 s; the exit counts 0.3 s later, dated when it stepped out.
  m.observe(1, 0, {350, 200}, 1500 * ms);
  EXPECT_TRUE(m.take_events().empty());
  EXPECT_EQ(m.occupancy().at("lot").count(0), 0U) << "not counted while stepping out";
  m.observe(1, 0, {360, 200}, 1800 * ms);
  ev = m.take_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].kind, ZoneEventKind::exited);
  EXPECT_EQ(ev[0].t_ns, 1500 * ms);
  EXPECT_EQ(ev[0].dwell_ns, 1400 * ms);
  // An ended track leaves its zones when last seen.
  m.forget(2, 2000 * ms);
  ev = m.take_events();
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].kind, ZoneEventKind::exited);
  EXPECT_EQ(ev[0].dwell_ns, 2000 * ms);
  EXPECT_TRUE(m.occupancy().at("lot").empty());
}

TEST(Zones, TrackerReportsZonesAndTheEndedTrackListsThem) {
  TrackerConfig c;
  c.min_hits = 1;
  c.zones = parse_zones("a:100,0;200,0;200,400;100,400|b:300,0;400,0;400,400;300,400");
  c.lines = parse_lines("gate:250,0,250,400");
  Tracker t(c);
  for (int f = 0; f < 50; ++f) // left to right through a, the gate, b
    t.update({{box_at(50 + 10.0 * f, 100), 0, 0.9}, {box_at(480 - 10.0 * f, 300), 2, 0.9}},
             f * kFrame);
  const auto zev = t.take_zone_events();
  int entered = 0, exited = 0;
  for (const auto &e : zev)
    (e.kind == ZoneEventKind::entered ? entered : exited) += 1;
  EXPECT_EQ(entered, 4);
  EXPECT_GE(exited, 3);
  const auto &by_class = t.counters().line_class_counts.at("gate");
  EXPECT_EQ(by_class.at(0).first + by_class.at(0).second, 1U);
  EXPECT_EQ(by_class.at(2).first + by_class.at(2).second, 1U);
  EXPECT_NE(by_class.at(0).first, by_class.at(2).first) << "opposite directions";
  t.update({}, 200 * kFrame);
  const auto ended = t.take_track_events();
  ASSERT_EQ(ended.size(), 4U);
  for (const auto &e : ended) {
    if (e.started)
      continue;
    ASSERT_EQ(e.zones.size(), 2U);
    EXPECT_EQ(e.zones[0], e.class_id == 0 ? "a" : "b");
    ASSERT_EQ(e.lines.size(), 1U);
    EXPECT_EQ(e.lines[0].line, "gate");
  }
}
