// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's motion gate on synthetic frames with injected time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "motion_gate.hpp"

namespace {

using keepup::yolo::GateDecision;
using keepup::yolo::MotionGate;
using keepup::yolo::MotionGateSettings;

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kPeriod = 33'333'333; // 30 fps

// A grey BGR frame with an optional white square and optional per-pixel noise.
struct Frame {
  int width = 320, height = 240;
  std::vector<std::uint8_t> pixels;
  Frame(int square_x = -1, int square_y = 0, double noise = 0, unsigned seed = 1) {
    pixels.assign(static_cast<std::size_t>(width * height * 3), 100);
    std::mt19937 rng(seed);
    std::normal_distribution<double> n(0, noise);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          double v = (square_x >= 0 && x >= square_x && x < square_x + 20 && y >= square_y &&
                      y < square_y + 20)
                         ? 230
                         : 100;
          if (noise > 0)
            v += n(rng);
          pixels[static_cast<std::size_t>((y * width + x) * 3 + ch)] =
              static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
        }
  }
  keepup::FrameView view() {
    keepup::FrameView v;
    v.format = keepup::PixelFormat::bgr;
    v.width = width;
    v.height = height;
    v.planes[0] = {pixels.data(), width * 3};
    return v;
  }
};

MotionGateSettings gate_on(std::uint64_t max_skip = 1000 * kMs, std::uint64_t hold = 0) {
  MotionGateSettings s;
  s.enabled = true;
  s.max_skip_ns = max_skip;
  s.hold_ns = hold;
  return s;
}

TEST(MotionGate, StillSceneSkipsUntilTheRefresh) {
  MotionGate gate(gate_on());
  Frame still;
  std::vector<std::uint64_t> inferred;
  for (int n = 0; n < 100; ++n) {
    const std::uint64_t t = static_cast<std::uint64_t>(n) * kPeriod;
    if (gate.decide(still.view(), t) != GateDecision::still)
      inferred.push_back(t);
  }
  // The first frame, then one refresh per second, never a gap above max-skip-time.
  ASSERT_EQ(inferred.size(), 4U);
  EXPECT_EQ(inferred[0], 0U);
  for (std::size_t i = 1; i < inferred.size(); ++i) {
    EXPECT_LE(inferred[i] - inferred[i - 1], 1000 * kMs);
    EXPECT_GT(inferred[i] - inferred[i - 1], 1000 * kMs - 2 * kPeriod);
  }
}

TEST(MotionGate, NamesItsDecisions) {
  MotionGate gate(gate_on(200 * kMs));
  Frame still, moved(100, 100);
  EXPECT_EQ(gate.decide(still.view(), 0), GateDecision::first);
  EXPECT_EQ(gate.decide(still.view(), kPeriod), GateDecision::still);
  EXPECT_EQ(gate.decide(moved.view(), 2 * kPeriod), GateDecision::motion);
  EXPECT_GT(gate.changed_fraction(), 0.0);
  // 200 ms (6 periods) after the inference at 2 periods: the frame at 8 periods is the last
  // one before the limit.
  for (std::uint64_t n = 3; n < 8; ++n)
    EXPECT_EQ(gate.decide(moved.view(), n * kPeriod), GateDecision::still) << n;
  EXPECT_EQ(gate.decide(moved.view(), 8 * kPeriod), GateDecision::refresh);
  EXPECT_STREQ(keepup::yolo::gate_decision_name(GateDecision::refresh), "refresh");
}

TEST(MotionGate, SlowMotionAccumulatesAgainstTheLastInferredFrame) {
  // One pixel per frame: each frame barely differs from the one before, but the gate compares
  // with the last inferred frame, so the square is seen moving within a few frames.
  MotionGate gate(gate_on(10'000 * kMs));
  int inferred = 0;
  for (int n = 0; n < 60; ++n) {
    Frame f(50 + n, 60);
    if (gate.decide(f.view(), static_cast<std::uint64_t>(n) * kPeriod) != GateDecision::still)
      ++inferred;
  }
  EXPECT_GE(inferred, 60 / 8);
  EXPECT_LT(inferred, 60);
}

TEST(MotionGate, SensorNoiseIsNotMotion) {
  MotionGate gate(gate_on(10'000 * kMs));
  int inferred = 0;
  for (unsigned n = 0; n < 30; ++n) {
    Frame noisy(-1, 0, 8.0, n + 1);
    if (gate.decide(noisy.view(), n * kPeriod) != GateDecision::still)
      ++inferred;
  }
  EXPECT_EQ(inferred, 1); // the first frame only
}

TEST(MotionGate, AWholeFrameChangeIsMotionNotNoise) {
  MotionGate gate(gate_on(10'000 * kMs));
  Frame grey;
  gate.decide(grey.view(), 0);
  Frame brighter = grey;
  for (auto &p : brighter.pixels)
    p = 180;
  EXPECT_EQ(gate.decide(brighter.view(), kPeriod), GateDecision::motion);
  EXPECT_DOUBLE_EQ(gate.changed_fraction(), 1.0);
}

TEST(MotionGate, HoldKeepsInferringJustAfterMotion) {
  MotionGate gate(gate_on(10'000 * kMs, 100 * kMs));
  Frame a, b(10, 10);
  gate.decide(a.view(), 0);
  EXPECT_EQ(gate.decide(b.view(), kPeriod), GateDecision::motion);
  EXPECT_EQ(gate.decide(b.view(), 2 * kPeriod), GateDecision::hold);
  EXPECT_EQ(gate.decide(b.view(), 5 * kPeriod), GateDecision::still); // > 100 ms later
}

TEST(MotionGate, OnlyMotionInsideTheRoiCounts) {
  auto s = gate_on(10'000 * kMs);
  s.roi = "0,0;160,0;160,240;0,240"; // the left half
  MotionGate gate(s);
  Frame empty, right(250, 100), left(40, 100);
  gate.decide(empty.view(), 0);
  EXPECT_EQ(gate.decide(right.view(), kPeriod), GateDecision::still);
  EXPECT_EQ(gate.decide(left.view(), 2 * kPeriod), GateDecision::motion);
}

TEST(MotionGate, TinyRoiStillWatchesItsCell) {
  auto s = gate_on(10'000 * kMs);
  s.roi = "100,100;104,100;104,104";
  MotionGate gate(s);
  Frame empty, there(95, 95);
  gate.decide(empty.view(), 0);
  EXPECT_EQ(gate.decide(there.view(), kPeriod), GateDecision::motion);
}

TEST(MotionGate, BadRoiIsRefused) {
  auto s = gate_on();
  s.roi = "1,2;3,4";
  EXPECT_THROW(MotionGate{s}, std::invalid_argument);
}

TEST(MotionGate, SizeChangeOrTimeGoingBackStartsAgain) {
  MotionGate gate(gate_on(10'000 * kMs));
  Frame a;
  gate.decide(a.view(), 10 * kPeriod);
  EXPECT_EQ(gate.decide(a.view(), 11 * kPeriod), GateDecision::still);
  EXPECT_EQ(gate.decide(a.view(), 0), GateDecision::first); // a seek back
  Frame small;
  small.width = 160;
  small.height = 120;
  small.pixels.resize(160 * 120 * 3);
  EXPECT_EQ(gate.decide(small.view(), kPeriod), GateDecision::first);
}

TEST(MotionGate, ReadsTheLumaPlaneOfYuvFrames) {
  MotionGate gate(gate_on(10'000 * kMs));
  const int w = 64, h = 48;
  std::vector<std::uint8_t> y(static_cast<std::size_t>(w * h), 80), uv(w * h / 2, 128);
  keepup::FrameView v;
  v.format = keepup::PixelFormat::nv12;
  v.width = w;
  v.height = h;
  v.planes[0] = {y.data(), w};
  v.planes[1] = {uv.data(), w};
  gate.decide(v, 0);
  std::fill(uv.begin(), uv.end(), 30); // chroma alone: no luma change
  EXPECT_EQ(gate.decide(v, kPeriod), GateDecision::still);
  for (int r = 16; r < 32; ++r)
    for (int c = 16; c < 32; ++c)
      y[static_cast<std::size_t>(r * w + c)] = 200;
  EXPECT_EQ(gate.decide(v, 2 * kPeriod), GateDecision::motion);
}

} // namespace
