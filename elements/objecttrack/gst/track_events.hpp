// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's events as element-message structures, schema version 1
// (elements/objecttrack/events-v1.schema.json). Every message carries v, type, stream,
// wall-time, pts, track-id, label, class-id; the rest depends on the type. The JSON lines
// keepup-analyze --events writes are these structures (track_event_json.hpp).
#pragma once

#include <functional>
#include <string>

#include <gst/gst.h>

#include "tracker.hpp"

namespace keepup::trackevents {

inline constexpr guint kSchemaVersion = 1;

struct Context {
  std::string stream; // the stream's name (stream-name, else the stream-start id)
  gint64 wall_us = 0; // UTC wall time of the frame, microseconds since 1970
  std::function<std::string(int)> label; // class id -> label
};

// "2026-12-04T16:55:01.123Z" (integers only: the same text in every locale).
std::string utc_iso8601(gint64 unix_us);

GstStructure *track_event(const keepup::track::TrackEvent &e, const Context &c);
GstStructure *line_event(const keepup::track::LineEvent &e, const Context &c);
GstStructure *zone_event(const keepup::track::ZoneEvent &e, const Context &c);

} // namespace keepup::trackevents
