// SPDX-License-Identifier: LGPL-2.1-or-later
// Multi-object tracking metrics against MOT-format ground truth: CLEAR-MOT (MOTA, ID
// switches, FP, FN) and identity metrics (IDF1), plus the speed error of matched tracks.
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "track_geometry.hpp"

namespace keepup::track {

struct MotObject {
  std::int64_t id = 0;
  Box box;
  bool ignore = false;             // ground truth only: neither a miss nor a false positive
  std::optional<double> speed_kmh; // ground truth: true speed; hypothesis: estimated
};

// frame number -> objects
using MotSequence = std::map<std::int64_t, std::vector<MotObject>>;

struct MotResult {
  std::int64_t frames = 0;
  std::int64_t gt = 0, hyp = 0; // objects counted (ignored ones left out)
  std::int64_t tp = 0, fp = 0, fn = 0, id_switches = 0;
  double mota = 0, motp_iou = 0;
  std::int64_t idtp = 0;
  double idf1 = 0, idp = 0, idr = 0;
  double precision = 0, recall = 0;
  std::int64_t speed_samples = 0;
  double speed_median_abs_error_pct = 0; // |estimate - truth| / truth, median, in %
};

// Frames present in `hyp` are evaluated; with `only_hyp_frames` false, GT frames missing from
// `hyp` count as frames where everything was missed.
MotResult evaluate(const MotSequence &gt, const MotSequence &hyp, double iou_threshold = 0.5,
                   bool only_hyp_frames = false);

// MOT17 ground truth lines: frame,id,left,top,width,height,consider(0/1),class,visibility
// plus an optional 10th column: the object's true speed in km/h (keepup's extension).
MotSequence parse_mot_gt(const std::string &text);
std::string format_mot_gt_line(std::int64_t frame, std::int64_t id, const Box &box, bool consider,
                               int class_id, double visibility, std::optional<double> speed_kmh);

} // namespace keepup::track
