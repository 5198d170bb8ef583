// SPDX-License-Identifier: LGPL-2.1-or-later
#include "speed_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace keepup::track {

namespace {

bool clipped(const Box &b, double margin, int w, int h) {
  if (w <= 0 || h <= 0)
    return false;
  return b.x1 <= margin || b.y1 <= margin || b.x2 >= w - margin || b.y2 >= h - margin;
}

bool size_jumped(const Box &b, const Box &ref, double limit) {
  if (ref.width() <= 0 || ref.height() <= 0)
    return false;
  return std::abs(b.width() / ref.width() - 1) > limit ||
         std::abs(b.height() / ref.height() - 1) > limit;
}

// Slope of v over t and its standard error (0 with two points or a perfect line).
struct Slope {
  double slope = 0, se = 0;
};
Slope fit_line(const std::deque<std::pair<double, double>> &pts) {
  const double n = static_cast<double>(pts.size());
  double st = 0, sv = 0;
  for (const auto &[t, v] : pts) {
    st += t;
    sv += v;
  }
  const double tm = st / n, vm = sv / n;
  double stt = 0, stv = 0;
  for (const auto &[t, v] : pts) {
    stt += (t - tm) * (t - tm);
    stv += (t - tm) * (v - vm);
  }
  Slope out;
  if (stt <= 0)
    return out;
  out.slope = stv / stt;
  if (pts.size() > 2) {
    double rss = 0;
    for (const auto &[t, v] : pts) {
      const double r = v - (vm + out.slope * (t - tm));
      rss += r * r;
    }
    out.se = std::sqrt(rss / (n - 2) / stt);
  }
  return out;
}

} // namespace

SpeedSample SpeedEstimator::add(std::int64_t t_ns, const Box &box, const Homography &ground,
                                const SpeedSettings &s, int frame_w, int frame_h) {
  if (clipped(box, s.edge_margin_px, frame_w, frame_h))
    return SpeedSample::clipped;
  if (reference_ && size_jumped(box, *reference_, s.max_size_change)) {
    if (!refused_since_)
      refused_since_ = t_ns;
    if (t_ns - *refused_since_ < s.window_ns)
      return SpeedSample::size_jump;
    samples_.clear(); // a lasting new size: fit again from here
  }
  refused_since_.reset();
  reference_ = box;
  const Point foot = box.bottom_centre();
  const Point g = ground.to_ground(foot);
  samples_.push_back({t_ns, g, ground.metres_per_pixel_at(foot)});
  while (!samples_.empty() && t_ns - samples_.front().t_ns > s.window_ns)
    samples_.pop_front();
  if (!origin_)
    origin_ = g;
  if (!moved_ && std::hypot(g.x - origin_->x, g.y - origin_->y) >= s.min_distance_m)
    moved_ = true;
  fit(s);
  return SpeedSample::used;
}

void SpeedEstimator::fit(const SpeedSettings &s) {
  // At least three samples over a quarter of the window: two noisy boxes make no speed.
  if (!moved_ || samples_.size() < 3 ||
      samples_.back().t_ns - samples_.front().t_ns < s.window_ns / 4)
    return;
  std::deque<std::pair<double, double>> xs, ys;
  const std::int64_t t0 = samples_.front().t_ns;
  double mpp = 0;
  for (const Sample &p : samples_) {
    const double t = static_cast<double>(p.t_ns - t0) / 1e9;
    xs.emplace_back(t, p.ground.x);
    ys.emplace_back(t, p.ground.y);
    mpp += p.metres_per_pixel;
  }
  mpp /= static_cast<double>(samples_.size());
  const Slope fx = fit_line(xs), fy = fit_line(ys);
  SpeedEstimate e;
  e.velocity = {fx.slope, fy.slope};
  const double v = std::hypot(fx.slope, fy.slope);
  e.kmh = v * 3.6;
  // Standard error of |v| from the two slopes' (delta method), and the floor a pixel_sigma
  // error per box gives a least-squares slope over these timestamps at this point's scale.
  const double fit_se =
      v > 1e-9 ? std::hypot(fx.slope * fx.se, fy.slope * fy.se) / v : std::hypot(fx.se, fy.se);
  double stt = 0, tm = 0;
  for (const auto &[t, x] : xs)
    tm += t;
  tm /= static_cast<double>(xs.size());
  for (const auto &[t, x] : xs)
    stt += (t - tm) * (t - tm);
  const double floor_se = stt > 0 ? mpp * s.pixel_sigma / std::sqrt(stt) : 0;
  e.uncertainty_kmh = 2.0 * std::hypot(fit_se, floor_se) * 3.6;
  estimate_ = e;
}

} // namespace keepup::track
