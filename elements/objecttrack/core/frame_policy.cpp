// SPDX-License-Identifier: LGPL-2.1-or-later
#include "frame_policy.hpp"

#include <algorithm>
#include <vector>

namespace keepup::track {

namespace {
constexpr std::size_t kWindow = 15;
constexpr std::size_t kMinGaps = 4;

void push(std::deque<std::int64_t> &window, std::int64_t v) {
  window.push_back(v);
  if (window.size() > kWindow)
    window.pop_front();
}
} // namespace

const char *empty_frames_name(EmptyFrames e) {
  switch (e) {
  case EmptyFrames::no_objects:
    return "no-objects";
  case EmptyFrames::not_inferred:
    return "not-inferred";
  default:
    return "auto";
  }
}

const char *frame_kind_name(FrameKind k) {
  switch (k) {
  case FrameKind::update:
    return "update";
  case FrameKind::hold:
    return "hold";
  default:
    return "predict";
  }
}

std::int64_t median_of(const std::deque<std::int64_t> &values) {
  if (values.empty())
    return 0;
  std::vector<std::int64_t> v(values.begin(), values.end());
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

std::int64_t FrameClassifier::detector_interval_ns() const {
  return detection_gaps_.size() >= kMinGaps ? median_of(detection_gaps_) : 0;
}

std::int64_t FrameClassifier::frame_period_ns() const {
  return frame_gaps_.size() >= kMinGaps ? median_of(frame_gaps_) : 0;
}

void FrameClassifier::reset() {
  last_frame_ns_.reset();
  last_detections_ns_.reset();
  frame_gaps_.clear();
  detection_gaps_.clear();
}

FrameKind FrameClassifier::classify(const FrameFacts &f) {
  if (last_frame_ns_ && f.t_ns > *last_frame_ns_)
    push(frame_gaps_, f.t_ns - *last_frame_ns_);
  last_frame_ns_ = f.t_ns;

  if (f.inference_fresh)
    return *f.inference_fresh ? FrameKind::update
           : f.scene_still    ? FrameKind::hold
                              : FrameKind::predict;
  if (f.detections > 0 && f.stale >= f.detections)
    return FrameKind::predict;
  if (f.detections > 0) {
    if (last_detections_ns_ && f.t_ns > *last_detections_ns_)
      push(detection_gaps_, f.t_ns - *last_detections_ns_);
    last_detections_ns_ = f.t_ns;
    return FrameKind::update;
  }
  switch (empty_) {
  case EmptyFrames::no_objects:
    return FrameKind::update;
  case EmptyFrames::not_inferred:
    return FrameKind::predict;
  case EmptyFrames::automatic:
    break;
  }
  const std::int64_t d = detector_interval_ns(), p = frame_period_ns();
  if (d == 0 || p == 0 || 2 * d < 3 * p || !last_detections_ns_)
    return FrameKind::update;
  return f.t_ns - *last_detections_ns_ < 2 * d - p / 2 ? FrameKind::predict : FrameKind::update;
}

} // namespace keepup::track
