// SPDX-License-Identifier: LGPL-2.1-or-later
// Small numeric helpers shared by cores, benchmarks and tools (header-only, no GStreamer).
#pragma once

#include <utility>
#include <vector>

namespace keepup {

// Least-squares slope of y over x; 0 with fewer than two points or no spread in x.
inline double least_squares_slope(const std::vector<std::pair<double, double>> &points) {
  if (points.size() < 2)
    return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto &[x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = static_cast<double>(points.size());
  const double denom = n * sxx - sx * sx;
  return denom == 0 ? 0 : (n * sxy - sx * sy) / denom;
}

} // namespace keepup
