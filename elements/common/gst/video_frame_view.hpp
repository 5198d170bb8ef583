// SPDX-License-Identifier: LGPL-2.1-or-later
// A mapped GstVideoFrame as the plain-C++ FrameView (elements/common/core/frame_view.hpp):
// the one conversion from GStreamer's formats, pointers and strides for yolodetect and
// detectoverlay.
#pragma once

#include <gst/video/video.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "frame_view.hpp"

namespace keepup::gstutil {

// nullopt for a format FrameView does not describe (the elements' caps rule those out).
inline std::optional<PixelFormat> pixel_format(GstVideoFormat f) {
  switch (f) {
  case GST_VIDEO_FORMAT_BGR:
    return PixelFormat::bgr;
  case GST_VIDEO_FORMAT_RGB:
    return PixelFormat::rgb;
  case GST_VIDEO_FORMAT_BGRx:
    return PixelFormat::bgrx;
  case GST_VIDEO_FORMAT_BGRA:
    return PixelFormat::bgra;
  case GST_VIDEO_FORMAT_RGBx:
    return PixelFormat::rgbx;
  case GST_VIDEO_FORMAT_RGBA:
    return PixelFormat::rgba;
  case GST_VIDEO_FORMAT_I420:
    return PixelFormat::i420;
  case GST_VIDEO_FORMAT_NV12:
    return PixelFormat::nv12;
  default:
    return std::nullopt;
  }
}

// Throws std::invalid_argument for a format pixel_format() does not know.
inline FrameView frame_view(const GstVideoFrame *frame) {
  const GstVideoFormat format = GST_VIDEO_FRAME_FORMAT(frame);
  const std::optional<PixelFormat> pixels = pixel_format(format);
  if (!pixels)
    throw std::invalid_argument(std::string("unsupported video format ") +
                                gst_video_format_to_string(format));
  FrameView view;
  view.format = *pixels;
  view.width = GST_VIDEO_FRAME_WIDTH(frame);
  view.height = GST_VIDEO_FRAME_HEIGHT(frame);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(frame) && p < 3; ++p) {
    view.planes[p].data = static_cast<std::uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, p));
    view.planes[p].stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p);
  }
  return view;
}

} // namespace keepup::gstutil
