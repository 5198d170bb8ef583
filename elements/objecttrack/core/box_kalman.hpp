// SPDX-License-Identifier: LGPL-2.1-or-later
// The tracker's two tools: optimal assignment (Kuhn-Munkres) and the constant-velocity Kalman
// box. Plain C++, no GStreamer.
#pragma once

#include <vector>

#include "track_geometry.hpp"

namespace keepup::track {

// Optimal assignment minimising the total cost; pairs costing more than `max_cost` are never
// made. Returns, per row, the assigned column or -1.
std::vector<int> assign(const std::vector<std::vector<double>> &cost, double max_cost);

// One box coordinate (cx, cy, w or h) as position + velocity; the four are independent, which
// is exactly ByteTrack's filter (its matrices are block-diagonal per coordinate).
class Kalman1D {
public:
  void init(double position, double position_sigma, double velocity_sigma);
  void predict(double dt_s, double q_position, double q_velocity);
  // Known to stand still: the velocity is zero (and no longer correlated with the position).
  void stop();
  void update(double measured, double r);
  double position() const { return p_; }
  double velocity() const { return v_; }
  double variance() const { return P_[0][0]; }

private:
  double p_ = 0, v_ = 0;
  double P_[2][2] = {{1, 0}, {0, 1}};
};

class BoxKalman {
public:
  void init(const Box &box);
  void predict(double dt_s);
  // The object is known not to have moved (a still picture): centre and size stay, the
  // velocities become zero.
  void stop();
  void update(const Box &box);
  Box box() const;
  Point velocity() const { return {cx_.velocity(), cy_.velocity()}; } // px/s of the centre

private:
  double scale() const;
  Kalman1D cx_, cy_, w_, h_;
};

} // namespace keepup::track
