// SPDX-License-Identifier: LGPL-2.1-or-later
#include "overlay_core.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace keepup::overlay {

Rgb palette(std::uint64_t key) {
  // Golden-angle hue steps: neighbouring ids get clearly different colours.
  const double hue = std::fmod(static_cast<double>(key % 1000) * 137.508, 360.0);
  const double s = 0.85, v = 0.95;
  const double c = v * s, x = c * (1 - std::abs(std::fmod(hue / 60.0, 2.0) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  if (hue < 60) {
    r = c, g = x;
  } else if (hue < 120) {
    r = x, g = c;
  } else if (hue < 180) {
    g = c, b = x;
  } else if (hue < 240) {
    g = x, b = c;
  } else if (hue < 300) {
    r = x, b = c;
  } else {
    r = c, b = x;
  }
  auto to8 = [&](double f) { return static_cast<std::uint8_t>(std::lround((f + m) * 255.0)); };
  return {to8(r), to8(g), to8(b)};
}

Yuv to_yuv(const Rgb &c) {
  const double r = c.r, g = c.g, b = c.b;
  auto clamp8 = [](double v) {
    return static_cast<std::uint8_t>(std::clamp(std::lround(v), 0L, 255L));
  };
  return {clamp8(16 + 0.257 * r + 0.504 * g + 0.098 * b),
          clamp8(128 - 0.148 * r - 0.291 * g + 0.439 * b),
          clamp8(128 + 0.439 * r - 0.368 * g - 0.071 * b)};
}

std::string label_text(const LabelParts &p, bool show_confidence, bool show_id, bool show_speed) {
  std::string text = p.label;
  char buf[64];
  if (show_confidence && p.confidence) {
    std::snprintf(buf, sizeof(buf), " %.2f", *p.confidence);
    text += buf;
  }
  if (show_id && p.track_id) {
    std::snprintf(buf, sizeof(buf), " #%llu", static_cast<unsigned long long>(*p.track_id));
    text += buf;
  }
  if (show_speed && p.speed_kmh) {
    std::snprintf(buf, sizeof(buf), " %.0f", *p.speed_kmh);
    text += buf;
    if (p.speed_uncertainty_kmh) {
      text += ' ';
      text += kPlusMinus;
      // Rounded up: an uncertainty shown smaller than it is would overstate the speed.
      std::snprintf(buf, sizeof(buf), " %.0f", std::ceil(*p.speed_uncertainty_kmh - 1e-9));
      text += buf;
    }
    text += " km/h";
  }
  if (p.predicted)
    text += " ~";
  return text;
}

std::string zone_text(const std::string &zone, const std::map<std::string, unsigned> &occupancy) {
  unsigned total = 0;
  for (const auto &[label, n] : occupancy)
    total += n;
  std::string text = zone;
  text += ' ';
  text += std::to_string(total);
  if (occupancy.size() > 1) {
    const char *sep = ": ";
    for (const auto &[label, n] : occupancy) {
      text += sep;
      text += label;
      text += ' ';
      text += std::to_string(n);
      sep = ", ";
    }
  }
  return text;
}

void Trails::add(std::uint64_t id, TrailPoint p, std::int64_t t_ns) {
  Trail &t = trails_[id];
  t.points.push_back(p);
  while (t.points.size() > length_)
    t.points.pop_front();
  t.last_ns = t_ns;
}

void Trails::prune(std::int64_t now_ns) {
  for (auto it = trails_.begin(); it != trails_.end();)
    it = now_ns - it->second.last_ns > max_age_ns_ ? trails_.erase(it) : std::next(it);
}

const std::deque<TrailPoint> *Trails::get(std::uint64_t id) const {
  auto it = trails_.find(id);
  return it == trails_.end() ? nullptr : &it->second.points;
}

void FpsMeter::add(std::int64_t t_ns) {
  if (!stamps_.empty() && t_ns < stamps_.back())
    stamps_.clear(); // time went back (seek, new segment)
  stamps_.push_back(t_ns);
  while (stamps_.size() > 1 && t_ns - stamps_.front() > 1'000'000'000)
    stamps_.pop_front();
}

double FpsMeter::fps() const {
  if (stamps_.size() < 2)
    return 0.0;
  const double span = static_cast<double>(stamps_.back() - stamps_.front()) / 1e9;
  return span > 0 ? static_cast<double>(stamps_.size() - 1) / span : 0.0;
}

} // namespace keepup::overlay
