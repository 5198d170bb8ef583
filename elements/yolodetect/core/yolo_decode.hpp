// SPDX-License-Identifier: LGPL-2.1-or-later
// YOLO output decoding, per-class NMS, class names and filters. Plain C++: no GStreamer, no
// OpenCV, so every rule here is checked by unit tests on synthetic tensors.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "letterbox.hpp"

namespace keepup::yolo {

enum class Layout { automatic, v5, v8 };
const char *layout_name(Layout layout);

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0F; }
};
float iou(const Box &a, const Box &b);

struct Detection {
  Box box; // frame pixels, clipped to the frame
  int class_id = 0;
  float confidence = 0;
};

// How to read a [1, A, B] output tensor.
struct OutputLayout {
  Layout layout = Layout::v8;
  int anchors = 0;
  int classes = 0;
};

struct LayoutError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Resolves `requested` against the output shape. `known_classes` (> 0) comes from labels or
// model metadata and settles shapes that fit both layouts. Throws LayoutError with a message
// naming both options when the shape cannot be read.
OutputLayout resolve_layout(const std::vector<std::int64_t> &shape, Layout requested,
                            int known_classes);

// Part of yolodetect's Settings (yolo_settings.hpp): these defaults are the properties'.
// Thresholds are kept as the properties hold them and compared as float32, like the scores.
struct DecodeOptions {
  double conf_threshold = 0.25;
  double nms_threshold = 0.45;
  int max_detections = 300;
  std::vector<bool> keep_class; // empty = all classes; the engine fills it from `classes`
};

// Decodes `data` (the raw [1, A, B] tensor, row-major) into frame-space detections: boxes are
// un-letterboxed with `geometry`, clipped to frame_width x frame_height, NMS'd per class and
// sorted by confidence (highest first), at most max_detections.
std::vector<Detection> decode(const float *data, const OutputLayout &layout,
                              const Letterbox &geometry, int frame_width, int frame_height,
                              const DecodeOptions &options);

// Greedy per-class non-maximum suppression; keeps input order among survivors' ranking.
std::vector<Detection> nms_per_class(std::vector<Detection> candidates, float iou_threshold,
                                     int max_detections);

// Class names: Ultralytics stores them in the ONNX metadata as a Python dict literal,
// "{0: 'person', 1: 'bicycle'}". Returns an empty vector when the text is not such a dict.
std::vector<std::string> parse_names_metadata(const std::string &text);
// One name per line; blank lines and '#' comments skipped; trailing '\r' removed.
std::vector<std::string> parse_labels_file(const std::string &text);
const std::vector<std::string> &coco80_names();
// Name for a class id: the list's entry, else "class<N>".
std::string class_label(const std::vector<std::string> &names, int class_id);

// "car,truck,7" -> a keep mask over `classes`; names resolved against `names`.
// Throws std::invalid_argument naming the unknown entry.
std::vector<bool> parse_class_filter(const std::string &text, const std::vector<std::string> &names,
                                     int classes);

// Rolling inference-time statistics (mean and p95 over the last `window` samples).
class LatencyWindow {
public:
  explicit LatencyWindow(std::size_t window = 256) : window_(window) {}
  void add(double ms);
  double mean() const;
  double p95() const;
  double last() const {
    return samples_.empty() ? 0.0 : samples_[(next_ + samples_.size() - 1) % samples_.size()];
  }
  std::uint64_t count() const { return count_; }

private:
  std::size_t window_;
  std::vector<double> samples_;
  std::size_t next_ = 0;
  std::uint64_t count_ = 0;
};

} // namespace keepup::yolo
