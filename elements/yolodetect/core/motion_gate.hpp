// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's motion gate: whether a frame due for inference shows anything new. The frame is
// reduced to the mean luma of 16x16-pixel cells (sampled every 4th pixel in each direction, so
// a 720p frame costs ~58k reads), compared with the cells of the last frame that was inferred.
// A cell changed when its mean moved more than `threshold` luma levels; the frame has motion
// when at least `min_area` of the cells (inside the roi, when one is set) changed. The
// threshold rises above the frame's own noise (5 sigma, estimated from the median cell). Comparing
// against the last inferred frame, not the previous frame, lets slow movers accumulate.
// Time is the caller's (the frame's PTS), so the decisions are deterministic under test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "frame_view.hpp"

namespace keepup::yolo {

struct MotionGateSettings {
  bool enabled = false;
  // A forced refresh at least this often (PTS time): the gap between two inferred frames
  // never exceeds it (when frames come at a steady rate). Keep it at or below objecttrack's
  // max-lost-time so parked objects' tracks live through a still stretch.
  std::uint64_t max_skip_ns = 1'000'000'000;
  // Frames are still inferred this long after the last motion, so objects that just stopped
  // are measured where they stopped (objecttrack then holds them there on `still` frames).
  std::uint64_t hold_ns = 300'000'000;
  double threshold = 6.0; // luma levels (0-255) a cell's mean must move
  double min_area = 0.0;  // fraction of cells that must change (0: any one cell)
  std::string roi;        // "x,y;x,y;..." (objecttrack's roi syntax): where motion counts
};

enum class GateDecision {
  first,   // no reference yet (first frame, size change, time went backwards): infer
  motion,  // enough cells changed: infer
  hold,    // still, but motion was seen less than hold_ns ago: infer
  refresh, // still, but max_skip_ns would pass before the next frame: infer
  still,   // skip inference
};

const char *gate_decision_name(GateDecision d);

class MotionGate {
public:
  // Throws std::invalid_argument (keepup::track::ParseError) for a bad roi.
  explicit MotionGate(const MotionGateSettings &settings);

  // For a frame due for inference at time now_ns. Every decision but `still` makes this
  // frame the new reference.
  GateDecision decide(const FrameView &frame, std::uint64_t now_ns);

  // Fraction of the (roi) cells that changed in the last decision.
  double changed_fraction() const { return changed_fraction_; }
  int cell_columns() const { return cols_; }
  int cell_rows() const { return rows_; }

  static constexpr int kCell = 16;
  static constexpr int kStep = 4;

private:
  void layout(int width, int height);
  void thumbnail(const FrameView &frame, std::vector<std::uint16_t> &cells) const;

  MotionGateSettings settings_;
  std::vector<std::pair<double, double>> roi_;
  int width_ = 0, height_ = 0, cols_ = 0, rows_ = 0, cell_w_ = 0, cell_h_ = 0;
  int samples_ = 1; // per cell
  std::vector<std::uint32_t> cells_in_roi_;
  std::vector<std::uint16_t> reference_, current_;
  std::vector<int> diffs_, sorted_; // scratch
  std::optional<std::uint64_t> last_infer_ns_, last_motion_ns_, last_seen_ns_;
  std::uint64_t period_ns_ = 0; // gap between the last two decisions
  double changed_fraction_ = 0;
};

} // namespace keepup::yolo
