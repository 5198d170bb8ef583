// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared by the objecttrack property-string targets: the parsers may only fail with
// ParseError (the element turns it into a RESOURCE/SETTINGS error with its message); any
// other exception escapes LLVMFuzzerTestOneInput and counts as a crash.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "track_geometry.hpp"

namespace keepup::fuzz {

inline bool finite(const track::Point &p) {
  return std::isfinite(p.x) && std::isfinite(p.y);
}

// Shortest text that reads back as exactly the same double.
inline std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

inline std::string exact(const track::Point &p) {
  return exact(p.x) + "," + exact(p.y);
}

} // namespace keepup::fuzz
