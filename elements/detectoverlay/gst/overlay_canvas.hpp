// SPDX-License-Identifier: LGPL-2.1-or-later
// Drawing on a mapped video frame with its real strides: packed RGB formats through OpenCV
// directly, I420 / NV12 by drawing luma into the Y plane and chroma into the half-size chroma
// plane(s) -- no full-frame conversion.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "overlay_core.hpp"

namespace keepup::overlay {

enum class CanvasFormat { bgr, rgb, bgrx, rgbx, i420, nv12 };

struct PlaneRef {
  unsigned char *data = nullptr;
  int stride = 0;
};

class Canvas {
public:
  Canvas(CanvasFormat format, int width, int height, const PlaneRef planes[3]);

  void rect(cv::Point a, cv::Point b, const Rgb &c, int thickness);
  void fill(cv::Point a, cv::Point b, const Rgb &c);
  void line(cv::Point a, cv::Point b, const Rgb &c, int thickness);
  void polyline(const std::vector<cv::Point> &points, bool closed, const Rgb &c, int thickness);
  void dot(cv::Point p, int radius, const Rgb &c);
  // A label: filled background in `bg`, text in black or white by the background's
  // lightness (luma only on YUV), bottom-left at `at`, kept inside the frame.
  void label(cv::Point at, const std::string &text, const Rgb &bg, double scale);
  int width() const { return width_; }
  int height() const { return height_; }

private:
  cv::Scalar packed(const Rgb &c) const;
  template <typename Draw> void each_plane(const Rgb &c, int thickness, Draw draw);

  CanvasFormat format_;
  int width_, height_;
  cv::Mat main_;       // packed frame, or the Y plane
  cv::Mat u_, v_, uv_; // chroma planes (I420: u_, v_; NV12: uv_)
};

} // namespace keepup::overlay
