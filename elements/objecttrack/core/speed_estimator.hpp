// SPDX-License-Identifier: LGPL-2.1-or-later
// Ground speed of one track, with an uncertainty. Only trustworthy samples are fitted: boxes
// clipped by the frame edge and boxes whose size jumps against the last sample fitted
// (occlusion, a merged detection) move the bottom-centre point without the object moving, so they
// are left out; a speed is reported only once the object has moved a minimum ground distance. Plain
// C++, no GStreamer.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "track_geometry.hpp"

namespace keepup::track {

struct SpeedSettings {
  std::int64_t window_ns = 2'000'000'000; // fit over this much PTS time
  double min_distance_m = 1.0;            // no speed before the object moved this far
  double max_size_change = 0.25;          // |w or h / last fitted - 1| above: occlusion
  double edge_margin_px = 2.0;            // a box this close to the frame edge is clipped
  // Error of one box edge in pixels (integer ROI coordinates, detector jitter below the
  // fit's resolution): the floor of the uncertainty where the fit's residual is tiny.
  double pixel_sigma = 0.5;
};

struct SpeedEstimate {
  double kmh = 0;
  double uncertainty_kmh = 0; // about 95 %: two standard errors of the fit
  Point velocity;             // m/s on the ground
};

// Why a sample was left out of the fit (or `used`).
enum class SpeedSample { used, clipped, size_jump };

class SpeedEstimator {
public:
  // The matched detection `box` at t_ns. frame_w/h 0: unknown. A size that stays different
  // for a whole window is the object's new size (it turned): the fit starts again with it.
  SpeedSample add(std::int64_t t_ns, const Box &box, const Homography &ground,
                  const SpeedSettings &s, int frame_w, int frame_h);
  const std::optional<SpeedEstimate> &estimate() const { return estimate_; }

private:
  struct Sample {
    std::int64_t t_ns;
    Point ground;
    double metres_per_pixel;
  };
  void fit(const SpeedSettings &s);
  std::deque<Sample> samples_;
  std::optional<Point> origin_;  // first usable ground point
  std::optional<Box> reference_; // the last fitted box: its size is the size-jump reference
  std::optional<std::int64_t> refused_since_;
  bool moved_ = false;
  std::optional<SpeedEstimate> estimate_;
};

} // namespace keepup::track
