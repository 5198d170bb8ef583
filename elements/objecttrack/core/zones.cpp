// SPDX-License-Identifier: LGPL-2.1-or-later
#include "zones.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include "parse_number.hpp"

namespace keepup::track {

std::vector<Zone> parse_zones(const std::string &text) {
  const auto items = split_fields(text, '|');
  if (!items)
    throw ParseError("zones: empty field in '" + text + "'");
  std::vector<Zone> zones;
  std::set<std::string> names;
  for (const std::string &item : *items) {
    Zone z;
    std::string rest;
    std::tie(z.name, rest) = named_item(item, "zones", "name:x,y;x,y;x,y", names);
    z.polygon = parse_polygon(rest, "zones");
    zones.push_back(std::move(z));
  }
  return zones;
}

const char *zone_event_name(ZoneEventKind k) {
  switch (k) {
  case ZoneEventKind::exited:
    return "zone-exited";
  case ZoneEventKind::loitering:
    return "loitering";
  default:
    return "zone-entered";
  }
}

void ZoneMonitor::exit(std::uint64_t id, int class_id, std::size_t zone, const Presence &p,
                       std::int64_t t_ns) {
  events_.push_back(
      {ZoneEventKind::exited, settings_.zones[zone].name, id, class_id, t_ns, t_ns - p.entered_ns});
}

void ZoneMonitor::observe(std::uint64_t id, int class_id, const Point &foot, std::int64_t t_ns) {
  if (settings_.zones.empty())
    return;
  Member &m = members_[id];
  m.class_id = class_id;
  for (std::size_t z = 0; z < settings_.zones.size(); ++z) {
    const bool in = inside_polygon(settings_.zones[z].polygon, foot);
    auto it = m.inside.find(z);
    if (in) {
      if (it == m.inside.end()) {
        Presence p;
        p.entered_ns = t_ns;
        m.inside.emplace(z, p);
        events_.push_back({ZoneEventKind::entered, settings_.zones[z].name, id, class_id, t_ns, 0});
        it = m.inside.find(z);
      }
      Presence &p = it->second;
      p.outside_since.reset(); // back in before the exit counted
      if (settings_.loiter_ns > 0 && !p.loiter_posted &&
          t_ns - p.entered_ns >= settings_.loiter_ns) {
        p.loiter_posted = true;
        events_.push_back({ZoneEventKind::loitering, settings_.zones[z].name, id, class_id, t_ns,
                           t_ns - p.entered_ns});
      }
    } else if (it != m.inside.end()) {
      Presence &p = it->second;
      if (!p.outside_since)
        p.outside_since = t_ns;
      if (t_ns - *p.outside_since >= settings_.exit_delay_ns) {
        exit(id, class_id, z, p, *p.outside_since);
        m.inside.erase(it);
      }
    }
  }
  if (m.inside.empty())
    members_.erase(id);
}

void ZoneMonitor::forget(std::uint64_t id, std::int64_t last_seen_ns) {
  auto it = members_.find(id);
  if (it == members_.end())
    return;
  for (const auto &[z, p] : it->second.inside)
    exit(id, it->second.class_id, z, p,
         p.outside_since ? std::min(*p.outside_since, last_seen_ns) : last_seen_ns);
  members_.erase(it);
}

std::vector<ZoneEvent> ZoneMonitor::take_events() {
  std::vector<ZoneEvent> out;
  out.swap(events_);
  return out;
}

std::map<std::string, std::map<int, unsigned>> ZoneMonitor::occupancy() const {
  std::map<std::string, std::map<int, unsigned>> out;
  for (const Zone &z : settings_.zones)
    out[z.name];
  for (const auto &[id, m] : members_)
    for (const auto &[z, p] : m.inside)
      if (!p.outside_since)
        ++out[settings_.zones[z].name][m.class_id];
  return out;
}

void ZoneMonitor::reset() {
  members_.clear();
  events_.clear();
}

} // namespace keepup::track
