// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's `lines` property string (track_geometry: parse_lines, crossing).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "track_fuzz_util.hpp"
#include "track_geometry.hpp"

namespace track = keepup::track;
using keepup::fuzz::exact;

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<track::CountLine> lines;
  try {
    lines = track::parse_lines(text);
  } catch (const track::ParseError &e) {
    FUZZ_CHECK(std::string(e.what()).rfind("lines: ", 0) == 0);
    return 0;
  }
  std::set<std::string> names;
  std::string again;
  for (const auto &l : lines) {
    // Names end up in bus messages and JSON: unique, [A-Za-z0-9_-]+.
    FUZZ_CHECK(!l.name.empty());
    for (char c : l.name)
      FUZZ_CHECK(is_name_char(c));
    FUZZ_CHECK(names.insert(l.name).second);
    FUZZ_CHECK(keepup::fuzz::finite(l.a) && keepup::fuzz::finite(l.b));
    const double dx = l.b.x - l.a.x, dy = l.b.y - l.a.y;
    FUZZ_CHECK(std::hypot(dx, dy) >= 1e-9);
    again += (again.empty() ? "" : ";") + l.name + ":" + exact(l.a) + "," + exact(l.b);

    // Crossing the line squarely through its middle counts once, with the sign of the
    // direction. Only where doubles can represent the movement comfortably.
    const double len = std::hypot(dx, dy);
    const double reach =
        std::max({std::abs(l.a.x), std::abs(l.a.y), std::abs(l.b.x), std::abs(l.b.y)});
    if (len > 1e-3 && reach < 1e6 && len > reach * 1e-6) {
      const track::Point mid{(l.a.x + l.b.x) / 2, (l.a.y + l.b.y) / 2};
      const track::Point normal{-dy / len * 10, dx / len * 10};
      const track::Point left{mid.x + normal.x, mid.y + normal.y};
      const track::Point right{mid.x - normal.x, mid.y - normal.y};
      const int there = track::crossing(l, left, right), back = track::crossing(l, right, left);
      FUZZ_CHECK(there != 0 && back == -there);
      // Moving along the line's side without crossing it counts nothing.
      FUZZ_CHECK(track::crossing(l, left, {left.x + dx, left.y + dy}) == 0);
    }
  }
  const auto reread = track::parse_lines(again);
  FUZZ_CHECK(reread.size() == lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i)
    FUZZ_CHECK(reread[i].name == lines[i].name && reread[i].a.x == lines[i].a.x &&
               reread[i].a.y == lines[i].a.y && reread[i].b.x == lines[i].b.x &&
               reread[i].b.y == lines[i].b.y);
  return 0;
}
