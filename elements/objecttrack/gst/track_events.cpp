// SPDX-License-Identifier: LGPL-2.1-or-later
#include "track_events.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace keepup::trackevents {

namespace track = keepup::track;

std::string utc_iso8601(gint64 us) {
  us = std::max<gint64>(us, 0);
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((us % 1000000) / 1000));
  return buf;
}

namespace {

GstStructure *header(const char *type, std::uint64_t track_id, int class_id, std::int64_t t_ns,
                     const Context &c) {
  const std::string name = std::string("objecttrack-") + type;
  const std::string label = c.label ? c.label(class_id) : "class" + std::to_string(class_id);
  return gst_structure_new(name.c_str(), "v", G_TYPE_UINT, kSchemaVersion, "type", G_TYPE_STRING,
                           type, "stream", G_TYPE_STRING, c.stream.c_str(), "wall-time",
                           G_TYPE_STRING, utc_iso8601(c.wall_us).c_str(), "pts", G_TYPE_UINT64,
                           static_cast<guint64>(t_ns), "track-id", G_TYPE_UINT64,
                           static_cast<guint64>(track_id), "label", G_TYPE_STRING, label.c_str(),
                           "class-id", G_TYPE_INT, class_id, nullptr);
}

void set_speed(GstStructure *s, const char *value, const char *uncertainty,
               const std::optional<double> &kmh, const std::optional<double> &unc) {
  if (!kmh)
    return;
  gst_structure_set(s, value, G_TYPE_DOUBLE, *kmh, nullptr);
  if (unc)
    gst_structure_set(s, uncertainty, G_TYPE_DOUBLE, *unc, nullptr);
}

} // namespace

GstStructure *track_event(const track::TrackEvent &e, const Context &c) {
  GstStructure *s =
      header(e.started ? "track-started" : "track-ended", e.track_id, e.class_id, e.t_ns, c);
  gst_structure_set(s, "age-ns", G_TYPE_UINT64, static_cast<guint64>(e.age_ns), "first-seen-pts",
                    G_TYPE_UINT64, static_cast<guint64>(e.first_seen_ns), nullptr);
  if (e.started)
    return s;
  gst_structure_set(s, "last-seen-pts", G_TYPE_UINT64, static_cast<guint64>(e.last_seen_ns),
                    nullptr);
  if (e.max_speed)
    set_speed(s, "max-speed-kmh", "max-speed-uncertainty-kmh", e.max_speed->kmh,
              e.max_speed->uncertainty_kmh);
  if (e.mean_speed)
    set_speed(s, "mean-speed-kmh", "mean-speed-uncertainty-kmh", e.mean_speed->kmh,
              e.mean_speed->uncertainty_kmh);
  GValue zones = G_VALUE_INIT, lines = G_VALUE_INIT, item = G_VALUE_INIT;
  g_value_init(&zones, GST_TYPE_ARRAY);
  for (const std::string &z : e.zones) {
    g_value_init(&item, G_TYPE_STRING);
    g_value_set_string(&item, z.c_str());
    gst_value_array_append_and_take_value(&zones, &item);
    item = G_VALUE_INIT;
  }
  gst_structure_take_value(s, "zones-visited", &zones);
  g_value_init(&lines, GST_TYPE_ARRAY);
  for (const track::LineCrossing &l : e.lines) {
    g_value_init(&item, GST_TYPE_STRUCTURE);
    GstStructure *crossing = gst_structure_new(
        "crossing", "line", G_TYPE_STRING, l.line.c_str(), "direction", G_TYPE_INT, l.direction,
        "pts", G_TYPE_UINT64, static_cast<guint64>(l.t_ns), nullptr);
    g_value_take_boxed(&item, crossing);
    gst_value_array_append_and_take_value(&lines, &item);
    item = G_VALUE_INIT;
  }
  gst_structure_take_value(s, "lines-crossed", &lines);
  return s;
}

GstStructure *line_event(const track::LineEvent &e, const Context &c) {
  GstStructure *s = header("line-crossed", e.track_id, e.class_id, e.t_ns, c);
  gst_structure_set(s, "line", G_TYPE_STRING, e.line.c_str(), "direction", G_TYPE_INT, e.direction,
                    nullptr);
  set_speed(s, "speed-kmh", "speed-uncertainty-kmh", e.speed_kmh, e.speed_uncertainty_kmh);
  return s;
}

GstStructure *zone_event(const track::ZoneEvent &e, const Context &c) {
  GstStructure *s = header(track::zone_event_name(e.kind), e.track_id, e.class_id, e.t_ns, c);
  gst_structure_set(s, "zone", G_TYPE_STRING, e.zone.c_str(), nullptr);
  if (e.kind != track::ZoneEventKind::entered)
    gst_structure_set(s, "dwell-ns", G_TYPE_UINT64, static_cast<guint64>(e.dwell_ns), nullptr);
  return s;
}

} // namespace keepup::trackevents
