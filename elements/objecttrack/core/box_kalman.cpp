// SPDX-License-Identifier: LGPL-2.1-or-later
#include "box_kalman.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace keepup::track {

std::vector<int> assign(const std::vector<std::vector<double>> &cost_in, double max_cost) {
  const std::size_t rows = cost_in.size();
  const std::size_t cols = rows ? cost_in[0].size() : 0;
  std::vector<int> result(rows, -1);
  if (rows == 0 || cols == 0)
    return result;
  // Forbidden pairs cost more than any allowed assignment could in total.
  const double forbidden = (max_cost + 1.0) * static_cast<double>(rows + cols + 1) + 1.0;
  const bool transpose = rows > cols; // the algorithm wants n <= m
  const std::size_t n = transpose ? cols : rows, m = transpose ? rows : cols;
  auto cost = [&](std::size_t i, std::size_t j) {
    const double c = transpose ? cost_in[j][i] : cost_in[i][j];
    return c > max_cost ? forbidden : c;
  };
  // Shortest augmenting paths with potentials (Kuhn-Munkres), 1-based.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0);
  std::vector<std::size_t> p(m + 1, 0), way(m + 1, 0);
  for (std::size_t i = 1; i <= n; ++i) {
    p[0] = i;
    std::size_t j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<bool> used(m + 1, false);
    do {
      used[j0] = true;
      const std::size_t i0 = p[j0];
      double delta = inf;
      std::size_t j1 = 0;
      for (std::size_t j = 1; j <= m; ++j) {
        if (used[j])
          continue;
        const double cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (std::size_t j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const std::size_t j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0);
  }
  for (std::size_t j = 1; j <= m; ++j) {
    if (p[j] == 0)
      continue;
    const std::size_t i = p[j] - 1, col = j - 1;
    const std::size_t r = transpose ? col : i, c = transpose ? i : col;
    if (cost_in[r][c] <= max_cost)
      result[r] = static_cast<int>(c);
  }
  return result;
}

void Kalman1D::init(double position, double position_sigma, double velocity_sigma) {
  p_ = position;
  v_ = 0;
  P_[0][0] = position_sigma * position_sigma;
  P_[1][1] = velocity_sigma * velocity_sigma;
  P_[0][1] = P_[1][0] = 0;
}

void Kalman1D::predict(double dt, double q_position, double q_velocity) {
  p_ += v_ * dt;
  // P = F P F^T + Q with F = [[1, dt], [0, 1]]
  const double p00 = P_[0][0] + dt * (P_[1][0] + P_[0][1]) + dt * dt * P_[1][1];
  const double p01 = P_[0][1] + dt * P_[1][1];
  const double p10 = P_[1][0] + dt * P_[1][1];
  P_[0][0] = p00 + q_position;
  P_[0][1] = p01;
  P_[1][0] = p10;
  P_[1][1] += q_velocity;
}

void Kalman1D::stop() {
  v_ = 0;
  P_[0][1] = P_[1][0] = 0;
}

void Kalman1D::update(double z, double r) {
  const double s = P_[0][0] + r;
  const double k0 = P_[0][0] / s, k1 = P_[1][0] / s;
  const double y = z - p_;
  p_ += k0 * y;
  v_ += k1 * y;
  const double p00 = (1 - k0) * P_[0][0], p01 = (1 - k0) * P_[0][1];
  const double p10 = P_[1][0] - k1 * P_[0][0], p11 = P_[1][1] - k1 * P_[0][1];
  P_[0][0] = p00;
  P_[0][1] = p01;
  P_[1][0] = p10;
  P_[1][1] = p11;
}

// Noise levels follow ByteTrack's (position 1/20 and velocity 1/160 of the box height per
// 30 fps frame), turned into per-second rates so they hold for any frame interval.
namespace {
constexpr double kFps = 30.0;
constexpr double kPos = 1.0 / 20.0, kVel = 1.0 / 160.0;
} // namespace

double BoxKalman::scale() const {
  return std::max(4.0, h_.position());
}

void BoxKalman::init(const Box &b) {
  const double h = std::max(4.0, b.height());
  cx_.init((b.x1 + b.x2) * 0.5, 2 * kPos * h, 10 * kVel * h * kFps);
  cy_.init((b.y1 + b.y2) * 0.5, 2 * kPos * h, 10 * kVel * h * kFps);
  w_.init(b.width(), 2 * kPos * h, 10 * kVel * h * kFps);
  h_.init(b.height(), 2 * kPos * h, 10 * kVel * h * kFps);
}

void BoxKalman::predict(double dt) {
  if (dt <= 0)
    return;
  const double s = scale(), frames = dt * kFps;
  const double qp = (kPos * s) * (kPos * s) * frames;
  const double qv = (kVel * s * kFps) * (kVel * s * kFps) * frames;
  cx_.predict(dt, qp, qv);
  cy_.predict(dt, qp, qv);
  w_.predict(dt, qp, qv);
  h_.predict(dt, qp, qv);
}

void BoxKalman::stop() {
  cx_.stop();
  cy_.stop();
  w_.stop();
  h_.stop();
}

void BoxKalman::update(const Box &b) {
  const double r = (kPos * scale()) * (kPos * scale());
  cx_.update((b.x1 + b.x2) * 0.5, r);
  cy_.update((b.y1 + b.y2) * 0.5, r);
  w_.update(b.width(), r);
  h_.update(b.height(), r);
}

Box BoxKalman::box() const {
  const double w = std::max(1.0, w_.position()), h = std::max(1.0, h_.position());
  return {cx_.position() - w / 2, cy_.position() - h / 2, cx_.position() + w / 2,
          cy_.position() + h / 2};
}

} // namespace keepup::track
