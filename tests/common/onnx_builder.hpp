// SPDX-License-Identifier: LGPL-2.1-or-later
// Builds small ONNX graphs in the tests, with ONNX's own protobuf classes: graphs with known
// outputs for exact decode tests, graphs that reproduce each OpenCV 4.6 failure, and a slow
// model for the async test. No Python and no files from elsewhere.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace keepup::test {

class OnnxBuilder {
public:
  explicit OnnxBuilder(int opset = 12) {
    model_.set_ir_version(7);
    model_.set_producer_name("keepup-tests");
    auto *op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("test");
  }

  void input(const std::string &name, const std::vector<std::int64_t> &shape) {
    set_value(graph_->add_input(), name, shape);
  }
  void output(const std::string &name, const std::vector<std::int64_t> &shape = {}) {
    set_value(graph_->add_output(), name, shape);
  }

  void floats(const std::string &name, const std::vector<std::int64_t> &dims,
              const std::vector<float> &values) {
    auto *t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
  }
  void ints(const std::string &name, const std::vector<std::int64_t> &dims,
            const std::vector<std::int64_t> &values) {
    auto *t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto d : dims)
      t->add_dims(d);
    for (auto v : values)
      t->add_int64_data(v);
  }

  onnx::NodeProto *node(const std::string &op, const std::vector<std::string> &inputs,
                        const std::vector<std::string> &outputs) {
    auto *n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(outputs.at(0) + "_node");
    for (const auto &i : inputs)
      n->add_input(i);
    for (const auto &o : outputs)
      n->add_output(o);
    return n;
  }
  static void attr_int(onnx::NodeProto *n, const std::string &name, std::int64_t v) {
    auto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_ints(onnx::NodeProto *n, const std::string &name,
                        const std::vector<std::int64_t> &v) {
    auto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v)
      a->add_ints(x);
  }

  void metadata(const std::string &key, const std::string &value) {
    auto *p = model_.add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }

  std::string bytes() const { return model_.SerializeAsString(); }
  bool save(const std::string &path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const std::string b = bytes();
    return static_cast<bool>(out.write(b.data(), static_cast<std::streamsize>(b.size())));
  }

private:
  static void set_value(onnx::ValueInfoProto *v, const std::string &name,
                        const std::vector<std::int64_t> &shape) {
    v->set_name(name);
    auto *tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto *s = tt->mutable_shape();
    for (auto d : shape)
      s->add_dim()->set_dim_value(d);
  }

  onnx::ModelProto model_;
  onnx::GraphProto *graph_;
};

// A v8-layout tensor [1, 4+C, N] (row-major) from per-anchor rows {cx, cy, w, h, scores...}.
inline std::vector<float> v8_tensor(const std::vector<std::vector<float>> &anchors) {
  const std::size_t n = anchors.size(), rows = anchors.at(0).size();
  std::vector<float> t(rows * n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t r = 0; r < rows; ++r)
      t[r * n + i] = anchors[i][r];
  return t;
}

// A detector whose output ignores the picture: input [1,3,size,size] -> GlobalAveragePool ->
// 1x1 Conv with zero weights whose bias is `values` -> Reshape to `output_shape`. OpenCV runs
// it as it is, so decode tests know every output number exactly. `heavy_convs` > 0 puts that
// many 3x3 convolutions (channels x channels at size/2) in front, to make a slow model.
inline std::string constant_detector(int size, const std::vector<std::int64_t> &output_shape,
                                     const std::vector<float> &values, int heavy_convs = 0,
                                     int channels = 32) {
  OnnxBuilder b(12);
  b.input("images", {1, 3, size, size});
  std::string x = "images";
  if (heavy_convs > 0) {
    b.floats("stem_w", {channels, 3, 2, 2}, std::vector<float>(channels * 3 * 4, 0.01F));
    auto *stem = b.node("Conv", {x, "stem_w"}, {"stem"});
    OnnxBuilder::attr_ints(stem, "kernel_shape", {2, 2}); // OpenCV 4.6 insists on it
    OnnxBuilder::attr_ints(stem, "strides", {2, 2});
    x = "stem";
    for (int i = 0; i < heavy_convs; ++i) {
      const std::string w = "heavy_w" + std::to_string(i), out = "heavy" + std::to_string(i);
      b.floats(w, {channels, channels, 3, 3},
               std::vector<float>(static_cast<std::size_t>(channels * channels * 9), 0.001F));
      auto *conv = b.node("Conv", {x, w}, {out});
      OnnxBuilder::attr_ints(conv, "kernel_shape", {3, 3});
      OnnxBuilder::attr_ints(conv, "pads", {1, 1, 1, 1});
      x = out;
    }
  }
  b.node("GlobalAveragePool", {x}, {"pooled"});
  const auto count = static_cast<std::int64_t>(values.size());
  const std::int64_t in_channels = heavy_convs > 0 ? channels : 3;
  b.floats("head_w", {count, in_channels, 1, 1},
           std::vector<float>(static_cast<std::size_t>(count * in_channels), 0.0F));
  b.floats("head_b", {count}, values);
  OnnxBuilder::attr_ints(b.node("Conv", {"pooled", "head_w", "head_b"}, {"flat"}), "kernel_shape",
                         {1, 1});
  b.ints("shape", {static_cast<std::int64_t>(output_shape.size())}, output_shape);
  b.node("Reshape", {"flat", "shape"}, {"output0"});
  b.output("output0", output_shape);
  return b.bytes();
}

} // namespace keepup::test
