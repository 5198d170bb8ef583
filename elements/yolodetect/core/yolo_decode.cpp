// SPDX-License-Identifier: LGPL-2.1-or-later
#include "yolo_decode.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <sstream>

#include "parse_number.hpp"

namespace keepup::yolo {

const char *layout_name(Layout layout) {
  switch (layout) {
  case Layout::v5:
    return "v5";
  case Layout::v8:
    return "v8";
  default:
    return "auto";
  }
}

float iou(const Box &a, const Box &b) {
  const Box inter{std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2),
                  std::min(a.y2, b.y2)};
  const float i = inter.area();
  const float u = a.area() + b.area() - i;
  return u > 0.0F ? i / u : 0.0F;
}

namespace {

std::string shape_text(const std::vector<std::int64_t> &shape) {
  std::ostringstream s;
  s << "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    s << (i ? "," : "") << shape[i];
  s << "]";
  return s.str();
}

} // namespace

OutputLayout resolve_layout(const std::vector<std::int64_t> &shape, Layout requested,
                            int known_classes) {
  std::vector<std::int64_t> dims = shape;
  if (dims.size() == 2)
    dims.insert(dims.begin(), 1);
  if (dims.size() != 3 || dims[0] != 1 || dims[1] <= 0 || dims[2] <= 0)
    throw LayoutError("the model output " + shape_text(shape) +
                      " is not a YOLO detection tensor: expected [1, N, 5+C] (layout=v5) or "
                      "[1, 4+C, N] (layout=v8)");
  const auto a = static_cast<int>(dims[1]), b = static_cast<int>(dims[2]);
  const bool v8_fits = a > 4 && (known_classes <= 0 || a == 4 + known_classes);
  const bool v5_fits = b > 5 && (known_classes <= 0 || b == 5 + known_classes);
  Layout layout = requested;
  if (layout == Layout::automatic) {
    if (v8_fits && !v5_fits)
      layout = Layout::v8;
    else if (v5_fits && !v8_fits)
      layout = Layout::v5;
    else if (v8_fits && v5_fits && a != b)
      layout = b > a ? Layout::v8 : Layout::v5; // the anchor axis is the long one
    else
      throw LayoutError("cannot tell the layout of the model output " + shape_text(shape) +
                        ": set layout=v5 ([1, N, 5+C], objectness x class) or layout=v8 "
                        "([1, 4+C, N], YOLOv8/YOLO11)");
  }
  OutputLayout out;
  out.layout = layout;
  if (layout == Layout::v8) {
    if (a <= 4)
      throw LayoutError("layout=v8 needs [1, 4+C, N]; the model output is " + shape_text(shape));
    out.classes = a - 4;
    out.anchors = b;
  } else {
    if (b <= 5)
      throw LayoutError("layout=v5 needs [1, N, 5+C]; the model output is " + shape_text(shape));
    out.classes = b - 5;
    out.anchors = a;
  }
  return out;
}

std::vector<Detection> nms_per_class(std::vector<Detection> candidates, float iou_threshold,
                                     int max_detections) {
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Detection &l, const Detection &r) { return l.confidence > r.confidence; });
  std::vector<Detection> kept;
  for (const Detection &d : candidates) {
    if (max_detections > 0 && static_cast<int>(kept.size()) >= max_detections)
      break;
    bool suppressed = false;
    for (const Detection &k : kept)
      if (k.class_id == d.class_id && iou(k.box, d.box) > iou_threshold) {
        suppressed = true;
        break;
      }
    if (!suppressed)
      kept.push_back(d);
  }
  return kept;
}

std::vector<Detection> decode(const float *data, const OutputLayout &layout,
                              const Letterbox &geometry, int frame_width, int frame_height,
                              const DecodeOptions &options) {
  std::vector<Detection> candidates;
  const int n = layout.anchors, c = layout.classes;
  // Scores are float32: compare them with float thresholds.
  const auto conf_threshold = static_cast<float>(options.conf_threshold);
  const auto keep = [&](int cls) {
    return options.keep_class.empty() ||
           (cls < static_cast<int>(options.keep_class.size()) && options.keep_class[cls]);
  };
  const auto fw = static_cast<float>(frame_width), fh = static_cast<float>(frame_height);
  auto emit = [&](float cx, float cy, float w, float h, int cls, float conf) {
    Box b{geometry.to_frame_x(cx - w * 0.5F), geometry.to_frame_y(cy - h * 0.5F),
          geometry.to_frame_x(cx + w * 0.5F), geometry.to_frame_y(cy + h * 0.5F)};
    b.x1 = std::clamp(b.x1, 0.0F, fw);
    b.x2 = std::clamp(b.x2, 0.0F, fw);
    b.y1 = std::clamp(b.y1, 0.0F, fh);
    b.y2 = std::clamp(b.y2, 0.0F, fh);
    if (b.area() > 0.0F)
      candidates.push_back({b, cls, conf});
  };
  if (layout.layout == Layout::v8) {
    // [1, 4+C, N]: row r holds feature r of every anchor.
    for (int i = 0; i < n; ++i) {
      int best = -1;
      float best_score = conf_threshold;
      for (int k = 0; k < c; ++k) {
        const float s = data[static_cast<std::size_t>(4 + k) * n + i];
        if (s >= best_score && keep(k) && (best < 0 || s > best_score)) {
          best = k;
          best_score = s;
        }
      }
      if (best >= 0)
        emit(data[i], data[static_cast<std::size_t>(n) + i],
             data[2 * static_cast<std::size_t>(n) + i], data[3 * static_cast<std::size_t>(n) + i],
             best, best_score);
    }
  } else {
    // [1, N, 5+C]: one row per anchor, confidence = objectness x class score.
    const int stride = 5 + c;
    for (int i = 0; i < n; ++i) {
      const float *row = data + static_cast<std::size_t>(i) * stride;
      const float objectness = row[4];
      if (objectness < conf_threshold)
        continue;
      int best = -1;
      float best_score = conf_threshold;
      for (int k = 0; k < c; ++k) {
        const float s = objectness * row[5 + k];
        if (s >= best_score && keep(k) && (best < 0 || s > best_score)) {
          best = k;
          best_score = s;
        }
      }
      if (best >= 0)
        emit(row[0], row[1], row[2], row[3], best, best_score);
    }
  }
  return nms_per_class(std::move(candidates), static_cast<float>(options.nms_threshold),
                       options.max_detections);
}

std::vector<std::string> parse_names_metadata(const std::string &text) {
  // {0: 'person', 1: "bicycle", ...}: ids in order, names single or double quoted.
  std::vector<std::pair<long, std::string>> entries;
  std::size_t i = text.find('{');
  if (i == std::string::npos)
    return {};
  ++i;
  while (i < text.size()) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ','))
      ++i;
    if (i >= text.size() || text[i] == '}')
      break;
    std::size_t end = i;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
      ++end;
    if (end == i)
      return {};
    const long id = std::stol(text.substr(i, end - i));
    i = text.find(':', end);
    if (i == std::string::npos)
      return {};
    ++i;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    if (i >= text.size() || (text[i] != '\'' && text[i] != '"'))
      return {};
    const char quote = text[i++];
    const std::size_t close = text.find(quote, i);
    if (close == std::string::npos)
      return {};
    entries.emplace_back(id, text.substr(i, close - i));
    i = close + 1;
  }
  std::vector<std::string> names(entries.size());
  for (const auto &[id, name] : entries) {
    if (id < 0 || id >= static_cast<long>(names.size()))
      return {}; // ids must be 0..N-1
    names[static_cast<std::size_t>(id)] = name;
  }
  return names;
}

std::vector<std::string> parse_labels_file(const std::string &text) {
  std::vector<std::string> names;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() &&
           (line.back() == '\r' || std::isspace(static_cast<unsigned char>(line.back()))))
      line.pop_back();
    std::size_t start = 0;
    while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start])))
      ++start;
    line = line.substr(start);
    if (line.empty() || line[0] == '#')
      continue;
    names.push_back(line);
  }
  return names;
}

const std::vector<std::string> &coco80_names() {
  static const std::vector<std::string> names = {"person",        "bicycle",      "car",
                                                 "motorcycle",    "airplane",     "bus",
                                                 "train",         "truck",        "boat",
                                                 "traffic light", "fire hydrant", "stop sign",
                                                 "parking meter", "bench",        "bird",
                                                 "cat",           "dog",          "horse",
                                                 "sheep",         "cow",          "elephant",
                                                 "bear",          "zebra",        "giraffe",
                                                 "backpack",      "umbrella",     "handbag",
                                                 "tie",           "suitcase",     "frisbee",
                                                 "skis",          "snowboard",    "sports ball",
                                                 "kite",          "baseball bat", "baseball glove",
                                                 "skateboard",    "surfboard",    "tennis racket",
                                                 "bottle",        "wine glass",   "cup",
                                                 "fork",          "knife",        "spoon",
                                                 "bowl",          "banana",       "apple",
                                                 "sandwich",      "orange",       "broccoli",
                                                 "carrot",        "hot dog",      "pizza",
                                                 "donut",         "cake",         "chair",
                                                 "couch",         "potted plant", "bed",
                                                 "dining table",  "toilet",       "tv",
                                                 "laptop",        "mouse",        "remote",
                                                 "keyboard",      "cell phone",   "microwave",
                                                 "oven",          "toaster",      "sink",
                                                 "refrigerator",  "book",         "clock",
                                                 "vase",          "scissors",     "teddy bear",
                                                 "hair drier",    "toothbrush"};
  return names;
}

std::string class_label(const std::vector<std::string> &names, int class_id) {
  if (class_id >= 0 && class_id < static_cast<int>(names.size()) && !names[class_id].empty())
    return names[static_cast<std::size_t>(class_id)];
  return "class" + std::to_string(class_id);
}

std::vector<bool> parse_class_filter(const std::string &text, const std::vector<std::string> &names,
                                     int classes) {
  std::vector<bool> keep;
  if (text.find_first_not_of(" \t") == std::string::npos)
    return keep; // unset: every class
  const auto items = keepup::split_fields(text, ',');
  if (!items)
    throw std::invalid_argument("classes: '" + text + "' has an empty entry");
  for (const std::string &item : *items) {
    long long id = -1;
    if (std::all_of(item.begin(), item.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch)) || ch == '-';
        })) {
      id = keepup::parse_integer(item).value_or(-1); // out of range: refused below
    } else {
      for (int k = 0; k < classes; ++k)
        if (class_label(names, k) == item)
          id = k;
    }
    if (id < 0 || id >= classes)
      throw std::invalid_argument("classes: '" + item + "' is not one of the model's " +
                                  std::to_string(classes) + " classes");
    if (keep.empty())
      keep.assign(static_cast<std::size_t>(classes), false);
    keep[static_cast<std::size_t>(id)] = true;
  }
  return keep;
}

void LatencyWindow::add(double ms) {
  if (samples_.size() < window_)
    samples_.push_back(ms);
  else
    samples_[next_] = ms;
  next_ = (next_ + 1) % window_;
  ++count_;
}

double LatencyWindow::mean() const {
  if (samples_.empty())
    return 0.0;
  return std::accumulate(samples_.begin(), samples_.end(), 0.0) /
         static_cast<double>(samples_.size());
}

double LatencyWindow::p95() const {
  if (samples_.empty())
    return 0.0;
  std::vector<double> sorted = samples_;
  const std::size_t k = (sorted.size() * 95 + 99) / 100 - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(k), sorted.end());
  return sorted[k];
}

} // namespace keepup::yolo
