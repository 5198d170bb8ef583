// SPDX-License-Identifier: LGPL-2.1-or-later
// The generated traffic scene's stop window (traffic that stops, as at a red light, then moves
// on): frozen pixels and boxes with zero speeds inside it, the default scene before it and the
// default scene shifted by the stop's length after it. Without a window the scene is the
// default one.
#include <gtest/gtest.h>

#include <vector>

#include <opencv2/core.hpp>

#include "traffic_scene.hpp"

using keepup::scene::GroundTruth;
using keepup::scene::SceneOptions;
using keepup::scene::TrafficScene;

namespace {

struct Shot {
  cv::Mat frame;
  std::vector<GroundTruth> truth;
};

Shot shoot(const TrafficScene &scene, double t) {
  Shot s;
  scene.render(t, s.frame, s.truth);
  return s;
}

bool same_pixels(const cv::Mat &a, const cv::Mat &b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0.0;
}

// Same objects at the same places (speeds compared by the callers).
void expect_same_objects(const std::vector<GroundTruth> &a, const std::vector<GroundTruth> &b,
                         double t) {
  ASSERT_EQ(a.size(), b.size()) << "t=" << t;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id) << "t=" << t;
    EXPECT_EQ(a[i].box, b[i].box) << "t=" << t;
    EXPECT_EQ(a[i].visible_fraction, b[i].visible_fraction) << "t=" << t;
  }
}

SceneOptions options(double stop_from = 0, double stop_until = 0) {
  SceneOptions o;
  o.width = 1280;
  o.height = 720;
  o.seed = 7;
  o.zoom = 1.0F;
  o.noise = 0.0F; // pixels compare exactly
  o.stop_from = stop_from;
  o.stop_until = stop_until;
  return o;
}

} // namespace

TEST(TrafficScene, StopWindowFreezesTrafficThenItMovesOn) {
  const TrafficScene plain(options());
  const TrafficScene stopping(options(2.0, 5.0));
  // Before the window: the default scene.
  for (double t : {0.0, 1.0, 1.95}) {
    const Shot a = shoot(plain, t), b = shoot(stopping, t);
    EXPECT_TRUE(same_pixels(a.frame, b.frame)) << "t=" << t;
    expect_same_objects(a.truth, b.truth, t);
  }
  // Inside it: every vehicle where it was at 2 s, nobody new, speed 0 — while the default
  // scene's traffic goes on moving (else this test would prove nothing).
  const Shot at_stop = shoot(stopping, 2.0);
  ASSERT_GE(at_stop.truth.size(), 2U);
  for (double t : {2.0, 3.0, 4.99}) {
    const Shot b = shoot(stopping, t);
    EXPECT_TRUE(same_pixels(at_stop.frame, b.frame)) << "t=" << t;
    expect_same_objects(at_stop.truth, b.truth, t);
    for (const auto &g : b.truth)
      EXPECT_EQ(g.speed_px_per_s, 0.0F) << "t=" << t;
  }
  EXPECT_FALSE(same_pixels(at_stop.frame, shoot(plain, 3.0).frame));
  // After it: the default scene 3 s later, at the lanes' speeds again.
  for (double t : {5.0, 6.5, 12.0}) {
    const Shot a = shoot(plain, t - 3.0), b = shoot(stopping, t);
    EXPECT_TRUE(same_pixels(a.frame, b.frame)) << "t=" << t;
    expect_same_objects(a.truth, b.truth, t);
    for (std::size_t i = 0; i < b.truth.size(); ++i) {
      EXPECT_GT(b.truth[i].speed_px_per_s, 0.0F) << "t=" << t;
      EXPECT_EQ(b.truth[i].speed_px_per_s, a.truth[i].speed_px_per_s) << "t=" << t;
    }
  }
}

// An empty or reversed window is no window: the default scene at every time.
TEST(TrafficScene, EmptyStopWindowLeavesTheDefaultScene) {
  const TrafficScene plain(options());
  for (const auto &window : {std::pair{4.0, 4.0}, std::pair{6.0, 2.0}}) {
    const TrafficScene other(options(window.first, window.second));
    for (double t : {0.0, 3.0, 4.0, 5.5, 9.0}) {
      const Shot a = shoot(plain, t), b = shoot(other, t);
      EXPECT_TRUE(same_pixels(a.frame, b.frame)) << "t=" << t;
      expect_same_objects(a.truth, b.truth, t);
      for (std::size_t i = 0; i < a.truth.size(); ++i)
        EXPECT_EQ(a.truth[i].speed_px_per_s, b.truth[i].speed_px_per_s);
    }
  }
}
