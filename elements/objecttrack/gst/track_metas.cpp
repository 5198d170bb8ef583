// SPDX-License-Identifier: LGPL-2.1-or-later
#include "track_metas.hpp"

#include <cmath>

#include <gst/video/gstvideometa.h>

namespace keepup::trackmetas {

namespace track = keepup::track;
namespace contract = keepup::contract;

std::string Labels::of(int class_id) const {
  auto it = names_.find(class_id);
  return it != names_.end() ? it->second : "class" + std::to_string(class_id);
}

int Labels::learn(const std::string &label, int class_id) {
  if (class_id < 0) { // a detector without class ids: one id per distinct label
    class_id = static_cast<int>(names_.size());
    for (const auto &[id, name] : names_)
      if (name == label)
        class_id = id;
  }
  names_[class_id] = label;
  return class_id;
}

std::vector<track::Detection> take_detections(GstBuffer *buf, Labels &labels,
                                              std::vector<bool> &stale) {
  std::vector<track::Detection> dets;
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    track::Detection d;
    d.box = {static_cast<double>(roi->x), static_cast<double>(roi->y),
             static_cast<double>(roi->x + roi->w), static_cast<double>(roi->y + roi->h)};
    const contract::DetectionParam p =
        contract::read_detection(roi).value_or(contract::DetectionParam{});
    d.confidence = p.confidence.value_or(1.0);
    stale.push_back(!p.fresh);
    d.class_id = labels.learn(g_quark_to_string(roi->roi_type), p.class_id.value_or(-1));
    dets.push_back(d);
  }
  gst_buffer_foreach_meta(
      buf,
      +[](GstBuffer *, GstMeta **meta, gpointer) -> gboolean {
        if ((*meta)->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
          *meta = nullptr; // removes it
        return TRUE;
      },
      nullptr);
  return dets;
}

void attach_track(GstBuffer *buf, const Labels &labels, const track::TrackOutput &o) {
  const std::string label = labels.of(o.class_id);
  const double x1 = std::max(0.0, o.box.x1), y1 = std::max(0.0, o.box.y1);
  GstVideoRegionOfInterestMeta *meta = gst_buffer_add_video_region_of_interest_meta(
      buf, label.c_str(), static_cast<guint>(std::lround(x1)), static_cast<guint>(std::lround(y1)),
      static_cast<guint>(std::max(1L, std::lround(o.box.x2 - x1))),
      static_cast<guint>(std::max(1L, std::lround(o.box.y2 - y1))));
  meta->id = static_cast<gint>(o.id & 0x7fffffff);
  contract::DetectionParam d;
  d.label = label;
  d.class_id = o.class_id;
  d.confidence = o.confidence;
  contract::write(meta, d);
  contract::TrackingParam t;
  t.track_id = static_cast<guint64>(o.id);
  t.state = track::state_name(o.state);
  t.age_ns = static_cast<guint64>(o.age_ns);
  t.predicted = o.predicted;
  t.velocity_x = o.velocity.x;
  t.velocity_y = o.velocity.y;
  if (o.speed_kmh) {
    t.speed_kmh = *o.speed_kmh;
    t.speed_uncertainty_kmh = o.speed_uncertainty_kmh.value_or(0);
  }
  contract::write(meta, t);
}

// `<zone>`: a structure of `<label>` -> objects inside now (every zone, empty ones too).
GstStructure *occupancy_structure(const Labels &labels,
                                  const std::map<std::string, std::map<int, unsigned>> &o) {
  GstStructure *zones = gst_structure_new_empty("occupancy");
  for (const auto &[zone, classes] : o) {
    GstStructure *z = gst_structure_new_empty("zone");
    for (const auto &[cls, n] : classes)
      gst_structure_set(z, labels.of(cls).c_str(), G_TYPE_UINT, n, nullptr);
    gst_structure_set(zones, zone.c_str(), GST_TYPE_STRUCTURE, z, nullptr);
    gst_structure_free(z);
  }
  return zones;
}

// `<line>-forward` / `-backward`, and `<line>-<label>-forward` / `-backward` per class.
void set_line_counts(GstStructure *s, const Labels &labels,
                     const track::TrackerCounters &counters) {
  for (const auto &[name, counts] : counters.line_counts)
    contract::detail::set_counts(s, name, {counts.first, counts.second});
  for (const auto &[name, classes] : counters.line_class_counts)
    for (const auto &[cls, counts] : classes) {
      std::string key = name;
      key += '-';
      key += labels.of(cls);
      contract::detail::set_counts(s, key, {counts.first, counts.second});
    }
}

contract::TrackingMeta scene_geometry(const track::TrackerConfig &config) {
  const auto point = [](const track::Point &p) { return contract::Point{p.x, p.y}; };
  contract::TrackingMeta m;
  for (const auto &p : config.roi)
    m.roi.push_back(point(p));
  for (const auto &l : config.lines)
    m.lines.push_back({l.name, point(l.a), point(l.b)});
  for (const auto &z : config.zones) {
    contract::Zone zone{z.name, {}};
    for (const auto &p : z.polygon)
      zone.polygon.push_back(point(p));
    m.zones.push_back(std::move(zone));
  }
  return m;
}

contract::TrackingMeta scene_meta(const contract::TrackingMeta &geometry, const Labels &labels,
                                  const track::TrackerCounters &counters,
                                  const std::map<std::string, std::map<int, unsigned>> &occupancy,
                                  std::size_t active) {
  contract::TrackingMeta m = geometry;
  for (const auto &[name, counts] : counters.line_counts)
    m.line_counts[name] = {counts.first, counts.second};
  for (const auto &[name, classes] : counters.line_class_counts)
    for (const auto &[cls, counts] : classes)
      m.line_class_counts[name][labels.of(cls)] = {counts.first, counts.second};
  for (const auto &[zone, classes] : occupancy) {
    auto &out = m.occupancy[zone]; // every zone, empty ones too
    for (const auto &[cls, n] : classes)
      out[labels.of(cls)] = n;
  }
  m.active_tracks = static_cast<guint>(active);
  return m;
}

// UTC wall time of the frame: a timestamp/x-unix reference meta (the capture time, when the
// source put one on), else now.
gint64 frame_wall_us(GstBuffer *buf) {
  static GstCaps *unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
  if (GstReferenceTimestampMeta *m = gst_buffer_get_reference_timestamp_meta(buf, unix_caps))
    return static_cast<gint64>(m->timestamp / 1000);
  return g_get_real_time();
}

} // namespace keepup::trackmetas
