// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's backend: model loading (with the ONNX rewrites), frame preparation (format
// conversion + letterbox, stride-aware) and inference on OpenCV DNN. No GStreamer include
// path (the build enforces it): frames arrive as the plain FrameView, settings as the core's
// ModelSettings and DecodeOptions.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "frame_view.hpp"
#include "letterbox.hpp"
#include "onnx_fixups.hpp"
#include "yolo_decode.hpp"
#include "yolo_settings.hpp"

namespace keepup::yolo {

// Which error a failed load is: the shell maps these to GStreamer error domains.
struct ModelNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ModelInvalid : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct SettingsInvalid : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct EngineInfo {
  int input_size = 0;
  OutputLayout layout;
  std::vector<std::string> names;
  std::string names_source; // "labels", "metadata", "coco80", "generic"
  std::vector<onnxfix::Change> changes;
};

// A frame ready for the network: the letterboxed RGB square and how it maps back.
struct PreparedFrame {
  cv::Mat square; // size x size, CV_8UC3, RGB
  Letterbox geometry;
  int frame_width = 0, frame_height = 0;
};

class YoloEngine {
public:
  // Loads and checks the model (one dry forward) and resolves `settings.classes` into the
  // decode options' class mask. Throws ModelNotFound / ModelInvalid / SettingsInvalid with a
  // message for people.
  YoloEngine(const ModelSettings &settings, const DecodeOptions &decode);

  const EngineInfo &info() const { return info_; }

  void prepare(const FrameView &frame, PreparedFrame &out) const;
  // Runs the network on a prepared frame; returns frame-space detections.
  std::vector<Detection> infer(const PreparedFrame &frame);

private:
  cv::dnn::Net net_;
  EngineInfo info_;
  DecodeOptions decode_;
  cv::Mat blob_;
};

// OpenCV's thread count (process-wide in OpenCV 4.6); threads <= 0 leaves OpenCV's default.
void set_opencv_threads(int threads);

} // namespace keepup::yolo
