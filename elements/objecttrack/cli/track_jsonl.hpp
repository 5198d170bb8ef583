// SPDX-License-Identifier: LGPL-2.1-or-later
// Reads keepup-analyze's per-frame JSON lines ({"frame", "pts", "objects": [{"id", "box":
// [x, y, w, h], "speed_kmh"?...}]}) into a MotSequence for the evaluator.
#pragma once

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "mot_metrics.hpp"

namespace keepup::track {

namespace detail {

[[noreturn]] inline void jsonl_error(int line_no, const std::string &what) {
  throw std::invalid_argument("JSON line " + std::to_string(line_no) + ": " + what);
}

// A frame number or id: an integer, or an integral-looking float truncated as before, within
// the int64 range (a float beyond it would make the conversion undefined).
inline std::int64_t jsonl_integer(const nlohmann::json &v, const char *name, int line_no) {
  if (v.is_number_integer() && v.is_number_unsigned() &&
      v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    jsonl_error(line_no, std::string("\"") + name + "\" is out of range");
  if (v.is_number_integer())
    return v.get<std::int64_t>();
  if (v.is_number_float() && std::abs(v.get<double>()) <= 9007199254740992.0)
    return static_cast<std::int64_t>(v.get<double>());
  jsonl_error(line_no, std::string("\"") + name + "\" must be an integer");
}

inline double jsonl_number(const nlohmann::json &v, const char *name, int line_no) {
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    jsonl_error(line_no, std::string("\"") + name + "\" must be a finite number");
  return v.get<double>();
}

} // namespace detail

inline MotSequence parse_track_jsonl(const std::string &text) {
  MotSequence seq;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty())
      continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception &e) {
      throw std::invalid_argument("JSON line " + std::to_string(line_no) + ": " + e.what());
    }
    if (!j.contains("frame") || !j.contains("objects"))
      throw std::invalid_argument("JSON line " + std::to_string(line_no) +
                                  ": needs \"frame\" and \"objects\"");
    auto &frame = seq[detail::jsonl_integer(j["frame"], "frame", line_no)];
    for (const auto &o : j["objects"]) {
      if (!o.contains("id"))
        continue; // untracked detections are not hypotheses of an identity
      MotObject m;
      m.id = detail::jsonl_integer(o["id"], "id", line_no);
      if (!o.contains("box") || !o["box"].is_array() || o["box"].size() != 4)
        detail::jsonl_error(line_no, "a tracked object needs \"box\": [x, y, w, h]");
      double b[4];
      for (std::size_t i = 0; i < 4; ++i)
        b[i] = detail::jsonl_number(o["box"][i], "box", line_no);
      m.box = {b[0], b[1], b[0] + b[2], b[1] + b[3]};
      if (o.contains("speed_kmh"))
        m.speed_kmh = detail::jsonl_number(o["speed_kmh"], "speed_kmh", line_no);
      frame.push_back(m);
    }
  }
  return seq;
}

} // namespace keepup::track
