// SPDX-License-Identifier: LGPL-2.1-or-later
// Zones: named polygons on the image. Which tracks stand in which zone (their bottom-centre
// point), when they entered and left (dwell time), who loiters, and how many objects of each
// class are inside now. Plain C++, no GStreamer; time is the frame's PTS.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "track_geometry.hpp"

namespace keepup::track {

struct Zone {
  std::string name;
  std::vector<Point> polygon;
};

// "name:x,y;x,y;x,y|name2:x,y;..." (names unique, [A-Za-z0-9_-]+; polygons as `roi`).
// Errors are ParseError starting with "zones: ".
std::vector<Zone> parse_zones(const std::string &text);

enum class ZoneEventKind { entered, exited, loitering };
const char *zone_event_name(ZoneEventKind k); // "zone-entered", "zone-exited", "loitering"

struct ZoneEvent {
  ZoneEventKind kind = ZoneEventKind::entered;
  std::string zone;
  std::uint64_t track_id = 0;
  int class_id = 0;
  std::int64_t t_ns = 0;     // entered: first inside; exited: first outside; loitering: now
  std::int64_t dwell_ns = 0; // time inside (exited, loitering); 0 on entered
};

struct ZoneSettings {
  std::vector<Zone> zones;
  std::int64_t loiter_ns = 0; // 0: no loitering events
  // A track must stay outside this long before its exit counts (boxes jitter across the
  // border); the exit is dated when it first stepped out.
  std::int64_t exit_delay_ns = 300'000'000;
};

class ZoneMonitor {
public:
  explicit ZoneMonitor(ZoneSettings settings) : settings_(std::move(settings)) {}
  // A reported track's bottom-centre point at t_ns.
  void observe(std::uint64_t track_id, int class_id, const Point &foot, std::int64_t t_ns);
  // The track ended at t_ns: it leaves every zone it is in (dated when last seen inside,
  // `last_seen_ns`, or when it stepped out, whichever came first).
  void forget(std::uint64_t track_id, std::int64_t last_seen_ns);
  std::vector<ZoneEvent> take_events();
  // zone name -> class id -> objects inside now (every zone listed, empty ones too)
  std::map<std::string, std::map<int, unsigned>> occupancy() const;
  const std::vector<Zone> &zones() const { return settings_.zones; }
  bool empty() const { return settings_.zones.empty(); }
  void reset();

private:
  struct Presence {
    std::int64_t entered_ns = 0;
    std::optional<std::int64_t> outside_since;
    bool loiter_posted = false;
  };
  struct Member {
    int class_id = 0;
    std::map<std::size_t, Presence> inside; // zone index -> presence
  };
  void exit(std::uint64_t id, int class_id, std::size_t zone, const Presence &p, std::int64_t t_ns);

  ZoneSettings settings_;
  std::map<std::uint64_t, Member> members_;
  std::vector<ZoneEvent> events_;
};

} // namespace keepup::track
