// SPDX-License-Identifier: LGPL-2.1-or-later
// detectoverlay's decisions, apart from the pixels: colours (stable per class or track, and
// their YUV values for drawing into planes), label text, trails per track and the frame
// rate from timestamps. Plain C++, no GStreamer, no OpenCV.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace keepup::overlay {

// What a box's colour follows.
enum class ColorBy { track = 0, klass = 1 };

// detectoverlay's settings (every property but the read-only ones). The defaults here are the
// properties' defaults: the element's ParamSpecs read them from kDefaults.
struct Settings {
  // Layers, each a show-* switch.
  bool boxes = true, labels = true, confidence = true, ids = true, speed = true, trails = true,
       roi = true, lines = true, zones = true, hud = true;
  unsigned trail_length = 30; // positions kept per track
  ColorBy color_by = ColorBy::track;
  int thickness = 2;       // pixels
  double font_scale = 0.5; // label text scale
};

inline constexpr Settings kDefaults{};

// A pixel position in the frame.
struct Point {
  int x = 0, y = 0;
};

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb &o) const { return r == o.r && g == o.g && b == o.b; }
};
struct Yuv {
  std::uint8_t y = 16, u = 128, v = 128;
};

// A bright, well separated colour for a key (class id or track id): golden-angle hues.
Rgb palette(std::uint64_t key);
// BT.601 limited range, what I420 / NV12 from videoconvert use for SD and HD alike here.
Yuv to_yuv(const Rgb &c);

struct LabelParts {
  std::string label;
  std::optional<double> confidence;
  std::optional<std::uint64_t> track_id;
  std::optional<double> speed_kmh;
  bool predicted = false;
  std::optional<double>
      speed_uncertainty_kmh{}; // ± km/h (initialised: older aggregate inits stay warning-free)
};
// "car 0.87 #12 43 km/h", "... 52 ± 3 km/h" with an uncertainty (parts present only when
// known and switched on). UTF-8: the canvas draws the ± sign itself.
std::string label_text(const LabelParts &parts, bool show_confidence, bool show_id,
                       bool show_speed);

// A zone's caption from its live occupancy (label -> objects inside): "lot 3" with one
// class or none, "lot 3: bike 1, car 2" with several (the classes in label order).
std::string zone_text(const std::string &zone, const std::map<std::string, unsigned> &occupancy);

inline constexpr const char *kPlusMinus = "\u00b1"; // ±, UTF-8

struct TrailPoint {
  double x = 0, y = 0;
};

// The last `length` centres of each track; tracks not seen for `max_age_ns` are forgotten.
class Trails {
public:
  explicit Trails(std::size_t length = 30, std::int64_t max_age_ns = 2'000'000'000)
      : length_(length), max_age_ns_(max_age_ns) {}
  void add(std::uint64_t id, TrailPoint p, std::int64_t t_ns);
  void prune(std::int64_t now_ns);
  const std::deque<TrailPoint> *get(std::uint64_t id) const;
  void set_length(std::size_t length) { length_ = length; }

private:
  struct Trail {
    std::deque<TrailPoint> points;
    std::int64_t last_ns = 0;
  };
  std::size_t length_;
  std::int64_t max_age_ns_;
  std::map<std::uint64_t, Trail> trails_;
};

// Frames per second over the last second of timestamps.
class FpsMeter {
public:
  void add(std::int64_t t_ns);
  double fps() const;

private:
  std::deque<std::int64_t> stamps_;
};

} // namespace keepup::overlay
