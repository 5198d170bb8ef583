// SPDX-License-Identifier: LGPL-2.1-or-later
// A mapped video frame as plain C++ sees it: pixel format, size and each plane's pointer and
// real stride (rows may be padded). yolodetect reads frames through it and detectoverlay
// draws into them; elements/common/gst/video_frame_view.hpp makes one from a GstVideoFrame.
// The view owns nothing: it is valid while the frame stays mapped, and writable only when the
// frame was mapped for writing.
#pragma once

#include <cstdint>

namespace keepup {

// The raw formats the analytics elements accept. Packed RGB orders with 3 or 4 bytes per
// pixel (x and A are the same to a reader or a painter), and the two 4:2:0 YUV layouts.
enum class PixelFormat { bgr, rgb, bgrx, bgra, rgbx, rgba, i420, nv12 };

struct PlaneView {
  std::uint8_t *data = nullptr;
  int stride = 0; // bytes from one row to the next
};

struct FrameView {
  PixelFormat format = PixelFormat::bgr;
  int width = 0, height = 0;
  // Packed formats use planes[0]; I420: Y, U, V; NV12: Y, interleaved UV.
  PlaneView planes[3];
};

inline bool is_yuv420(PixelFormat f) {
  return f == PixelFormat::i420 || f == PixelFormat::nv12;
}

} // namespace keepup
