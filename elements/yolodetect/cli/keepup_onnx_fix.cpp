// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-onnx-fix: rewrites an ONNX detector so OpenCV 4.6's DNN module loads and runs it,
// and prints what it changed. The same rewrites yolodetect applies with model-fixups=auto.
//
//   keepup-onnx-fix in.onnx out.onnx [--input-size N]
//   keepup-onnx-fix --check in.onnx      (print shapes and what would change; write nothing)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "file_util.hpp"

#include "onnx_fixups.hpp"

namespace {

int usage() {
  std::cerr << "usage: keepup-onnx-fix in.onnx out.onnx [--input-size N]\n"
               "       keepup-onnx-fix --check in.onnx [--input-size N]\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string in_path, out_path;
  bool check = false;
  int input_size = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--check") {
      check = true;
    } else if (a == "--input-size" && i + 1 < argc) {
      input_size = std::atoi(argv[++i]);
    } else if (a == "-h" || a == "--help") {
      return usage();
    } else if (in_path.empty()) {
      in_path = a;
    } else if (out_path.empty()) {
      out_path = a;
    } else {
      return usage();
    }
  }
  if (in_path.empty() || (!check && out_path.empty()) || (check && !out_path.empty()))
    return usage();

  std::string bytes;
  if (!keepup::read_whole_file(in_path, bytes)) {
    std::cerr << "keepup-onnx-fix: cannot read " << in_path << "\n";
    return 1;
  }
  try {
    const auto before = keepup::onnxfix::inspect(bytes);
    const auto result = keepup::onnxfix::fix(bytes, input_size);
    std::cout << in_path << ": opset " << before.opset << ", input " << before.input_name << " "
              << keepup::onnxfix::format_shape(before.input_shape) << "\n";
    if (result.changes.empty())
      std::cout << "  no changes needed\n";
    for (const auto &c : result.changes)
      std::cout << "  " << c.kind << ": " << c.detail << "\n";
    for (const auto &shape : result.info.output_shapes)
      std::cout << "  output " << keepup::onnxfix::format_shape(shape) << "\n";
    if (check)
      return 0;
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    const std::string &data = result.changes.empty() ? bytes : result.model;
    if (!out.write(data.data(), static_cast<std::streamsize>(data.size())) || !out.flush()) {
      std::cerr << "keepup-onnx-fix: cannot write " << out_path << "\n";
      return 1;
    }
    std::cout << "wrote " << out_path << " (" << data.size() << " bytes)\n";
  } catch (const std::exception &e) {
    std::cerr << "keepup-onnx-fix: " << in_path << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
