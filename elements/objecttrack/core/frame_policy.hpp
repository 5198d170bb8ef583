// SPDX-License-Identifier: LGPL-2.1-or-later
// Which frames carry new measurements. A detector that runs on every Nth frame either marks
// the frames between (yolodetect's KeepupInferenceMeta fresh=false, or fresh=false on every
// detection's param) or leaves them empty; the tracker must predict on those frames, never
// read "nothing there" into them. Plain C++, no GStreamer; time is the frame's PTS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace keepup::track {

// What an empty frame (no detections, no inference meta) means.
enum class EmptyFrames {
  automatic,    // learned from the detector's cadence (see FrameClassifier)
  no_objects,   // the detector ran and found nothing: tracks miss a detection
  not_inferred, // the detector did not run: tracks are predicted
};
const char *empty_frames_name(EmptyFrames e);

// What the shell read off one frame.
struct FrameFacts {
  std::int64_t t_ns = 0;
  std::size_t detections = 0;          // detections on the frame
  std::size_t stale = 0;               // of those, marked fresh=false on their own param
  std::optional<bool> inference_fresh; // the frame-level inference meta, when present
  // The detector skipped this frame because its motion gate saw no change since the last
  // frame it inferred (yolodetect: inference meta motion-gate=still).
  bool scene_still = false;
};

enum class FrameKind {
  update,  // new measurements: match, miss, start tracks
  predict, // no new measurement: every track is predicted to t_ns, nothing is a miss
  hold,    // no new measurement, and the picture has not changed: every track stays where
           // it was measured (velocity zero), nothing is a miss
};
const char *frame_kind_name(FrameKind k); // "update", "predict", "hold"

// The rule, in order:
// 1. an inference meta decides: fresh=true update, fresh=false predict (hold when the
//    detector's motion gate skipped the frame as still: nothing moved, so nothing is moved);
// 2. detections all marked fresh=false: predict (they are the last result, reused);
// 3. any fresh detection: update (the fresh ones only; the shell drops the stale);
// 4. an empty frame: per EmptyFrames. `automatic` learns the detector's cadence D, the median
//    PTS gap between consecutive frames with fresh detections (of the last 15), and the frame
//    period P (median gap of the last 15 frames). Until 4 gaps are known, or when D < 1.5 P
//    (the detector runs on every frame), an empty frame means no objects. Otherwise an empty
//    frame less than 2 D - P / 2 after the last detections is "not inferred" (one missed or
//    dropped result is tolerated); after that the scene is taken as empty.
class FrameClassifier {
public:
  explicit FrameClassifier(EmptyFrames empty = EmptyFrames::automatic) : empty_(empty) {}
  FrameKind classify(const FrameFacts &frame);
  // The learned detector interval and frame period (0 until known).
  std::int64_t detector_interval_ns() const;
  std::int64_t frame_period_ns() const;
  void reset();

private:
  EmptyFrames empty_;
  std::optional<std::int64_t> last_frame_ns_, last_detections_ns_;
  std::deque<std::int64_t> frame_gaps_, detection_gaps_;
};

// Median of a small window; 0 when empty.
std::int64_t median_of(const std::deque<std::int64_t> &values);

} // namespace keepup::track
