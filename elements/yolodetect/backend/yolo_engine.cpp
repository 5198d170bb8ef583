// SPDX-License-Identifier: LGPL-2.1-or-later
#include "yolo_engine.hpp"

#include "file_util.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/imgproc.hpp>

namespace keepup::yolo {

namespace {

const char *kExportAdvice =
    "Export the model with a static input shape and opset 12, e.g. "
    "`yolo export model=yolov8n.pt format=onnx opset=12 dynamic=False simplify=False imgsz=640`";

std::string read_file(const std::string &path, const char *what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) // a folder opens, and reads as empty
    throw ModelNotFound(std::string("cannot read ") + what + " '" + path + "': it is a directory");
  std::string bytes;
  if (!keepup::read_whole_file(path, bytes))
    throw ModelNotFound(std::string("cannot open ") + what + " '" + path +
                        "': " + std::strerror(errno));
  return bytes;
}

std::vector<int> mat_shape(const cv::Mat &m) {
  std::vector<int> s;
  for (int i = 0; i < m.dims; ++i)
    s.push_back(m.size[i]);
  return s;
}

} // namespace

YoloEngine::YoloEngine(const ModelSettings &settings, const DecodeOptions &decode)
    : decode_(decode) {
  if (settings.model.empty())
    throw ModelNotFound("no model set: set the model property to an .onnx file");
  std::string bytes = read_file(settings.model, "model");

  onnxfix::ModelInfo model_info;
  try {
    model_info = onnxfix::inspect(bytes);
  } catch (const std::exception &e) {
    throw ModelInvalid("'" + settings.model + "' is not a usable ONNX model: " + e.what());
  }
  const auto &in_shape = model_info.input_shape;
  if (in_shape.size() != 4)
    throw ModelInvalid("the model input " + onnxfix::format_shape(in_shape) +
                       " is not [1, 3, H, W]");
  const bool static_hw = in_shape[2] > 0 && in_shape[3] > 0;
  if (static_hw && in_shape[2] != in_shape[3])
    throw ModelInvalid("the model input " + onnxfix::format_shape(in_shape) +
                       " is not square; yolodetect letterboxes to a square input");
  if (static_hw && settings.input_size > 0 && settings.input_size != in_shape[2])
    throw SettingsInvalid("input-size=" + std::to_string(settings.input_size) +
                          " does not match the model's input " + onnxfix::format_shape(in_shape) +
                          " (YOLO anchors are baked in at export): set input-size=0");
  if (!static_hw && settings.input_size <= 0)
    throw SettingsInvalid("the model input " + onnxfix::format_shape(in_shape) +
                          " is dynamic: set input-size (e.g. 640) or export with a static "
                          "shape");
  info_.input_size = static_hw ? static_cast<int>(in_shape[2]) : settings.input_size;

  if (settings.fixups == Fixups::automatic) {
    try {
      onnxfix::FixResult fixed = onnxfix::fix(bytes, info_.input_size);
      info_.changes = fixed.changes;
      if (!fixed.changes.empty())
        bytes = std::move(fixed.model);
    } catch (const std::exception &e) {
      throw ModelInvalid(std::string("rewriting the model for OpenCV failed: ") + e.what());
    }
  }

  try {
    net_ = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  } catch (const cv::Exception &e) {
    throw ModelInvalid(std::string("OpenCV ") + CV_VERSION + " cannot load the model" +
                       (settings.fixups == Fixups::none ? " (model-fixups=none)" : "") + ": " +
                       e.what() + ". " + kExportAdvice);
  }
  if (net_.empty())
    throw ModelInvalid(std::string("OpenCV loaded an empty network. ") + kExportAdvice);

  // Names first: their count settles layouts whose shape fits both readings.
  std::vector<std::string> names;
  if (!settings.labels.empty()) {
    names = parse_labels_file(read_file(settings.labels, "labels file"));
    if (names.empty())
      throw SettingsInvalid("the labels file '" + settings.labels +
                            "' has no names (it is empty, or only comments and blank lines)");
    info_.names_source = "labels";
  } else {
    for (const auto &[key, value] : model_info.metadata)
      if (key == "names")
        names = parse_names_metadata(value);
    if (!names.empty())
      info_.names_source = "metadata";
  }

  // One dry run: proves the network runs and gives the output shape.
  cv::Mat out;
  try {
    const int size = info_.input_size;
    cv::Mat zeros(std::vector<int>{1, 3, size, size}, CV_32F, cv::Scalar(0.5));
    net_.setInput(zeros);
    out = net_.forward();
  } catch (const cv::Exception &e) {
    throw ModelInvalid(std::string("OpenCV loaded the model but cannot run it: ") + e.what() +
                       ". " + kExportAdvice);
  }
  const auto shape = mat_shape(out);
  const std::vector<std::int64_t> out_shape(shape.begin(), shape.end());
  try {
    info_.layout = resolve_layout(out_shape, settings.layout, static_cast<int>(names.size()));
  } catch (const LayoutError &e) {
    if (names.empty())
      throw ModelInvalid(e.what());
    // The shape reads fine without the names' count: the names are what is wrong.
    try {
      info_.layout = resolve_layout(out_shape, settings.layout, 0);
    } catch (const LayoutError &) {
      throw ModelInvalid(e.what());
    }
  }
  if (out.type() != CV_32F)
    throw ModelInvalid("the model output is not float32");

  const int classes = info_.layout.classes;
  if (!names.empty() && static_cast<int>(names.size()) != classes) {
    if (info_.names_source == "labels")
      throw SettingsInvalid("the labels file '" + settings.labels + "' has " +
                            std::to_string(names.size()) + " names but the model has " +
                            std::to_string(classes) + " classes");
    names.clear(); // metadata that does not fit is ignored
  }
  if (names.empty()) {
    if (classes == 80) {
      names = coco80_names();
      info_.names_source = "coco80";
    } else {
      for (int k = 0; k < classes; ++k)
        names.push_back(class_label({}, k));
      info_.names_source = "generic";
    }
  }
  info_.names = names;
  try {
    decode_.keep_class = parse_class_filter(settings.classes, names, classes);
  } catch (const std::invalid_argument &e) {
    throw SettingsInvalid(e.what());
  }
}

void YoloEngine::prepare(const FrameView &f, PreparedFrame &out) const {
  const int size = info_.input_size;
  const Letterbox lb = letterbox_geometry(f.width, f.height, size);
  out.geometry = lb;
  out.frame_width = f.width;
  out.frame_height = f.height;
  if (out.square.rows != size || out.square.cols != size || out.square.type() != CV_8UC3)
    out.square.create(size, size, CV_8UC3);
  out.square.setTo(cv::Scalar::all(kLetterboxPadValue));
  cv::Mat roi = out.square(cv::Rect(lb.pad_x, lb.pad_y, lb.scaled_width, lb.scaled_height));
  const cv::Size scaled(lb.scaled_width, lb.scaled_height);
  std::uint8_t *p0 = f.planes[0].data;
  std::uint8_t *p1 = f.planes[1].data;
  std::uint8_t *p2 = f.planes[2].data;

  auto packed = [&](int type, int code) {
    const cv::Mat src(f.height, f.width, type, p0, static_cast<std::size_t>(f.planes[0].stride));
    cv::Mat small;
    cv::resize(src, small, scaled, 0, 0, cv::INTER_LINEAR);
    if (code < 0)
      small.copyTo(roi);
    else
      cv::cvtColor(small, roi, code);
  };
  switch (f.format) {
  case PixelFormat::rgb:
    packed(CV_8UC3, -1);
    return;
  case PixelFormat::bgr:
    packed(CV_8UC3, cv::COLOR_BGR2RGB);
    return;
  case PixelFormat::bgrx:
  case PixelFormat::bgra:
    packed(CV_8UC4, cv::COLOR_BGRA2RGB);
    return;
  case PixelFormat::rgbx:
  case PixelFormat::rgba:
    packed(CV_8UC4, cv::COLOR_RGBA2RGB);
    return;
  case PixelFormat::i420:
  case PixelFormat::nv12: {
    // Scale the planes first (cheap), then convert the small picture: no full-size RGB copy.
    const int ew = (lb.scaled_width + 1) & ~1, eh = (lb.scaled_height + 1) & ~1;
    const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
    cv::Mat yuv(eh * 3 / 2, ew, CV_8UC1);
    cv::Mat y_dst = yuv(cv::Rect(0, 0, ew, eh));
    cv::resize(
        cv::Mat(f.height, f.width, CV_8UC1, p0, static_cast<std::size_t>(f.planes[0].stride)),
        y_dst, y_dst.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat rgb;
    if (f.format == PixelFormat::i420) {
      // U then V, each (ew/2 x eh/2), packed row after row as OpenCV's I420 expects.
      uchar *chroma = yuv.ptr(eh);
      cv::Mat u_dst(eh / 2, ew / 2, CV_8UC1, chroma);
      cv::Mat v_dst(eh / 2, ew / 2, CV_8UC1, chroma + (ew / 2) * (eh / 2));
      cv::resize(cv::Mat(ch, cw, CV_8UC1, p1, static_cast<std::size_t>(f.planes[1].stride)), u_dst,
                 u_dst.size(), 0, 0, cv::INTER_LINEAR);
      cv::resize(cv::Mat(ch, cw, CV_8UC1, p2, static_cast<std::size_t>(f.planes[2].stride)), v_dst,
                 v_dst.size(), 0, 0, cv::INTER_LINEAR);
      cv::cvtColor(yuv, rgb, cv::COLOR_YUV2RGB_I420);
    } else {
      cv::Mat uv_dst(eh / 2, ew / 2, CV_8UC2, yuv.ptr(eh));
      cv::resize(cv::Mat(ch, cw, CV_8UC2, p1, static_cast<std::size_t>(f.planes[1].stride)), uv_dst,
                 uv_dst.size(), 0, 0, cv::INTER_LINEAR);
      cv::cvtColor(yuv, rgb, cv::COLOR_YUV2RGB_NV12);
    }
    rgb(cv::Rect(0, 0, lb.scaled_width, lb.scaled_height)).copyTo(roi);
    return;
  }
  }
}

std::vector<Detection> YoloEngine::infer(const PreparedFrame &frame) {
  cv::dnn::blobFromImage(frame.square, blob_, 1.0 / 255.0, cv::Size(), cv::Scalar(), false, false,
                         CV_32F);
  net_.setInput(blob_);
  cv::Mat out = net_.forward();
  if (!out.isContinuous())
    out = out.clone();
  return decode(out.ptr<float>(), info_.layout, frame.geometry, frame.frame_width,
                frame.frame_height, decode_);
}

void set_opencv_threads(int threads) {
  if (threads > 0)
    cv::setNumThreads(threads);
}

} // namespace keepup::yolo
