// SPDX-License-Identifier: LGPL-2.1-or-later
// The tracker alone on a generated traffic scene (elements/common/scene): ground-truth boxes
// turned into detections with noise, misses and false positives, fed the way a detector
// running on every frame, on every Nth frame, or behind frame drops would feed them, and
// scored against the ground truth (MOTA, IDF1, ID switches, speed error). Used by the unit
// tests and by keepup-bench-tracker; deterministic for a seed. No GStreamer.
#pragma once

#include <cstdint>

#include "frame_policy.hpp"
#include "mot_metrics.hpp"
#include "tracker.hpp"

namespace keepup::track::eval {

enum class Feed {
  every_frame,     // detections on every frame
  sparse,          // detections on every Nth frame, nothing on the frames between
  sparse_drops,    // as sparse, with a fraction of the frames dropped before the detector
  reused,          // detections on every Nth frame, the frames between carry them again
                   // marked fresh=false (what yolodetect interval=N does)
  reused_as_fresh, // as reused, but the marks ignored (every frame a measurement)
};
const char *feed_name(Feed f);

struct ScenarioOptions {
  std::uint64_t seed = 3;
  int width = 1280, height = 720, fps = 30;
  double seconds = 20;
  int every = 3;                // sparse feeds: detections on every Nth received frame
  double drop = 0.10;           // sparse_drops: fraction of frames dropped
  double miss = 0.08;           // fraction of visible objects the detector misses
  double box_noise = 0.03;      // box edge noise, fraction of the box size (sigma)
  double false_positives = 0.5; // mean false detections per inferred frame
  EmptyFrames empty = EmptyFrames::automatic;
};

struct ScenarioResult {
  MotResult mot;
  std::uint64_t frames = 0, updates = 0, predictions = 0;
};

// `config` gets the scene's frame size and ground scale filled in.
ScenarioResult run_scenario(Feed feed, const ScenarioOptions &options, TrackerConfig config = {});

} // namespace keepup::track::eval
