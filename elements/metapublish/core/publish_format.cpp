// SPDX-License-Identifier: LGPL-2.1-or-later
#include "publish_format.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace keepup::metapublish {

std::string stream_key(std::string_view key, std::string_view stream) {
  if (!key.empty())
    return std::string(key);
  std::string out = kKeyPrefix;
  out.append(stream);
  return out;
}

std::vector<std::string> xadd_args(const Entry &e, std::size_t max_len) {
  std::vector<std::string> args;
  args.reserve(10);
  args.emplace_back("XADD");
  args.push_back(e.key);
  if (max_len > 0) {
    args.emplace_back("MAXLEN");
    args.emplace_back("~");
    args.push_back(std::to_string(max_len));
  }
  args.emplace_back("*");
  args.emplace_back(kFieldType);
  args.push_back(e.type);
  args.emplace_back(kFieldJson);
  args.push_back(e.json);
  return args;
}

namespace {
double rounded(double v, double scale) {
  return std::round(v * scale) / scale;
}
} // namespace

std::string frame_json(const FrameRecord &f) {
  nlohmann::ordered_json o;
  o["v"] = 1;
  o["type"] = "frame";
  o["stream"] = f.stream;
  o["wall_time"] = f.wall_time;
  if (f.pts)
    o["pts"] = *f.pts;
  nlohmann::ordered_json tracks = nlohmann::ordered_json::array();
  for (const TrackRecord &t : f.tracks) {
    nlohmann::ordered_json j;
    j["track_id"] = t.id;
    j["label"] = t.label;
    j["class_id"] = t.class_id;
    j["confidence"] = rounded(t.confidence, 1000);
    j["box"] = {t.x, t.y, t.w, t.h};
    if (!t.state.empty())
      j["state"] = t.state;
    j["predicted"] = t.predicted;
    if (t.speed_kmh) {
      j["speed_kmh"] = rounded(*t.speed_kmh, 10);
      if (t.speed_uncertainty_kmh)
        j["speed_uncertainty_kmh"] = rounded(*t.speed_uncertainty_kmh, 10);
    }
    tracks.push_back(std::move(j));
  }
  o["tracks"] = std::move(tracks);
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace keepup::metapublish
