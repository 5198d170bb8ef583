// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's `zones` property string (zones: parse_zones, ZoneMonitor).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "track_fuzz_util.hpp"
#include "zones.hpp"

namespace track = keepup::track;
using keepup::fuzz::exact;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<track::Zone> zones;
  try {
    zones = track::parse_zones(text);
  } catch (const track::ParseError &e) {
    FUZZ_CHECK(std::string(e.what()).rfind("zones: ", 0) == 0); // says which property
    return 0;
  }
  FUZZ_CHECK(!zones.empty());
  std::set<std::string> names;
  std::string again;
  for (const auto &z : zones) {
    FUZZ_CHECK(!z.name.empty() && names.insert(z.name).second);
    for (char c : z.name)
      FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    FUZZ_CHECK(z.polygon.size() >= 3);
    if (!again.empty())
      again += '|';
    again += z.name;
    again += ':';
    for (std::size_t i = 0; i < z.polygon.size(); ++i) {
      FUZZ_CHECK(keepup::fuzz::finite(z.polygon[i]));
      if (i)
        again += ';';
      again += exact(z.polygon[i]);
    }
  }
  // What the element prints back parses to the same zones.
  const auto reread = track::parse_zones(again);
  FUZZ_CHECK(reread.size() == zones.size());
  for (std::size_t i = 0; i < zones.size(); ++i) {
    FUZZ_CHECK(reread[i].name == zones[i].name);
    FUZZ_CHECK(reread[i].polygon.size() == zones[i].polygon.size());
    for (std::size_t k = 0; k < zones[i].polygon.size(); ++k)
      FUZZ_CHECK(reread[i].polygon[k].x == zones[i].polygon[k].x &&
                 reread[i].polygon[k].y == zones[i].polygon[k].y);
  }
  // A track walking through every vertex, then gone: each entry has one exit, dwell >= 0,
  // and the zones are empty at the end.
  track::ZoneSettings settings;
  settings.zones = zones;
  settings.loiter_ns = 1;
  track::ZoneMonitor monitor(settings);
  std::int64_t t = 0;
  for (const auto &z : zones)
    for (const auto &p : z.polygon)
      monitor.observe(1, 0, p, t += 1000);
  monitor.forget(1, t);
  int open = 0;
  for (const auto &e : monitor.take_events()) {
    FUZZ_CHECK(e.dwell_ns >= 0 && e.t_ns <= t);
    if (e.kind == track::ZoneEventKind::entered)
      ++open;
    else if (e.kind == track::ZoneEventKind::exited)
      --open;
    FUZZ_CHECK(open >= 0);
  }
  FUZZ_CHECK(open == 0);
  for (const auto &[zone, classes] : monitor.occupancy())
    FUZZ_CHECK(classes.empty());
  return 0;
}
