// SPDX-License-Identifier: LGPL-2.1-or-later
// What metapublish writes: the Redis key scheme, the XADD command of an entry, the per-frame
// tracks record (schema v1, type "frame": elements/objecttrack/events-v1.schema.json). Plain C++.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pending_queue.hpp"
#include "publish_target.hpp"

namespace keepup::metapublish {

inline constexpr const char *kKeyPrefix = "keepup:events:";
inline constexpr const char *kFieldType = "type";
inline constexpr const char *kFieldJson = "json";

// The stream key: `key` when set, else "keepup:events:<stream>".
std::string stream_key(std::string_view key, std::string_view stream);

// XADD <key> [MAXLEN ~ <max_len>] * type <type> json <json>   (max_len 0: no trimming)
std::vector<std::string> xadd_args(const Entry &e, std::size_t max_len);

struct TrackRecord {
  std::uint64_t id = 0;
  std::string label;
  int class_id = -1;
  double confidence = 0;
  int x = 0, y = 0, w = 0, h = 0;
  std::string state; // confirmed / lost
  bool predicted = false;
  std::optional<double> speed_kmh, speed_uncertainty_kmh;
};

struct FrameRecord {
  std::string stream;
  std::string wall_time; // UTC ISO 8601 with milliseconds
  std::optional<std::uint64_t> pts;
  std::vector<TrackRecord> tracks;
};

// {"v":1,"type":"frame","stream":..,"wall_time":..,"pts":..,"tracks":[{"track_id":..,
// "label":..,"class_id":..,"confidence":..,"box":[x,y,w,h],"state":..,"predicted":..,
// "speed_kmh":..,"speed_uncertainty_kmh":..}]}: numbers in every locale the same, bytes that
// are not UTF-8 replaced.
std::string frame_json(const FrameRecord &f);

} // namespace keepup::metapublish
