// SPDX-License-Identifier: LGPL-2.1-or-later
// The OpenCV half of yolodetect: model loading (with the ONNX rewrites), frame preparation
// (format conversion + letterbox, stride-aware) and inference. No GStreamer types here
// except in prepare_frame's plain-pointer interface, so the element file stays a thin shell.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "letterbox.hpp"
#include "onnx_fixups.hpp"
#include "yolo_decode.hpp"

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

enum class Fixups { automatic, none };

struct EngineSettings {
  std::string model_path;
  std::string labels_path;
  int input_size = 0;
  Layout layout = Layout::automatic;
  Fixups fixups = Fixups::automatic;
  DecodeOptions decode;
  std::string classes; // filter text, resolved against the names
};

struct EngineInfo {
  int input_size = 0;
  OutputLayout layout;
  std::vector<std::string> names;
  std::string names_source; // "labels", "metadata", "coco80", "generic"
  std::vector<onnxfix::Change> changes;
};

// Pixel formats the element accepts (GStreamer names in the shell map to these).
enum class PixelFormat { bgr, rgb, bgrx, bgra, rgbx, rgba, i420, nv12 };

// One plane as GStreamer maps it: pointer and stride.
struct PlaneView {
  const std::uint8_t *data = nullptr;
  int stride = 0;
};

struct FrameView {
  PixelFormat format = PixelFormat::bgr;
  int width = 0, height = 0;
  PlaneView planes[3];
};

// A frame ready for the network: the letterboxed RGB square and how it maps back.
struct PreparedFrame {
  cv::Mat square; // size x size, CV_8UC3, RGB
  Letterbox geometry;
  int frame_width = 0, frame_height = 0;
};

class YoloEngine {
public:
  // Loads and checks the model (one dry forward). Throws ModelNotFound / ModelInvalid /
  // SettingsInvalid with a message for people.
  explicit YoloEngine(const EngineSettings &settings);

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

} // namespace keepup::yolo
