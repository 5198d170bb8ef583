// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's settings, one struct per part that uses them: what model to load (the
// backend's engine), how to decode its output (the core's decode), and how often and on which
// thread to run it (the element). Its default values are the properties' defaults: the
// element's ParamSpecs read them from kDefaults, so there is one place to change one.
#pragma once

#include <string>

#include "motion_gate.hpp"
#include "yolo_decode.hpp"

namespace keepup::yolo {

enum class Fixups { automatic, none };

// What the engine loads, and the names it resolves.
struct ModelSettings {
  std::string model;  // .onnx path
  std::string labels; // one name per line; empty: the model's metadata, COCO-80, class<N>
  int input_size = 0; // 0: the model's own
  Layout layout = Layout::automatic;
  Fixups fixups = Fixups::automatic;
  std::string classes; // filter text ("car,truck,7"), resolved against the names at load
};

// When and where inference runs.
struct ScheduleSettings {
  unsigned interval = 1; // infer on every Nth frame
  bool async = false;    // on a worker thread, on the newest frame
  int threads = 0;       // OpenCV threads, 0 = OpenCV's default
};

struct Settings {
  ModelSettings model;
  DecodeOptions decode;
  ScheduleSettings schedule;
  MotionGateSettings motion;
};

inline constexpr Settings kDefaults{};

} // namespace keepup::yolo
