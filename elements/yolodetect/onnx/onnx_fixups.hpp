// SPDX-License-Identifier: LGPL-2.1-or-later
// Rewrites that make Ultralytics-style ONNX exports load and run on OpenCV 4.6's DNN module.
//
// OpenCV 4.6 fails on three patterns that torch 1.x / opset >= 13 exports of YOLOv8 and YOLO11
// contain (and YOLOv5 at opset >= 13):
//   1. shape arithmetic: `chunk` exported as Shape -> Gather -> Add -> Div -> Mul -> Slice;
//      OpenCV treats the non-constant Add as a bias and fails in parseBias.
//      Fix: with the input shape static, fold every node whose inputs are all constants.
//   2. Split with a `split` sizes input (opset >= 13): OpenCV splits equally.
//      Fix: rewrite as one Slice per output.
//   3. Broadcasting a constant over a non-matching shape ([1,4,N] * [1,N] strides in the
//      head): OpenCV fails at forward in shape_utils total().
//      Fix: materialise the constant at the full output shape.
// Each rewrite keeps the model's meaning; tests compare against torch's own output.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepup::onnxfix {

struct Change {
  std::string kind;   // "fold", "split-to-slice", "materialize-broadcast", "static-input"
  std::string detail; // node / tensor names and shapes, for people
};

struct ModelInfo {
  std::string input_name;
  std::vector<std::int64_t> input_shape; // <= 0 entries are dynamic
  std::vector<std::vector<std::int64_t>> output_shapes;
  std::int64_t opset = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct FixResult {
  std::string model;           // serialized ModelProto after the rewrites
  std::vector<Change> changes; // empty: the model needed nothing
  ModelInfo info;              // after the rewrites (static input, inferred output shapes)
};

// Thrown for data that is not an ONNX model or cannot be made static.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads shapes and metadata without changing anything.
ModelInfo inspect(const std::string &model_bytes);

// Applies the rewrites. `input_size` > 0 pins a dynamic H/W input to that size (the batch is
// pinned to 1); with a static input it must match or Error is thrown.
FixResult fix(const std::string &model_bytes, int input_size = 0);

std::string format_shape(const std::vector<std::int64_t> &shape);

} // namespace keepup::onnxfix
