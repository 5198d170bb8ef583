// SPDX-License-Identifier: LGPL-2.1-or-later
#include "onnx_fixups.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

namespace keepup::onnxfix {

namespace {

using Shape = std::vector<std::int64_t>;

// A small constant tensor: integers and floats kept apart, so int64 limits (INT64_MAX as a
// Slice end) survive exactly.
struct Const {
  int dtype = onnx::TensorProto::INT64;
  Shape dims;
  std::vector<std::int64_t> ints;
  std::vector<double> floats;
  bool is_float() const {
    return dtype == onnx::TensorProto::FLOAT || dtype == onnx::TensorProto::DOUBLE ||
           dtype == onnx::TensorProto::FLOAT16;
  }
  std::size_t size() const { return is_float() ? floats.size() : ints.size(); }
  double at(std::size_t i) const { return is_float() ? floats[i] : static_cast<double>(ints[i]); }
  std::int64_t int_at(std::size_t i) const {
    return is_float() ? static_cast<std::int64_t>(floats[i]) : ints[i];
  }
};

std::int64_t element_count(const Shape &s) {
  return std::accumulate(s.begin(), s.end(), std::int64_t{1}, std::multiplies<>());
}

template <typename T> void read_raw(const std::string &raw, std::vector<T> &out) {
  out.resize(raw.size() / sizeof(T));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
}

std::optional<Const> from_tensor(const onnx::TensorProto &t) {
  Const c;
  c.dtype = t.data_type();
  c.dims.assign(t.dims().begin(), t.dims().end());
  const std::int64_t n = element_count(c.dims);
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return std::nullopt;
  switch (t.data_type()) {
  case onnx::TensorProto::INT64:
    if (t.has_raw_data())
      read_raw(t.raw_data(), c.ints);
    else
      c.ints.assign(t.int64_data().begin(), t.int64_data().end());
    break;
  case onnx::TensorProto::INT32: {
    std::vector<std::int32_t> v;
    if (t.has_raw_data())
      read_raw(t.raw_data(), v);
    else
      v.assign(t.int32_data().begin(), t.int32_data().end());
    c.ints.assign(v.begin(), v.end());
    break;
  }
  case onnx::TensorProto::BOOL: {
    if (t.has_raw_data()) {
      for (char b : t.raw_data())
        c.ints.push_back(b != 0);
    } else {
      c.ints.assign(t.int32_data().begin(), t.int32_data().end());
    }
    break;
  }
  case onnx::TensorProto::FLOAT: {
    std::vector<float> v;
    if (t.has_raw_data())
      read_raw(t.raw_data(), v);
    else
      v.assign(t.float_data().begin(), t.float_data().end());
    c.floats.assign(v.begin(), v.end());
    break;
  }
  case onnx::TensorProto::DOUBLE:
    if (t.has_raw_data())
      read_raw(t.raw_data(), c.floats);
    else
      c.floats.assign(t.double_data().begin(), t.double_data().end());
    break;
  default:
    return std::nullopt;
  }
  if (static_cast<std::int64_t>(c.size()) != n)
    return std::nullopt;
  return c;
}

onnx::TensorProto to_tensor(const Const &c, const std::string &name) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(c.dtype);
  for (auto d : c.dims)
    t.add_dims(d);
  std::string raw;
  switch (c.dtype) {
  case onnx::TensorProto::INT64:
    raw.assign(reinterpret_cast<const char *>(c.ints.data()), c.ints.size() * 8);
    break;
  case onnx::TensorProto::INT32: {
    std::vector<std::int32_t> v(c.ints.begin(), c.ints.end());
    raw.assign(reinterpret_cast<const char *>(v.data()), v.size() * 4);
    break;
  }
  case onnx::TensorProto::BOOL:
    for (auto v : c.ints)
      raw.push_back(v ? 1 : 0);
    break;
  case onnx::TensorProto::DOUBLE:
    raw.assign(reinterpret_cast<const char *>(c.floats.data()), c.floats.size() * 8);
    break;
  default: { // FLOAT
    t.set_data_type(onnx::TensorProto::FLOAT);
    std::vector<float> v(c.floats.begin(), c.floats.end());
    raw.assign(reinterpret_cast<const char *>(v.data()), v.size() * 4);
  }
  }
  t.set_raw_data(raw);
  return t;
}

Const make_ints(Shape dims, std::vector<std::int64_t> values) {
  Const c;
  c.dims = std::move(dims);
  c.ints = std::move(values);
  return c;
}

std::optional<Shape> broadcast_shape(const Shape &a, const Shape &b) {
  Shape out(std::max(a.size(), b.size()), 1);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const std::int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = std::max(da, db);
  }
  return out;
}

// Index into `in` (shape `s`) for each linear position of `out`, numpy broadcasting.
std::vector<std::size_t> broadcast_index(const Shape &s, const Shape &out) {
  const std::size_t n = static_cast<std::size_t>(element_count(out));
  std::vector<std::size_t> idx(n);
  const std::size_t offset = out.size() - s.size();
  std::vector<std::int64_t> stride(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i)
    stride[i] = stride[i + 1] * s[i + 1];
  Shape pos(out.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    std::int64_t li = 0;
    for (std::size_t d = 0; d < s.size(); ++d)
      li += (s[d] == 1 ? 0 : pos[d + offset]) * stride[d];
    idx[k] = static_cast<std::size_t>(li);
    for (int d = static_cast<int>(out.size()) - 1; d >= 0; --d) {
      if (++pos[d] < out[d])
        break;
      pos[d] = 0;
    }
  }
  return idx;
}

Const broadcast_to(const Const &c, const Shape &out) {
  Const r;
  r.dtype = c.dtype;
  r.dims = out;
  for (std::size_t i : broadcast_index(c.dims, out)) {
    if (c.is_float())
      r.floats.push_back(c.floats[i]);
    else
      r.ints.push_back(c.ints[i]);
  }
  return r;
}

const onnx::AttributeProto *attr(const onnx::NodeProto &n, const char *name) {
  for (const auto &a : n.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
std::int64_t attr_int(const onnx::NodeProto &n, const char *name, std::int64_t fallback) {
  const auto *a = attr(n, name);
  return a ? a->i() : fallback;
}
std::vector<std::int64_t> attr_ints(const onnx::NodeProto &n, const char *name) {
  const auto *a = attr(n, name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end())
           : std::vector<std::int64_t>{};
}

std::int64_t norm_axis(std::int64_t axis, std::size_t rank) {
  return axis < 0 ? axis + static_cast<std::int64_t>(rank) : axis;
}

constexpr std::int64_t kMaxFoldElements = 1 << 20;

class Model {
public:
  explicit Model(const std::string &bytes) {
    if (!proto_.ParseFromString(bytes) || !proto_.has_graph() || proto_.graph().node_size() == 0)
      throw Error("not an ONNX model (cannot parse a ModelProto with a graph)");
    for (const auto &op : proto_.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx")
        opset_ = op.version();
  }

  onnx::ModelProto &proto() { return proto_; }
  std::int64_t opset() const { return opset_; }

  // Graph inputs that are not initializers (old exporters list weights as inputs too).
  const onnx::ValueInfoProto &data_input() const {
    std::set<std::string> inits;
    for (const auto &t : proto_.graph().initializer())
      inits.insert(t.name());
    for (const auto &in : proto_.graph().input())
      if (!inits.count(in.name()))
        return in;
    throw Error("the model has no input");
  }

  static Shape shape_of(const onnx::ValueInfoProto &v) {
    Shape s;
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape())
      return s;
    for (const auto &d : v.type().tensor_type().shape().dim())
      s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return s;
  }

  void infer_shapes() {
    auto *graph = proto_.mutable_graph();
    graph->clear_value_info();
    onnx::ShapeInferenceOptions options{false, 0, true};
    try {
      onnx::shape_inference::InferShapes(proto_, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception &) {
      // Partial shapes are still useful: every rewrite checks what it needs.
    }
    shapes_.clear();
    auto add = [&](const onnx::ValueInfoProto &v) {
      const Shape s = shape_of(v);
      if (!s.empty() && std::all_of(s.begin(), s.end(), [](auto d) { return d >= 0; }))
        shapes_[v.name()] = s;
      else if (v.type().has_tensor_type() && v.type().tensor_type().has_shape() &&
               v.type().tensor_type().shape().dim_size() == 0)
        shapes_[v.name()] = Shape{}; // scalar
    };
    for (const auto &v : graph->input())
      add(v);
    for (const auto &v : graph->value_info())
      add(v);
    for (const auto &v : graph->output())
      add(v);
    for (const auto &t : graph->initializer())
      shapes_[t.name()] = Shape(t.dims().begin(), t.dims().end());
  }

  const Shape *static_shape(const std::string &name) const {
    auto it = shapes_.find(name);
    return it == shapes_.end() ? nullptr : &it->second;
  }

  // Constant nodes become initializers, so every constant is in one place.
  void constants_to_initializers() {
    auto *graph = proto_.mutable_graph();
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (auto &node : *graph->mutable_node()) {
      const auto *value = attr(node, "value");
      if (node.op_type() == "Constant" && value && value->has_t() && node.output_size() == 1) {
        onnx::TensorProto t = value->t();
        t.set_name(node.output(0));
        *graph->add_initializer() = t;
      } else {
        *kept.Add() = node;
      }
    }
    graph->mutable_node()->Swap(&kept);
  }

  std::unordered_map<std::string, int> initializer_index() const {
    std::unordered_map<std::string, int> idx;
    for (int i = 0; i < proto_.graph().initializer_size(); ++i)
      idx[proto_.graph().initializer(i).name()] = i;
    return idx;
  }

  void remove_unused_initializers() {
    std::set<std::string> used;
    for (const auto &n : proto_.graph().node())
      for (const auto &i : n.input())
        used.insert(i);
    for (const auto &o : proto_.graph().output())
      used.insert(o.name());
    auto *graph = proto_.mutable_graph();
    google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
    for (auto &t : *graph->mutable_initializer())
      if (used.count(t.name()))
        *kept.Add() = t;
    graph->mutable_initializer()->Swap(&kept);
    // Old exporters list initializers as graph inputs as well; drop those that went away.
    std::set<std::string> inits;
    for (const auto &t : graph->initializer())
      inits.insert(t.name());
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
    for (auto &in : *graph->mutable_input())
      if (inits.count(in.name()) || used.count(in.name()))
        *inputs.Add() = in;
    graph->mutable_input()->Swap(&inputs);
  }

private:
  onnx::ModelProto proto_;
  std::int64_t opset_ = 0;
  std::unordered_map<std::string, Shape> shapes_;
};

// Evaluates one node on constant inputs. nullopt = not foldable here.
std::optional<Const> evaluate(const onnx::NodeProto &n, const std::vector<const Const *> &in,
                              std::int64_t opset) {
  const std::string &op = n.op_type();
  auto binary = [&](auto fn) -> std::optional<Const> {
    if (in.size() != 2)
      return std::nullopt;
    auto out_shape = broadcast_shape(in[0]->dims, in[1]->dims);
    if (!out_shape || element_count(*out_shape) > kMaxFoldElements)
      return std::nullopt;
    Const r;
    r.dtype = in[0]->dtype;
    r.dims = *out_shape;
    const auto ia = broadcast_index(in[0]->dims, *out_shape);
    const auto ib = broadcast_index(in[1]->dims, *out_shape);
    for (std::size_t k = 0; k < ia.size(); ++k) {
      if (r.is_float())
        r.floats.push_back(fn(in[0]->at(ia[k]), in[1]->at(ib[k])));
      else
        r.ints.push_back(static_cast<std::int64_t>(fn(in[0]->int_at(ia[k]), in[1]->int_at(ib[k]))));
    }
    return r;
  };
  if (op == "Identity")
    return *in[0];
  if (op == "Add")
    return binary([](auto a, auto b) { return a + b; });
  if (op == "Sub")
    return binary([](auto a, auto b) { return a - b; });
  if (op == "Mul")
    return binary([](auto a, auto b) { return a * b; });
  if (op == "Div") {
    if (!in[0]->is_float()) {
      for (std::size_t i = 0; i < in[1]->size(); ++i)
        if (in[1]->int_at(i) == 0)
          return std::nullopt;
    }
    return binary([](auto a, auto b) { return a / b; });
  }
  if (op == "Equal") {
    auto r = binary([](auto a, auto b) { return a == b ? 1 : 0; });
    if (r) {
      if (r->is_float()) { // comparison of floats still yields booleans
        r->ints.assign(r->floats.begin(), r->floats.end());
        r->floats.clear();
      }
      r->dtype = onnx::TensorProto::BOOL;
    }
    return r;
  }
  if (op == "Cast") {
    Const r = *in[0];
    const auto to = attr_int(n, "to", onnx::TensorProto::FLOAT);
    if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
      if (!r.is_float()) {
        r.floats.assign(r.ints.begin(), r.ints.end());
        r.ints.clear();
      }
    } else if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32 ||
               to == onnx::TensorProto::BOOL) {
      if (r.is_float()) {
        for (double v : r.floats)
          r.ints.push_back(to == onnx::TensorProto::BOOL ? v != 0.0 : static_cast<std::int64_t>(v));
        r.floats.clear();
      }
    } else {
      return std::nullopt;
    }
    r.dtype = static_cast<int>(to);
    return r;
  }
  if (op == "Gather") {
    const Const &data = *in[0], &indices = *in[1];
    const std::int64_t axis = norm_axis(attr_int(n, "axis", 0), data.dims.size());
    if (data.dims.size() != 1 || axis != 0)
      return std::nullopt;
    Const r;
    r.dtype = data.dtype;
    r.dims = indices.dims;
    for (std::size_t i = 0; i < indices.size(); ++i) {
      std::int64_t k = indices.int_at(i);
      if (k < 0)
        k += data.dims[0];
      if (k < 0 || k >= data.dims[0])
        return std::nullopt;
      if (data.is_float())
        r.floats.push_back(data.floats[static_cast<std::size_t>(k)]);
      else
        r.ints.push_back(data.ints[static_cast<std::size_t>(k)]);
    }
    return r;
  }
  if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<std::int64_t> axes =
        opset >= 13
            ? (in.size() > 1 ? std::vector<std::int64_t>(in[1]->ints) : std::vector<std::int64_t>{})
            : attr_ints(n, "axes");
    Const r = *in[0];
    if (op == "Unsqueeze") {
      const std::size_t rank = r.dims.size() + axes.size();
      for (auto &a : axes)
        a = norm_axis(a, rank);
      std::sort(axes.begin(), axes.end());
      for (auto a : axes)
        r.dims.insert(r.dims.begin() + a, 1);
    } else {
      Shape dims;
      for (std::size_t d = 0; d < r.dims.size(); ++d) {
        const bool listed =
            axes.empty() ? r.dims[d] == 1 : std::any_of(axes.begin(), axes.end(), [&](auto a) {
              return norm_axis(a, r.dims.size()) == static_cast<std::int64_t>(d);
            });
        if (!listed)
          dims.push_back(r.dims[d]);
      }
      r.dims = dims;
    }
    return r;
  }
  if (op == "Reshape") {
    Const r = *in[0];
    Shape target(in[1]->ints.begin(), in[1]->ints.end());
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (target[i] == 0)
        target[i] = i < r.dims.size() ? r.dims[i] : 1;
      if (target[i] == -1)
        infer = static_cast<std::int64_t>(i);
      else
        known *= target[i];
    }
    if (infer >= 0)
      target[static_cast<std::size_t>(infer)] =
          known ? static_cast<std::int64_t>(r.size()) / known : 0;
    if (element_count(target) != static_cast<std::int64_t>(r.size()))
      return std::nullopt;
    r.dims = target;
    return r;
  }
  if (op == "Concat") {
    const std::size_t rank = in[0]->dims.size();
    const std::int64_t axis = norm_axis(attr_int(n, "axis", 0), rank);
    if (rank != 1 || axis != 0)
      return std::nullopt;
    Const r;
    r.dtype = in[0]->dtype;
    for (const Const *c : in) {
      if (c->is_float() != r.is_float() || c->dims.size() != 1)
        return std::nullopt;
      r.ints.insert(r.ints.end(), c->ints.begin(), c->ints.end());
      r.floats.insert(r.floats.end(), c->floats.begin(), c->floats.end());
    }
    r.dims = {static_cast<std::int64_t>(r.size())};
    return r;
  }
  if (op == "Slice" && opset >= 10 && in.size() >= 3 && in[0]->dims.size() == 1) {
    const std::int64_t len = in[0]->dims[0];
    std::int64_t start = in[1]->int_at(0), end = in[2]->int_at(0);
    const std::int64_t step = in.size() > 4 ? in[4]->int_at(0) : 1;
    if (step != 1)
      return std::nullopt;
    if (start < 0)
      start += len;
    if (end < 0)
      end += len;
    start = std::clamp<std::int64_t>(start, 0, len);
    end = std::clamp<std::int64_t>(end, 0, len);
    Const r;
    r.dtype = in[0]->dtype;
    for (std::int64_t i = start; i < end; ++i) {
      if (r.is_float())
        r.floats.push_back(in[0]->floats[static_cast<std::size_t>(i)]);
      else
        r.ints.push_back(in[0]->ints[static_cast<std::size_t>(i)]);
    }
    r.dims = {static_cast<std::int64_t>(r.size())};
    return r;
  }
  if (op == "ConstantOfShape") {
    Shape dims(in[0]->ints.begin(), in[0]->ints.end());
    if (element_count(dims) > kMaxFoldElements)
      return std::nullopt;
    Const r;
    r.dims = dims;
    const auto *value = attr(n, "value");
    Const fill = make_ints({1}, {0});
    if (value && value->has_t()) {
      auto v = from_tensor(value->t());
      if (!v || v->size() != 1)
        return std::nullopt;
      fill = *v;
    } else {
      fill.dtype = onnx::TensorProto::FLOAT;
      fill.ints.clear();
      fill.floats = {0.0};
    }
    r.dtype = fill.dtype;
    const auto count = static_cast<std::size_t>(element_count(dims));
    if (fill.is_float())
      r.floats.assign(count, fill.floats[0]);
    else
      r.ints.assign(count, fill.ints[0]);
    return r;
  }
  if (op == "Where" && in.size() == 3) {
    auto s = broadcast_shape(in[0]->dims, in[1]->dims);
    if (s)
      s = broadcast_shape(*s, in[2]->dims);
    if (!s || element_count(*s) > kMaxFoldElements || in[1]->is_float() != in[2]->is_float())
      return std::nullopt;
    const auto ic = broadcast_index(in[0]->dims, *s), ia = broadcast_index(in[1]->dims, *s),
               ib = broadcast_index(in[2]->dims, *s);
    Const r;
    r.dtype = in[1]->dtype;
    r.dims = *s;
    for (std::size_t k = 0; k < ic.size(); ++k) {
      const Const &pick = in[0]->int_at(ic[k]) ? *in[1] : *in[2];
      const std::size_t i = in[0]->int_at(ic[k]) ? ia[k] : ib[k];
      if (r.is_float())
        r.floats.push_back(pick.floats[i]);
      else
        r.ints.push_back(pick.ints[i]);
    }
    return r;
  }
  if (op == "Expand" && in.size() == 2) {
    auto s = broadcast_shape(in[0]->dims, Shape(in[1]->ints.begin(), in[1]->ints.end()));
    if (!s || element_count(*s) > kMaxFoldElements)
      return std::nullopt;
    return broadcast_to(*in[0], *s);
  }
  if (op == "Range" && in.size() == 3) {
    Const r;
    r.dtype = in[0]->dtype;
    const double start = in[0]->at(0), limit = in[1]->at(0), delta = in[2]->at(0);
    if (delta == 0.0)
      return std::nullopt;
    const auto count = static_cast<std::int64_t>(std::max(0.0, std::ceil((limit - start) / delta)));
    if (count > kMaxFoldElements)
      return std::nullopt;
    for (std::int64_t i = 0; i < count; ++i) {
      if (r.is_float())
        r.floats.push_back(start + static_cast<double>(i) * delta);
      else
        r.ints.push_back(in[0]->int_at(0) + i * in[2]->int_at(0));
    }
    r.dims = {count};
    return r;
  }
  return std::nullopt;
}

std::string describe_node(const onnx::NodeProto &n) {
  return n.op_type() + " '" + (n.name().empty() ? n.output(0) : n.name()) + "'";
}

// 1. Fold Shape of statically shaped tensors and every node whose inputs are all constant.
int fold_constants(Model &m, std::vector<Change> &changes) {
  int folded = 0;
  std::map<std::string, int> by_op;
  for (int round = 0; round < 16; ++round) {
    m.infer_shapes();
    auto *graph = m.proto().mutable_graph();
    auto init_idx = m.initializer_index();
    std::unordered_map<std::string, Const> consts;
    auto get_const = [&](const std::string &name) -> const Const * {
      auto it = consts.find(name);
      if (it != consts.end())
        return &it->second;
      auto ii = init_idx.find(name);
      if (ii == init_idx.end())
        return nullptr;
      const auto &t = graph->initializer(ii->second);
      if (element_count(Shape(t.dims().begin(), t.dims().end())) > kMaxFoldElements)
        return nullptr;
      auto c = from_tensor(t);
      if (!c)
        return nullptr;
      return &consts.emplace(name, std::move(*c)).first->second;
    };
    std::set<std::string> graph_outputs;
    for (const auto &o : graph->output())
      graph_outputs.insert(o.name());

    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    int round_folds = 0;
    for (auto &node : *graph->mutable_node()) {
      std::optional<Const> value;
      if (node.output_size() == 1 && !graph_outputs.count(node.output(0))) {
        if (node.op_type() == "Shape" && node.input_size() == 1) {
          if (const Shape *s = m.static_shape(node.input(0))) {
            const auto rank = static_cast<std::int64_t>(s->size());
            std::int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", rank);
            if (start < 0)
              start += rank;
            if (end < 0)
              end += rank;
            start = std::clamp<std::int64_t>(start, 0, rank);
            end = std::clamp<std::int64_t>(end, start, rank);
            value = make_ints({end - start}, Shape(s->begin() + start, s->begin() + end));
          }
        } else if (node.op_type() != "Constant" && node.input_size() > 0) {
          std::vector<const Const *> inputs;
          bool all = true;
          for (const auto &name : node.input()) {
            if (name.empty()) { // optional input left out
              inputs.push_back(nullptr);
              continue;
            }
            const Const *c = get_const(name);
            if (!c) {
              all = false;
              break;
            }
            inputs.push_back(c);
          }
          if (all && std::none_of(inputs.begin(), inputs.end(), [](auto p) { return !p; }))
            value = evaluate(node, inputs, m.opset());
        }
      }
      if (value) {
        consts[node.output(0)] = *value;
        *graph->add_initializer() = to_tensor(*value, node.output(0));
        init_idx[node.output(0)] = graph->initializer_size() - 1;
        ++by_op[node.op_type()];
        ++round_folds;
      } else {
        *kept.Add() = node;
      }
    }
    graph->mutable_node()->Swap(&kept);
    folded += round_folds;
    if (round_folds == 0)
      break;
  }
  if (folded > 0) {
    std::ostringstream detail;
    detail << folded << " nodes folded to constants (";
    bool first = true;
    for (const auto &[op, count] : by_op) {
      detail << (first ? "" : ", ") << op << " x" << count;
      first = false;
    }
    detail << ")";
    changes.push_back({"fold", detail.str()});
  }
  return folded;
}

// 2. Split with a sizes input (opset >= 13) -> one Slice per output.
int split_to_slices(Model &m, std::vector<Change> &changes) {
  auto *graph = m.proto().mutable_graph();
  const auto init_idx = m.initializer_index();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> rewritten;
  int count = 0;
  for (auto &node : *graph->mutable_node()) {
    std::vector<std::int64_t> sizes;
    if (node.op_type() == "Split") {
      if (node.input_size() >= 2 && !node.input(1).empty()) {
        auto it = init_idx.find(node.input(1));
        if (it != init_idx.end())
          if (auto c = from_tensor(graph->initializer(it->second)))
            sizes = c->ints;
      } else if (m.opset() < 13) {
        sizes = attr_ints(node, "split");
      }
    }
    const bool unequal = sizes.size() > 1 && std::any_of(sizes.begin(), sizes.end(),
                                                         [&](auto s) { return s != sizes[0]; });
    // OpenCV 4.6 reads a Split's `split` attribute (opset < 13) but not the sizes input.
    const bool needs = !sizes.empty() && static_cast<int>(sizes.size()) == node.output_size() &&
                       (node.input_size() >= 2 || (unequal && m.opset() < 10));
    if (!needs || m.opset() < 10) {
      *rewritten.Add() = node;
      continue;
    }
    const std::int64_t axis = attr_int(node, "axis", 0);
    std::int64_t offset = 0;
    const std::string base = node.name().empty() ? node.output(0) : node.name();
    for (int i = 0; i < node.output_size(); ++i) {
      const std::string prefix = base + "/keepup_slice" + std::to_string(i);
      auto add_param = [&](const char *what, std::int64_t v) {
        const std::string name = prefix + "_" + what;
        *graph->add_initializer() = to_tensor(make_ints({1}, {v}), name);
        return name;
      };
      onnx::NodeProto slice;
      slice.set_op_type("Slice");
      slice.set_name(prefix);
      slice.add_input(node.input(0));
      slice.add_input(add_param("starts", offset));
      slice.add_input(add_param("ends", offset + sizes[static_cast<std::size_t>(i)]));
      slice.add_input(add_param("axes", axis));
      slice.add_output(node.output(i));
      offset += sizes[static_cast<std::size_t>(i)];
      *rewritten.Add() = slice;
    }
    std::ostringstream detail;
    detail << describe_node(node) << " sizes " << format_shape(sizes) << " on axis " << axis
           << " -> " << node.output_size() << " Slice nodes";
    changes.push_back({"split-to-slice", detail.str()});
    ++count;
  }
  graph->mutable_node()->Swap(&rewritten);
  return count;
}

// 3. Elementwise op of a tensor and a constant that needs broadcasting over more than a
//    channel axis -> the constant at the full output shape.
int materialize_broadcasts(Model &m, std::vector<Change> &changes) {
  m.infer_shapes();
  auto *graph = m.proto().mutable_graph();
  const auto init_idx = m.initializer_index();
  static const std::set<std::string> elementwise = {"Add", "Sub", "Mul", "Div"};
  int count = 0;
  for (auto &node : *graph->mutable_node()) {
    if (!elementwise.count(node.op_type()) || node.input_size() != 2)
      continue;
    for (int side = 0; side < 2; ++side) {
      const auto it = init_idx.find(node.input(side));
      if (it == init_idx.end() || init_idx.count(node.input(1 - side)))
        continue;
      const Shape *other = m.static_shape(node.input(1 - side));
      const auto &tensor = graph->initializer(it->second);
      const Shape cshape(tensor.dims().begin(), tensor.dims().end());
      if (!other || element_count(cshape) <= 1)
        continue;
      auto out = broadcast_shape(*other, cshape);
      if (!out || *out != *other)
        continue; // the constant would grow the tensor: not this pattern
      Shape padded(out->size() - std::min(out->size(), cshape.size()), 1);
      padded.insert(padded.end(), cshape.begin(), cshape.end());
      if (padded == *out)
        continue; // same shape already
      // Per-channel constants ([1,C,1,1]) are OpenCV's scale/bias layers: they work.
      const bool per_channel =
          out->size() >= 3 && padded[1] == (*out)[1] &&
          std::all_of(padded.begin() + 2, padded.end(), [](auto d) { return d == 1; }) &&
          padded[0] == 1;
      if (per_channel || element_count(*out) > (1 << 24))
        continue;
      auto c = from_tensor(tensor);
      if (!c)
        continue;
      const std::string name = node.input(side) + "/keepup_full_" + std::to_string(count);
      *graph->add_initializer() = to_tensor(broadcast_to(*c, *out), name);
      std::ostringstream detail;
      detail << describe_node(node) << ": constant " << format_shape(cshape) << " -> "
             << format_shape(*out);
      changes.push_back({"materialize-broadcast", detail.str()});
      node.set_input(side, name);
      ++count;
      break;
    }
  }
  return count;
}

ModelInfo collect_info(Model &m) {
  ModelInfo info;
  info.opset = m.opset();
  const auto &input = m.data_input();
  info.input_name = input.name();
  info.input_shape = Model::shape_of(input);
  for (const auto &o : m.proto().graph().output()) {
    const Shape *s = m.static_shape(o.name());
    info.output_shapes.push_back(s ? *s : Model::shape_of(o));
  }
  for (const auto &p : m.proto().metadata_props())
    info.metadata.emplace_back(p.key(), p.value());
  return info;
}

} // namespace

std::string format_shape(const std::vector<std::int64_t> &shape) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s << (i ? "," : "") << (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  s << "]";
  return s.str();
}

ModelInfo inspect(const std::string &model_bytes) {
  Model m(model_bytes);
  m.infer_shapes();
  return collect_info(m);
}

FixResult fix(const std::string &model_bytes, int input_size) {
  Model m(model_bytes);
  FixResult result;

  // A static input shape is what makes shape arithmetic foldable.
  auto *graph = m.proto().mutable_graph();
  onnx::ValueInfoProto *input = nullptr;
  {
    const std::string name = m.data_input().name();
    for (auto &in : *graph->mutable_input())
      if (in.name() == name)
        input = &in;
  }
  auto *dims = input->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim();
  const bool any_dynamic = std::any_of(dims->begin(), dims->end(), [](const auto &d) {
    return !d.has_dim_value() || d.dim_value() <= 0;
  });
  if (dims->size() != 4 && (any_dynamic || input_size > 0))
    throw Error("the model input '" + input->name() + "' has " + std::to_string(dims->size()) +
                " dimensions; a YOLO detector takes [1, 3, H, W]");
  std::vector<std::string> pinned;
  for (int i = 0; i < dims->size() && dims->size() == 4; ++i) {
    auto *d = dims->Mutable(i);
    const bool dynamic = !d->has_dim_value() || d->dim_value() <= 0;
    const std::int64_t want = i == 0 ? 1 : i == 1 ? 3 : input_size;
    if (dynamic) {
      if (want <= 0)
        throw Error("the model input '" + input->name() +
                    "' has a dynamic size; set input-size or export with a static shape "
                    "(e.g. yolo export format=onnx opset=12 dynamic=False imgsz=640)");
      d->clear_dim_param();
      d->set_dim_value(want);
      pinned.push_back(std::to_string(i));
    } else if (i >= 2 && input_size > 0 && d->dim_value() != input_size) {
      throw Error("input-size " + std::to_string(input_size) + " does not match the model's " +
                  std::to_string(d->dim_value()) +
                  " (the anchors are baked in at export: leave input-size at 0)");
    }
  }
  if (!pinned.empty())
    result.changes.push_back({"static-input", "pinned dynamic input dimensions to " +
                                                  format_shape(Model::shape_of(*input))});

  m.constants_to_initializers();
  fold_constants(m, result.changes);
  split_to_slices(m, result.changes);
  fold_constants(m, result.changes); // Slices of constants that a Split produced
  materialize_broadcasts(m, result.changes);
  m.remove_unused_initializers();
  m.infer_shapes();
  result.info = collect_info(m);
  m.proto().mutable_graph()->clear_value_info();
  if (!m.proto().SerializeToString(&result.model))
    throw Error("cannot serialize the rewritten model");
  return result;
}

} // namespace keepup::onnxfix
