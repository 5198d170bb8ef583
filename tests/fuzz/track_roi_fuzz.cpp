// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's `roi` property string (track_geometry: parse_polygon, inside_polygon).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "track_fuzz_util.hpp"
#include "track_geometry.hpp"

namespace track = keepup::track;
using keepup::fuzz::exact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<track::Point> roi;
  try {
    roi = track::parse_polygon(text);
  } catch (const track::ParseError &e) {
    FUZZ_CHECK(std::string(e.what()).rfind("roi: ", 0) == 0); // says which property
    return 0;
  }
  FUZZ_CHECK(roi.size() >= 3);
  std::string again;
  for (const auto &p : roi) {
    FUZZ_CHECK(keepup::fuzz::finite(p));
    if (!again.empty())
      again += ';';
    again += exact(p); // appended, not "lit" + string&&: GCC 12's -Wrestrict misfires on that
  }
  // What the element prints back (get_property) parses to the same polygon.
  const auto reread = track::parse_polygon(again);
  FUZZ_CHECK(reread.size() == roi.size());
  for (std::size_t i = 0; i < roi.size(); ++i)
    FUZZ_CHECK(reread[i].x == roi[i].x && reread[i].y == roi[i].y);
  // Point-in-polygon on the vertices and the first edge's midpoint: defined, no crash.
  for (const auto &p : roi)
    (void)track::inside_polygon(roi, p);
  (void)track::inside_polygon(roi, {(roi[0].x + roi[1].x) / 2, (roi[0].y + roi[1].y) / 2});
  return 0;
}
