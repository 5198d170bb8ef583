// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-traffic-gen: writes generated traffic scenes for training and inspection.
//
//   keepup-traffic-gen --train --seed S --count N [--size 320]   binary records on stdout
//   keepup-traffic-gen --preview out.png [--seed S] [--width W --height H] [--time T]
//
// A training record: "KTG1", uint32 size, uint32 boxes, size*size*3 RGB bytes (the frame
// letterboxed exactly as yolodetect does it), then per box 6 float32: class, x1, y1, x2, y2
// (in the square) and the visible fraction.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "letterbox.hpp"
#include "traffic_scene.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: keepup-traffic-gen --train --seed S --count N [--size 320]\n"
                       "       keepup-traffic-gen --preview out.png [--seed S] [--width W]"
                       " [--height H] [--time T]\n");
  return 2;
}

bool write_all(const void *data, std::size_t size) {
  return std::fwrite(data, 1, size, stdout) == size;
}

} // namespace

int main(int argc, char **argv) {
  bool train = false;
  std::string preview;
  std::uint64_t seed = 1;
  long count = 1;
  int size = 320, width = 640, height = 360;
  double time_s = 3.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
    const char *v = nullptr;
    if (a == "--train") {
      train = true;
    } else if ((a == "--preview") && (v = value())) {
      preview = v;
    } else if (a == "--seed" && (v = value())) {
      seed = std::strtoull(v, nullptr, 10);
    } else if (a == "--count" && (v = value())) {
      count = std::strtol(v, nullptr, 10);
    } else if (a == "--size" && (v = value())) {
      size = std::atoi(v);
    } else if (a == "--width" && (v = value())) {
      width = std::atoi(v);
    } else if (a == "--height" && (v = value())) {
      height = std::atoi(v);
    } else if (a == "--time" && (v = value())) {
      time_s = std::atof(v);
    } else {
      return usage();
    }
  }
  if ((!train && preview.empty()) || size < 32 || width < 16 || height < 16 || count < 1)
    return usage();

  cv::Mat frame;
  std::vector<keepup::scene::GroundTruth> truth;
  if (!preview.empty()) {
    keepup::scene::TrafficScene scene({width, height, seed, 0.0F, -1.0F});
    scene.render(time_s, frame, truth);
    for (const auto &gt : truth)
      cv::rectangle(frame, cv::Rect(gt.box),
                    gt.visible_fraction < 0.5F ? cv::Scalar(0, 0, 255) : cv::Scalar(0, 255, 0));
    if (!cv::imwrite(preview, frame)) {
      std::fprintf(stderr, "keepup-traffic-gen: cannot write %s\n", preview.c_str());
      return 1;
    }
    std::printf("%s: %zu objects\n", preview.c_str(), truth.size());
    return 0;
  }

  // Frame shapes a camera gives: 16:9 at several sizes, 4:3, square, portrait.
  static const cv::Size shapes[] = {{640, 360}, {1280, 720}, {960, 540},  {640, 480},
                                    {480, 480}, {360, 640},  {1920, 1080}};
  std::mt19937_64 rng(seed);
  cv::Mat square(size, size, CV_8UC3), scaled, rgb;
  for (long n = 0; n < count; ++n) {
    const cv::Size shape = shapes[rng() % (sizeof(shapes) / sizeof(shapes[0]))];
    keepup::scene::TrafficScene scene({shape.width, shape.height,
                                       seed * 1000003ULL + static_cast<std::uint64_t>(n), 0.0F,
                                       -1.0F});
    const double t = std::uniform_real_distribution<double>(0.0, 60.0)(rng);
    scene.render(t, frame, truth);
    // Lighting: global gain and offset.
    const double gain = std::uniform_real_distribution<double>(0.7, 1.25)(rng);
    const double offset = std::uniform_real_distribution<double>(-25.0, 25.0)(rng);
    frame.convertTo(frame, CV_8UC3, gain, offset);

    const keepup::Letterbox lb = keepup::letterbox_geometry(frame.cols, frame.rows, size);
    cv::resize(frame, scaled, cv::Size(lb.scaled_width, lb.scaled_height), 0, 0, cv::INTER_LINEAR);
    square.setTo(cv::Scalar::all(keepup::kLetterboxPadValue));
    scaled.copyTo(square(cv::Rect(lb.pad_x, lb.pad_y, lb.scaled_width, lb.scaled_height)));
    cv::cvtColor(square, rgb, cv::COLOR_BGR2RGB);

    std::vector<float> boxes;
    for (const auto &gt : truth) {
      boxes.insert(boxes.end(), {static_cast<float>(gt.class_id), lb.to_square_x(gt.box.x),
                                 lb.to_square_y(gt.box.y), lb.to_square_x(gt.box.x + gt.box.width),
                                 lb.to_square_y(gt.box.y + gt.box.height), gt.visible_fraction});
    }
    const std::uint32_t header[2] = {static_cast<std::uint32_t>(size),
                                     static_cast<std::uint32_t>(truth.size())};
    if (!write_all("KTG1", 4) || !write_all(header, sizeof(header)) ||
        !write_all(rgb.data, rgb.total() * rgb.elemSize()) ||
        !write_all(boxes.data(), boxes.size() * sizeof(float)))
      return 1; // the reader went away
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}
