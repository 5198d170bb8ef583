// SPDX-License-Identifier: LGPL-2.1-or-later
#include "track_metas.hpp"

#include <cmath>

#include <gst/video/gstvideometa.h>

namespace keepup::trackmetas {

namespace track = keepup::track;

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
    d.confidence = 1.0;
    d.class_id = -1;
    gboolean fresh = TRUE;
    if (GstStructure *p = gst_video_region_of_interest_meta_get_param(roi, "detection")) {
      gst_structure_get_double(p, "confidence", &d.confidence);
      gst_structure_get_int(p, "class-id", &d.class_id);
      gst_structure_get_boolean(p, "fresh", &fresh);
    }
    stale.push_back(!fresh);
    const std::string label = g_quark_to_string(roi->roi_type);
    d.class_id = labels.learn(label, d.class_id);
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
  gst_video_region_of_interest_meta_add_param(
      meta,
      gst_structure_new("detection", "label", G_TYPE_STRING, label.c_str(), "class-id", G_TYPE_INT,
                        o.class_id, "confidence", G_TYPE_DOUBLE, o.confidence, nullptr));
  GstStructure *tracking = gst_structure_new(
      "tracking", "track-id", G_TYPE_UINT64, static_cast<guint64>(o.id), "state", G_TYPE_STRING,
      track::state_name(o.state), "age-ns", G_TYPE_UINT64, static_cast<guint64>(o.age_ns),
      "predicted", G_TYPE_BOOLEAN, o.predicted ? TRUE : FALSE, "velocity-x", G_TYPE_DOUBLE,
      o.velocity.x, "velocity-y", G_TYPE_DOUBLE, o.velocity.y, nullptr);
  if (o.speed_kmh)
    gst_structure_set(tracking, "speed-kmh", G_TYPE_DOUBLE, *o.speed_kmh, "speed-uncertainty-kmh",
                      G_TYPE_DOUBLE, o.speed_uncertainty_kmh.value_or(0), nullptr);
  gst_video_region_of_interest_meta_add_param(meta, tracking);
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
    gst_structure_set(s, (name + "-forward").c_str(), G_TYPE_UINT64, counts.first,
                      (name + "-backward").c_str(), G_TYPE_UINT64, counts.second, nullptr);
  for (const auto &[name, classes] : counters.line_class_counts)
    for (const auto &[cls, counts] : classes) {
      const std::string key = name + "-" + labels.of(cls);
      gst_structure_set(s, (key + "-forward").c_str(), G_TYPE_UINT64, counts.first,
                        (key + "-backward").c_str(), G_TYPE_UINT64, counts.second, nullptr);
    }
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
