// SPDX-License-Identifier: LGPL-2.1-or-later
#include "motion_gate.hpp"

#include <algorithm>
#include <cstdlib>

#include "track_geometry.hpp"

namespace keepup::yolo {

const char *gate_decision_name(GateDecision d) {
  switch (d) {
  case GateDecision::first:
    return "first";
  case GateDecision::motion:
    return "motion";
  case GateDecision::hold:
    return "hold";
  case GateDecision::refresh:
    return "refresh";
  case GateDecision::still:
    return "still";
  }
  return "?";
}

MotionGate::MotionGate(const MotionGateSettings &settings) : settings_(settings) {
  if (!settings_.roi.empty())
    for (const auto &p : track::parse_polygon(settings_.roi, "motion-roi"))
      roi_.emplace_back(p.x, p.y);
}

void MotionGate::layout(int width, int height) {
  width_ = width;
  height_ = height;
  cols_ = std::max(1, width / kCell);
  rows_ = std::max(1, height / kCell);
  cell_w_ = std::max(1, width / cols_);
  cell_h_ = std::max(1, height / rows_);
  samples_ = std::max(1, cell_w_ / kStep) * std::max(1, cell_h_ / kStep);
  cells_in_roi_.clear();
  std::vector<track::Point> polygon;
  for (const auto &[x, y] : roi_)
    polygon.push_back({x, y});
  std::vector<bool> in(static_cast<std::size_t>(cols_ * rows_), polygon.empty());
  if (!polygon.empty()) {
    for (int r = 0; r < rows_; ++r)
      for (int c = 0; c < cols_; ++c)
        in[static_cast<std::size_t>(r * cols_ + c)] =
            track::inside_polygon(polygon, {(c + 0.5) * cell_w_, (r + 0.5) * cell_h_});
    // A polygon smaller than a cell still watches the cells its corners are in.
    for (const auto &p : polygon) {
      const int c = std::clamp(static_cast<int>(p.x) / cell_w_, 0, cols_ - 1);
      const int r = std::clamp(static_cast<int>(p.y) / cell_h_, 0, rows_ - 1);
      in[static_cast<std::size_t>(r * cols_ + c)] = true;
    }
  }
  for (std::size_t i = 0; i < in.size(); ++i)
    if (in[i])
      cells_in_roi_.push_back(static_cast<std::uint32_t>(i));
  reference_.clear();
}

void MotionGate::thumbnail(const FrameView &frame, std::vector<std::uint16_t> &cells) const {
  cells.assign(static_cast<std::size_t>(cols_ * rows_), 0);
  int bpp = 1, ri = 0, gi = 0, bi = 0;
  switch (frame.format) {
  case PixelFormat::bgr:
    bpp = 3, bi = 0, gi = 1, ri = 2;
    break;
  case PixelFormat::rgb:
    bpp = 3, ri = 0, gi = 1, bi = 2;
    break;
  case PixelFormat::bgrx:
  case PixelFormat::bgra:
    bpp = 4, bi = 0, gi = 1, ri = 2;
    break;
  case PixelFormat::rgbx:
  case PixelFormat::rgba:
    bpp = 4, ri = 0, gi = 1, bi = 2;
    break;
  case PixelFormat::i420:
  case PixelFormat::nv12:
    bpp = 1; // the Y plane
    break;
  }
  const int kx = std::max(1, cell_w_ / kStep), ky = std::max(1, cell_h_ / kStep);
  const PlaneView &plane = frame.planes[0];
  for (int r = 0; r < rows_; ++r)
    for (int j = 0; j < ky; ++j) {
      const int y = r * cell_h_ + std::min(j * kStep + kStep / 2, cell_h_ - 1);
      const std::uint8_t *row = plane.data + static_cast<std::ptrdiff_t>(y) * plane.stride;
      std::uint16_t *out = cells.data() + static_cast<std::ptrdiff_t>(r) * cols_;
      for (int c = 0; c < cols_; ++c) {
        unsigned sum = 0;
        for (int i = 0; i < kx; ++i) {
          const int x = c * cell_w_ + std::min(i * kStep + kStep / 2, cell_w_ - 1);
          const std::uint8_t *p = row + static_cast<std::ptrdiff_t>(x) * bpp;
          sum += bpp == 1 ? p[0] : (77U * p[ri] + 150U * p[gi] + 29U * p[bi]) >> 8;
        }
        out[c] = static_cast<std::uint16_t>(out[c] + sum);
      }
    }
}

GateDecision MotionGate::decide(const FrameView &frame, std::uint64_t now_ns) {
  if (frame.width != width_ || frame.height != height_)
    layout(frame.width, frame.height);
  if (last_seen_ns_ && now_ns > *last_seen_ns_)
    period_ns_ = now_ns - *last_seen_ns_;
  const bool backwards = last_seen_ns_ && now_ns < *last_seen_ns_;
  last_seen_ns_ = now_ns;
  thumbnail(frame, current_);

  GateDecision decision;
  changed_fraction_ = 0;
  if (reference_.empty() || !last_infer_ns_ || backwards) {
    decision = GateDecision::first;
  } else {
    diffs_.resize(current_.size());
    for (std::size_t i = 0; i < current_.size(); ++i)
      diffs_[i] = std::abs(static_cast<int>(current_[i]) - static_cast<int>(reference_[i]));
    // Sensor noise sets the floor: most cells of the frame show only noise even in busy
    // traffic, so their median difference estimates it (median = 0.67 sigma); the limit
    // stays 5 sigma above it.
    sorted_ = diffs_;
    const auto mid = sorted_.begin() + static_cast<std::ptrdiff_t>(sorted_.size() / 2);
    std::nth_element(sorted_.begin(), mid, sorted_.end());
    // When even the median cell moved past the threshold, the whole picture changed (light,
    // camera moved): that is no noise floor, but motion.
    const double fixed = settings_.threshold * samples_;
    const double limit = *mid > fixed ? fixed : std::max(fixed, *mid * 7.4);
    std::size_t changed = 0;
    for (std::uint32_t i : cells_in_roi_)
      if (diffs_[i] > limit)
        ++changed;
    changed_fraction_ =
        cells_in_roi_.empty() ? 0.0 : static_cast<double>(changed) / cells_in_roi_.size();
    if (changed > 0 && changed_fraction_ >= settings_.min_area) {
      decision = GateDecision::motion;
      last_motion_ns_ = now_ns;
    } else if (last_motion_ns_ && now_ns - *last_motion_ns_ < settings_.hold_ns) {
      decision = GateDecision::hold;
    } else if (now_ns + period_ns_ > *last_infer_ns_ + settings_.max_skip_ns) {
      // The next frame would come after max_skip_ns: this one is the last chance.
      decision = GateDecision::refresh;
    } else {
      decision = GateDecision::still;
    }
  }
  // A new scene counts as motion: the hold gives a tracker the first few measurements it
  // needs to confirm what is there, even when nothing moves.
  if (decision == GateDecision::first)
    last_motion_ns_ = now_ns;
  if (decision != GateDecision::still) {
    reference_.swap(current_);
    last_infer_ns_ = now_ns;
  }
  return decision;
}

} // namespace keepup::yolo
