// SPDX-License-Identifier: LGPL-2.1-or-later
#include "overlay_canvas.hpp"

#include <algorithm>
#include <string_view>

#include <opencv2/imgproc.hpp>

namespace keepup::overlay {

Canvas::Canvas(const FrameView &frame)
    : format_(frame.format), width_(frame.width), height_(frame.height) {
  const int width = frame.width, height = frame.height;
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  const auto &planes = frame.planes;
  auto step = [&](int p) { return static_cast<std::size_t>(planes[p].stride); };
  switch (format_) {
  case PixelFormat::bgr:
  case PixelFormat::rgb:
    main_ = cv::Mat(height, width, CV_8UC3, planes[0].data, step(0));
    break;
  case PixelFormat::bgrx:
  case PixelFormat::bgra:
  case PixelFormat::rgbx:
  case PixelFormat::rgba:
    main_ = cv::Mat(height, width, CV_8UC4, planes[0].data, step(0));
    break;
  case PixelFormat::i420:
    main_ = cv::Mat(height, width, CV_8UC1, planes[0].data, step(0));
    u_ = cv::Mat(ch, cw, CV_8UC1, planes[1].data, step(1));
    v_ = cv::Mat(ch, cw, CV_8UC1, planes[2].data, step(2));
    break;
  case PixelFormat::nv12:
    main_ = cv::Mat(height, width, CV_8UC1, planes[0].data, step(0));
    uv_ = cv::Mat(ch, cw, CV_8UC2, planes[1].data, step(1));
    break;
  }
}

cv::Scalar Canvas::packed(const Rgb &c) const {
  switch (format_) {
  case PixelFormat::bgr:
  case PixelFormat::bgrx:
  case PixelFormat::bgra:
    return {static_cast<double>(c.b), static_cast<double>(c.g), static_cast<double>(c.r), 255};
  default:
    return {static_cast<double>(c.r), static_cast<double>(c.g), static_cast<double>(c.b), 255};
  }
}

// Calls draw(mat, colour, scale, thickness) for every plane the format has: once for packed
// formats, for Y at full size and for the chroma plane(s) at half size for YUV.
template <typename Draw> void Canvas::each_plane(const Rgb &c, int thickness, Draw draw) {
  if (!yuv()) {
    draw(main_, packed(c), 1.0, thickness);
    return;
  }
  const Yuv yuv = to_yuv(c);
  const int half = std::max(1, thickness / 2);
  draw(main_, cv::Scalar(yuv.y), 1.0, thickness);
  if (format_ == PixelFormat::i420) {
    draw(u_, cv::Scalar(yuv.u), 0.5, half);
    draw(v_, cv::Scalar(yuv.v), 0.5, half);
  } else {
    draw(uv_, cv::Scalar(yuv.u, yuv.v), 0.5, half);
  }
}

namespace {
cv::Point scaled(Point p, double s) {
  return {static_cast<int>(p.x * s), static_cast<int>(p.y * s)};
}
} // namespace

void Canvas::rect(Point a, Point b, const Rgb &c, int thickness) {
  each_plane(c, thickness, [&](cv::Mat &m, const cv::Scalar &s, double k, int t) {
    cv::rectangle(m, scaled(a, k), scaled(b, k), s, t);
  });
}

void Canvas::fill(Point a, Point b, const Rgb &c) {
  each_plane(c, 1, [&](cv::Mat &m, const cv::Scalar &s, double k, int) {
    cv::rectangle(m, scaled(a, k), scaled(b, k), s, cv::FILLED);
  });
}

void Canvas::line(Point a, Point b, const Rgb &c, int thickness) {
  each_plane(c, thickness, [&](cv::Mat &m, const cv::Scalar &s, double k, int t) {
    cv::line(m, scaled(a, k), scaled(b, k), s, t);
  });
}

void Canvas::polyline(const std::vector<Point> &points, bool closed, const Rgb &c, int thickness) {
  if (points.size() < 2)
    return;
  each_plane(c, thickness, [&](cv::Mat &m, const cv::Scalar &s, double k, int t) {
    std::vector<cv::Point> pts;
    pts.reserve(points.size());
    for (const auto &p : points)
      pts.push_back(scaled(p, k));
    cv::polylines(m, pts, closed, s, t);
  });
}

void Canvas::dot(Point p, int radius, const Rgb &c) {
  each_plane(c, 1, [&](cv::Mat &m, const cv::Scalar &s, double k, int) {
    cv::circle(m, scaled(p, k), std::max(1, static_cast<int>(radius * k)), s, cv::FILLED);
  });
}

void Canvas::label(Point at, const std::string &text_in, const Rgb &bg, double scale) {
  // Hershey fonts are ASCII: each ± is drawn as a + with a bar under it.
  // (Built by appending: GCC 12 -O3 sees a false -Wrestrict in std::string::replace.)
  std::string text;
  std::vector<std::size_t> plus_minus; // byte offsets of the + standing for a ±
  const std::string_view pm = kPlusMinus;
  for (std::size_t i = 0; i < text_in.size();) {
    if (text_in.compare(i, pm.size(), pm) == 0) {
      plus_minus.push_back(text.size());
      text.push_back('+');
      i += pm.size();
    } else {
      text.push_back(text_in[i++]);
    }
  }
  int baseline = 0;
  const int thickness = scale >= 0.8 ? 2 : 1;
  const cv::Size size =
      cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &baseline);
  const int pad = 3;
  int x = std::clamp(at.x, 0, std::max(0, width_ - size.width - 2 * pad));
  int y = std::clamp(at.y, size.height + 2 * pad, std::max(size.height + 2 * pad, height_ - 1));
  fill({x, y - size.height - 2 * pad}, {x + size.width + 2 * pad, y}, bg);
  // Dark text on light backgrounds, white on dark ones.
  const Rgb ink = to_yuv(bg).y > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  const cv::Scalar colour = yuv() ? cv::Scalar(to_yuv(ink).y) : packed(ink);
  cv::putText(main_, text, {x + pad, y - pad}, cv::FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
              cv::LINE_AA);
  for (std::size_t i : plus_minus) {
    int unused = 0;
    const int x0 =
        cv::getTextSize(text.substr(0, i), cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &unused)
            .width;
    const int w = cv::getTextSize("+", cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &unused).width;
    const int bar_y = y - pad - std::max(1, thickness / 2);
    cv::line(main_, {x + pad + x0 + 1, bar_y}, {x + pad + x0 + w - 2, bar_y}, colour, thickness,
             cv::LINE_AA);
  }
}

} // namespace keepup::overlay
