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

std::optional<Target> parse_target(std::string_view text, std::string *error) {
  auto fail = [&](std::string why) -> std::optional<Target> {
    if (error)
      *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty())
    return fail("empty publish target (a redis:// URI, file:PATH or a path)");
  Target t;
  if (text.rfind("redis://", 0) == 0) {
    t.method = Method::redis;
    t.location = std::string(text);
    return t;
  }
  if (text.rfind("file://", 0) == 0)
    text.remove_prefix(7);
  else if (text.rfind("file:", 0) == 0)
    text.remove_prefix(5);
  else if (const auto scheme = text.find("://"); scheme != std::string_view::npos) {
    std::string why = "unsupported publish target scheme '";
    why.append(text.substr(0, scheme));
    why += "' (redis:// or file:)";
    return fail(std::move(why));
  }
  if (text.empty())
    return fail("file: publish target without a path");
  t.method = Method::file;
  t.location = std::string(text);
  return t;
}

} // namespace keepup::metapublish
