// SPDX-License-Identifier: LGPL-2.1-or-later
// detectoverlay's backend: drawing on a mapped video frame with its real strides, through
// OpenCV. Packed RGB formats directly, I420 / NV12 by drawing luma into the Y plane and chroma
// into the half-size chroma plane(s) -- no full-frame conversion. No GStreamer include path
// (the build enforces it): the frame arrives as the plain FrameView, positions as core Points.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "frame_view.hpp"
#include "overlay_core.hpp"

namespace keepup::overlay {

class Canvas {
public:
  // Draws into `frame`'s planes, which must stay mapped for writing while the canvas lives.
  explicit Canvas(const FrameView &frame);

  void rect(Point a, Point b, const Rgb &c, int thickness);
  void fill(Point a, Point b, const Rgb &c);
  void line(Point a, Point b, const Rgb &c, int thickness);
  void polyline(const std::vector<Point> &points, bool closed, const Rgb &c, int thickness);
  void dot(Point p, int radius, const Rgb &c);
  // A label: filled background in `bg`, text in black or white by the background's
  // lightness (luma only on YUV), bottom-left at `at`, kept inside the frame.
  void label(Point at, const std::string &text, const Rgb &bg, double scale);
  int width() const { return width_; }
  int height() const { return height_; }

private:
  cv::Scalar packed(const Rgb &c) const;
  template <typename Draw> void each_plane(const Rgb &c, int thickness, Draw draw);

  bool yuv() const { return is_yuv420(format_); }

  PixelFormat format_;
  int width_, height_;
  cv::Mat main_;       // packed frame, or the Y plane
  cv::Mat u_, v_, uv_; // chroma planes (I420: u_, v_; NV12: uv_)
};

} // namespace keepup::overlay
