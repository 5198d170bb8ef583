// SPDX-License-Identifier: LGPL-2.1-or-later
// The ONNX rewrites: each of OpenCV 4.6's three failures reproduced on a small graph (the
// unfixed graph must fail, so the test proves the pattern), then the fixed graph loads and
// computes the reference; and a YOLO11-structure export must match torch's own output.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <opencv2/dnn.hpp>

#include "file_util.hpp"
#include "onnx_builder.hpp"
#include "onnx_fixups.hpp"

using keepup::test::OnnxBuilder;
namespace onnxfix = keepup::onnxfix;

namespace {

cv::Mat run_opencv(const std::string &model, const cv::Mat &input) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(model.data(), model.size());
  net.setInput(input);
  return net.forward().clone();
}

// Loading or running it throws (OpenCV reports the failure as a cv::Exception).
bool opencv_fails(const std::string &model, const cv::Mat &input) {
  try {
    run_opencv(model, input);
    return false;
  } catch (const cv::Exception &) {
    return true;
  }
}

cv::Mat counting_blob(const std::vector<int> &shape) {
  cv::Mat m(shape, CV_32F);
  for (std::size_t i = 0; i < m.total(); ++i)
    m.ptr<float>()[i] = static_cast<float>(i) * 0.25F - 3.0F;
  return m;
}

bool has_change(const onnxfix::FixResult &r, const std::string &kind) {
  for (const auto &c : r.changes)
    if (c.kind == kind)
      return true;
  return false;
}

std::string read_file(const std::string &path) {
  std::string bytes;
  EXPECT_TRUE(keepup::read_whole_file(path, bytes)) << path;
  return bytes;
}

} // namespace

// torch 1.x exports x.chunk(2, 1) as Shape -> Gather -> Add -> Div -> Mul -> Slice.
TEST(OnnxFixups, ShapeArithmeticIsFolded) {
  OnnxBuilder b(12);
  b.input("x", {1, 4, 2, 2});
  b.ints("idx", {1}, {1});
  b.ints("zero", {1}, {0});
  b.ints("one", {1}, {1});
  b.ints("two", {1}, {2});
  b.node("Shape", {"x"}, {"shape"});
  OnnxBuilder::attr_int(b.node("Gather", {"shape", "idx"}, {"channels"}), "axis", 0);
  b.node("Add", {"channels", "zero"}, {"sum"}); // the Add OpenCV mistakes for a bias
  b.node("Div", {"sum", "two"}, {"half"});
  b.node("Mul", {"half", "one"}, {"end0"});
  b.node("Mul", {"half", "two"}, {"end1"});
  b.node("Slice", {"x", "zero", "end0", "idx"}, {"first"});
  b.node("Slice", {"x", "end0", "end1", "idx"}, {"second"});
  b.node("Add", {"first", "second"}, {"y"});
  b.output("y", {1, 2, 2, 2});
  const cv::Mat x = counting_blob({1, 4, 2, 2});
  ASSERT_TRUE(opencv_fails(b.bytes(), x)) << "the graph no longer reproduces the failure";

  const auto fixed = onnxfix::fix(b.bytes());
  EXPECT_TRUE(has_change(fixed, "fold"));
  const cv::Mat y = run_opencv(fixed.model, x);
  ASSERT_EQ(y.total(), 8U);
  for (int i = 0; i < 8; ++i) // y[c] = x[c] + x[c + 2]
    EXPECT_FLOAT_EQ(y.ptr<float>()[i], x.ptr<float>()[i] + x.ptr<float>()[i + 8]) << i;
}

// Opset 13 Split with a sizes input: OpenCV 4.6 splits equally.
TEST(OnnxFixups, SizedSplitBecomesSlices) {
  OnnxBuilder b(13);
  b.input("x", {1, 6, 2, 2});
  b.ints("sizes", {2}, {2, 4});
  OnnxBuilder::attr_int(b.node("Split", {"x", "sizes"}, {"a", "b"}), "axis", 1);
  OnnxBuilder::attr_int(b.node("Concat", {"b", "a"}, {"y"}), "axis", 1);
  b.output("y", {1, 6, 2, 2});
  const cv::Mat x = counting_blob({1, 6, 2, 2});
  const int order[6] = {2, 3, 4, 5, 0, 1}; // b's channels, then a's
  auto matches_reference = [&](const cv::Mat &y) {
    if (y.total() != 24U)
      return false;
    for (int c = 0; c < 6; ++c)
      for (int k = 0; k < 4; ++k)
        if (y.ptr<float>()[c * 4 + k] != x.ptr<float>()[order[c] * 4 + k])
          return false;
    return true;
  };
  // Worse than a failure: unfixed, OpenCV splits 3 + 3 and returns a wrong answer silently
  // (or fails when the size does not divide, as in YOLOv5's 2 + 2 + 81).
  ASSERT_TRUE(opencv_fails(b.bytes(), x) || !matches_reference(run_opencv(b.bytes(), x)))
      << "the graph no longer reproduces the failure";

  const auto fixed = onnxfix::fix(b.bytes());
  EXPECT_TRUE(has_change(fixed, "split-to-slice"));
  EXPECT_TRUE(matches_reference(run_opencv(fixed.model, x)));
}

// The v8 head multiplies [1, 4, N] boxes by [1, N] strides.
TEST(OnnxFixups, AnchorBroadcastIsMaterialized) {
  OnnxBuilder b(12);
  b.input("x", {1, 4, 5});
  b.floats("strides", {1, 5}, {8, 8, 16, 16, 32});
  b.node("Mul", {"x", "strides"}, {"y"});
  b.output("y", {1, 4, 5});
  const cv::Mat x = counting_blob({1, 4, 5});
  ASSERT_TRUE(opencv_fails(b.bytes(), x)) << "the graph no longer reproduces the failure";

  const auto fixed = onnxfix::fix(b.bytes());
  ASSERT_TRUE(has_change(fixed, "materialize-broadcast"));
  const cv::Mat y = run_opencv(fixed.model, x);
  const float strides[5] = {8, 8, 16, 16, 32};
  ASSERT_EQ(y.total(), 20U);
  for (int r = 0; r < 4; ++r)
    for (int n = 0; n < 5; ++n)
      EXPECT_FLOAT_EQ(y.ptr<float>()[r * 5 + n], x.ptr<float>()[r * 5 + n] * strides[n]);
}

TEST(OnnxFixups, ModelsThatNeedNothingAreReportedUnchanged) {
  const std::string model =
      keepup::test::constant_detector(32, {1, 6, 2}, std::vector<float>(12, 0.5F));
  const auto fixed = onnxfix::fix(model);
  EXPECT_TRUE(fixed.changes.empty());
  ASSERT_EQ(fixed.info.output_shapes.size(), 1U);
  EXPECT_EQ(fixed.info.output_shapes[0], (std::vector<std::int64_t>{1, 6, 2}));
}

TEST(OnnxFixups, DynamicInputIsPinnedOrRefused) {
  OnnxBuilder b(12);
  b.input("x", {1, 3, 0, 0}); // 0 = unknown here
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  EXPECT_THROW(onnxfix::fix(b.bytes()), onnxfix::Error);
  const auto fixed = onnxfix::fix(b.bytes(), 64);
  EXPECT_TRUE(has_change(fixed, "static-input"));
  EXPECT_EQ(fixed.info.input_shape, (std::vector<std::int64_t>{1, 3, 64, 64}));
}

TEST(OnnxFixups, GarbageIsAClearError) {
  EXPECT_THROW(onnxfix::fix("this is not a protobuf"), onnxfix::Error);
  EXPECT_THROW(onnxfix::inspect(std::string(100, '\xff')), onnxfix::Error);
}

// A YOLO11 graph (C3k2, C2PSA attention, DFL head) as torch 1.13 exports it at opset 17: it
// needs all three rewrites, and must then compute what torch computed.
TEST(OnnxFixups, Yolo11ExportMatchesTorch) {
  const std::string dir = KEEPUP_TEST_MODELS_DIR;
  const std::string model = read_file(dir + "/test/yolo11-random-w0.0625-320-op17.onnx");
  const std::string ref = read_file(dir + "/test/yolo11-random-w0.0625-320-op17.kref");
  ASSERT_FALSE(model.empty());
  ASSERT_GT(ref.size(), 24U);
  ASSERT_EQ(ref.substr(0, 4), "KREF");
  std::uint32_t rank = 0;
  std::memcpy(&rank, ref.data() + 4, 4);
  ASSERT_EQ(rank, 3U);
  std::uint32_t dims[3], step = 0;
  std::memcpy(dims, ref.data() + 8, 12);
  std::memcpy(&step, ref.data() + 20, 4);
  const float *expected = reinterpret_cast<const float *>(ref.data() + 24);
  const std::size_t expected_count = (ref.size() - 24) / 4;

  const int size = 320;
  cv::Mat x(std::vector<int>{1, 3, size, size}, CV_32F);
  for (int c = 0; c < 3; ++c)
    for (int yy = 0; yy < size; ++yy)
      for (int xx = 0; xx < size; ++xx)
        x.ptr<float>()[(c * size + yy) * size + xx] =
            static_cast<float>((c * 7 + yy * 3 + xx * 5) % 17) / 16.0F;

  ASSERT_TRUE(opencv_fails(model, x));
  const auto fixed = onnxfix::fix(model);
  EXPECT_TRUE(has_change(fixed, "fold"));
  EXPECT_TRUE(has_change(fixed, "split-to-slice"));
  EXPECT_TRUE(has_change(fixed, "materialize-broadcast"));
  const cv::Mat y = run_opencv(fixed.model, x);
  ASSERT_EQ(y.dims, 3);
  EXPECT_EQ(static_cast<std::uint32_t>(y.size[1]), dims[1]);
  EXPECT_EQ(static_cast<std::uint32_t>(y.size[2]), dims[2]);
  ASSERT_EQ((y.total() + step - 1) / step, expected_count);
  double worst = 0.0;
  for (std::size_t i = 0; i < expected_count; ++i) {
    const double got = y.ptr<float>()[i * step], want = expected[i];
    worst = std::max(worst, std::abs(got - want) / std::max(1.0, std::abs(want)));
  }
  EXPECT_LT(worst, 1e-3) << "largest relative difference to torch";
}
