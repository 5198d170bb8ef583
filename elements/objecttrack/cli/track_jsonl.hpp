// SPDX-License-Identifier: LGPL-2.1-or-later
// Reads keepup-analyze's per-frame JSON lines ({"frame", "pts", "objects": [{"id", "box":
// [x, y, w, h], "speed_kmh"?...}]}) into a MotSequence for the evaluator.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "mot_metrics.hpp"

namespace keepup::track {

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
    auto &frame = seq[j["frame"].get<std::int64_t>()];
    for (const auto &o : j["objects"]) {
      if (!o.contains("id"))
        continue; // untracked detections are not hypotheses of an identity
      MotObject m;
      m.id = o["id"].get<std::int64_t>();
      const auto &b = o["box"];
      m.box = {b[0].get<double>(), b[1].get<double>(), b[0].get<double>() + b[2].get<double>(),
               b[1].get<double>() + b[3].get<double>()};
      if (o.contains("speed_kmh"))
        m.speed_kmh = o["speed_kmh"].get<double>();
      frame.push_back(m);
    }
  }
  return seq;
}

} // namespace keepup::track
