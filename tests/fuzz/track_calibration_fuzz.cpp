// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's `calibration` property string (track_geometry: parse_calibration, the
// homography it builds). A calibration that is accepted must map its own four image points
// onto their ground points: speeds are computed through it.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "track_fuzz_util.hpp"
#include "track_geometry.hpp"

namespace track = keepup::track;

namespace {

// The four pairs, read independently of the parser (loosely: only used once it accepted).
bool read_pairs(const std::string &text, std::vector<track::Point> &img,
                std::vector<track::Point> &gnd) {
  std::istringstream in(text);
  std::string pair;
  while (std::getline(in, pair, ';')) {
    if (pair.find_first_not_of(" \t") == std::string::npos)
      continue;
    double v[4];
    const char *s = pair.c_str();
    for (int i = 0; i < 4; ++i) {
      while (*s == ' ' || *s == '\t' || *s == ',' || *s == ':')
        ++s;
      char *end = nullptr;
      v[i] = std::strtod(s, &end);
      if (end == s)
        return false;
      s = end;
    }
    img.push_back({v[0], v[1]});
    gnd.push_back({v[2], v[3]});
  }
  return img.size() == 4;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  track::Homography h;
  try {
    h = track::parse_calibration(text);
  } catch (const track::ParseError &e) {
    FUZZ_CHECK(std::string(e.what()).rfind("calibration: ", 0) == 0);
    return 0;
  }
  std::vector<track::Point> img, gnd;
  FUZZ_CHECK(read_pairs(text, img, gnd));
  double scale = 1;
  for (const auto &p : gnd)
    scale = std::max({scale, std::abs(p.x), std::abs(p.y)});
  for (std::size_t i = 0; i < 4; ++i) {
    const track::Point g = h.to_ground(img[i]);
    FUZZ_CHECK(keepup::fuzz::finite(g));
    FUZZ_CHECK(std::abs(g.x - gnd[i].x) <= 1e-3 * scale &&
               std::abs(g.y - gnd[i].y) <= 1e-3 * scale);
  }
  return 0;
}
