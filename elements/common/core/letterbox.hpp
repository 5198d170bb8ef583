// SPDX-License-Identifier: LGPL-2.1-or-later
// Letterbox geometry: a width x height frame scaled by `scale` (aspect kept) and centred in a
// size x size square. Detector pre-processing, box un-mapping and the training generator all
// use this one definition, so a model sees at run time exactly what it was trained on.
#pragma once

#include <algorithm>
#include <cmath>

namespace keepup {

struct Letterbox {
  float scale = 1.0F;
  int pad_x = 0, pad_y = 0;
  int scaled_width = 0, scaled_height = 0;

  // Maps a point from the square back to frame coordinates.
  float to_frame_x(float x) const { return (x - static_cast<float>(pad_x)) / scale; }
  float to_frame_y(float y) const { return (y - static_cast<float>(pad_y)) / scale; }
  float to_square_x(float x) const { return x * scale + static_cast<float>(pad_x); }
  float to_square_y(float y) const { return y * scale + static_cast<float>(pad_y); }
};

inline Letterbox letterbox_geometry(int width, int height, int size) {
  Letterbox lb;
  if (width <= 0 || height <= 0 || size <= 0)
    return lb;
  lb.scale = std::min(static_cast<float>(size) / static_cast<float>(width),
                      static_cast<float>(size) / static_cast<float>(height));
  lb.scaled_width = std::clamp(static_cast<int>(std::lround(width * lb.scale)), 1, size);
  lb.scaled_height = std::clamp(static_cast<int>(std::lround(height * lb.scale)), 1, size);
  lb.pad_x = (size - lb.scaled_width) / 2;
  lb.pad_y = (size - lb.scaled_height) / 2;
  return lb;
}

// The grey YOLO exports are trained with in the padding.
inline constexpr int kLetterboxPadValue = 114;

} // namespace keepup
