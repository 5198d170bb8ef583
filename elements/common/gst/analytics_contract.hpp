// SPDX-License-Identifier: LGPL-2.1-or-later
// The analytics elements' contract, defined once: what yolodetect, objecttrack, dropqueue,
// detectoverlay and keepup-analyze (and users' own code) read and write on buffers.
//
//   per object:  GstVideoRegionOfInterestMeta params `detection` (DetectionParam) and
//                `tracking` (TrackingParam)
//   per frame:   KeepupInferenceMeta (InferenceMeta), KeepupTrackingMeta (TrackingMeta)
//   in-band:     the `keepup-drops` custom downstream event (DropCount)
//
// Each is a plain struct with write() and read() helpers. Readers take what is there and
// fill the rest with defaults, so a param written by another vendor's detector (a
// `detection` with only `label`, say) reads as a detection with unknown class and confidence.
// Geometry travels typed: a point is a GstValueArray of two doubles, a polygon a
// GstValueArray of points.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include "keepup_metas.hpp"

namespace keepup::contract {

// ---- field names (the wire names users read from their own code) ----------------------
namespace field {
inline constexpr const char *kLabel = "label";
inline constexpr const char *kClassId = "class-id";
inline constexpr const char *kConfidence = "confidence";
inline constexpr const char *kSourcePts = "source-pts";
inline constexpr const char *kFresh = "fresh";

inline constexpr const char *kTrackId = "track-id";
inline constexpr const char *kState = "state";
inline constexpr const char *kAgeNs = "age-ns";
inline constexpr const char *kPredicted = "predicted";
inline constexpr const char *kVelocityX = "velocity-x";
inline constexpr const char *kVelocityY = "velocity-y";
inline constexpr const char *kSpeedKmh = "speed-kmh";
inline constexpr const char *kSpeedUncertaintyKmh = "speed-uncertainty-kmh";

inline constexpr const char *kHasResult = "has-result";
inline constexpr const char *kInferenceMs = "inference-ms";
inline constexpr const char *kDetections = "detections";
inline constexpr const char *kMotionGate = "motion-gate";

inline constexpr const char *kRoi = "roi";
inline constexpr const char *kLines = "lines";
inline constexpr const char *kZones = "zones";
inline constexpr const char *kActiveTracks = "active-tracks";
inline constexpr const char *kOccupancy = "occupancy";
inline constexpr const char *kForwardSuffix = "-forward";
inline constexpr const char *kBackwardSuffix = "-backward";

inline constexpr const char *kQueue = "queue";
inline constexpr const char *kQueueId = "queue-id";
inline constexpr const char *kDropped = "dropped";
} // namespace field

inline constexpr const char *kDetectionParam = "detection";
inline constexpr const char *kTrackingParam = "tracking";
inline constexpr const char *kDropsEvent = "keepup-drops";

// ---- plain types ------------------------------------------------------------------------
struct Point {
  double x = 0, y = 0;
  bool operator==(const Point &) const = default;
};
using Polygon = std::vector<Point>;

// A detector's result for one object (`detection` param).
struct DetectionParam {
  std::string label;                 // the param's, else the ROI's roi_type
  std::optional<int> class_id;       // unknown when absent
  std::optional<double> confidence;  // unknown when absent
  std::optional<guint64> source_pts; // PTS of the frame it was computed on
  bool fresh = true;                 // false: a reused result (no new measurement)
  bool operator==(const DetectionParam &) const = default;
};

// A tracker's state for one object (`tracking` param).
struct TrackingParam {
  std::optional<guint64> track_id;
  std::string state; // "confirmed" / "lost" (objecttrack); empty when absent
  guint64 age_ns = 0;
  bool predicted = false;
  double velocity_x = 0, velocity_y = 0;
  std::optional<double> speed_kmh;
  std::optional<double> speed_uncertainty_kmh; // ± km/h, about 95 %
  bool operator==(const TrackingParam &) const = default;
};

// Frame-level facts of a detector (KeepupInferenceMeta).
struct InferenceMeta {
  bool fresh = true;       // this frame carries a new inference result
  bool has_result = false; // any result (new or reused) is attached
  std::optional<guint64> source_pts;
  double inference_ms = 0;
  guint detections = 0;
  std::string motion_gate; // why the frame was or was not inferred; empty without a gate
  bool operator==(const InferenceMeta &) const = default;
};

struct CountLine {
  std::string name;
  Point a, b;
  bool operator==(const CountLine &) const = default;
};
struct Zone {
  std::string name;
  Polygon polygon;
  bool operator==(const Zone &) const = default;
};
struct LineCount {
  guint64 forward = 0, backward = 0;
  bool operator==(const LineCount &) const = default;
};

// Frame-level facts of a tracker (KeepupTrackingMeta).
struct TrackingMeta {
  Polygon roi; // empty: the whole frame
  std::vector<CountLine> lines;
  std::vector<Zone> zones;
  std::map<std::string, LineCount> line_counts;                              // per line
  std::map<std::string, std::map<std::string, LineCount>> line_class_counts; // line -> label
  std::map<std::string, std::map<std::string, guint>> occupancy;             // zone -> label
  guint active_tracks = 0;
  bool operator==(const TrackingMeta &) const = default;
};

// A dropqueue's running drop total, sent downstream in band (`keepup-drops` event).
struct DropCount {
  std::string queue;    // element name
  guint64 queue_id = 0; // unique per dropqueue instance in the process
  guint64 dropped = 0;
  bool operator==(const DropCount &) const = default;
};

// ---- geometry values --------------------------------------------------------------------
namespace detail {

inline void append_double(GValue *array, double v) {
  GValue d = G_VALUE_INIT;
  g_value_init(&d, G_TYPE_DOUBLE);
  g_value_set_double(&d, v);
  gst_value_array_append_and_take_value(array, &d);
}

// < x, y >
inline void point_value(GValue *out, const Point &p) {
  g_value_init(out, GST_TYPE_ARRAY);
  append_double(out, p.x);
  append_double(out, p.y);
}

// < < x, y >, ... >
inline void polygon_value(GValue *out, const Polygon &polygon) {
  g_value_init(out, GST_TYPE_ARRAY);
  for (const Point &p : polygon) {
    GValue v = G_VALUE_INIT;
    point_value(&v, p);
    gst_value_array_append_and_take_value(out, &v);
  }
}

inline std::optional<double> number(const GValue *v) {
  if (G_VALUE_HOLDS_DOUBLE(v))
    return g_value_get_double(v);
  if (G_VALUE_HOLDS_INT(v))
    return g_value_get_int(v);
  if (G_VALUE_HOLDS_FLOAT(v))
    return g_value_get_float(v);
  return std::nullopt;
}

inline std::optional<Point> read_point(const GValue *v) {
  if (!v || !GST_VALUE_HOLDS_ARRAY(v) || gst_value_array_get_size(v) != 2)
    return std::nullopt;
  const auto x = number(gst_value_array_get_value(v, 0));
  const auto y = number(gst_value_array_get_value(v, 1));
  if (!x || !y)
    return std::nullopt;
  return Point{*x, *y};
}

// Points that do not read are skipped.
inline Polygon read_polygon(const GValue *v) {
  Polygon polygon;
  if (!v || !GST_VALUE_HOLDS_ARRAY(v))
    return polygon;
  for (guint i = 0; i < gst_value_array_get_size(v); ++i)
    if (auto p = read_point(gst_value_array_get_value(v, i)))
      polygon.push_back(*p);
  return polygon;
}

inline std::optional<double> get_double(const GstStructure *s, const char *name) {
  double v = 0;
  if (gst_structure_get_double(s, name, &v))
    return v;
  return std::nullopt;
}

inline std::optional<guint64> get_uint64(const GstStructure *s, const char *name) {
  guint64 v = 0;
  if (gst_structure_get_uint64(s, name, &v))
    return v;
  guint u = 0; // a foreign writer's narrower type
  if (gst_structure_get_uint(s, name, &u))
    return u;
  return std::nullopt;
}

inline void set_counts(GstStructure *s, const std::string &key, const LineCount &c) {
  std::string fwd = key, back = key;
  fwd += field::kForwardSuffix;
  back += field::kBackwardSuffix;
  gst_structure_set(s, fwd.c_str(), G_TYPE_UINT64, c.forward, back.c_str(), G_TYPE_UINT64,
                    c.backward, nullptr);
}

inline bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A frame meta: added and filled by fill(structure, m); read by `from` when present.
template <typename Meta> bool write_meta(GstBuffer *buf, const char *name, const Meta &m) {
  GstStructure *s = gstmeta::add(buf, name);
  if (!s)
    return false;
  fill(s, m); // found by argument-dependent lookup: declared below, next to each Meta
  return true;
}

template <typename From>
auto read_meta(GstBuffer *buf, const char *name, From from)
    -> std::optional<decltype(from(nullptr))> {
  const GstStructure *s = gstmeta::find(buf, name);
  if (!s)
    return std::nullopt;
  return from(s);
}

} // namespace detail

// ---- `detection` param ------------------------------------------------------------------
inline GstStructure *to_structure(const DetectionParam &d) {
  GstStructure *s =
      gst_structure_new(kDetectionParam, field::kLabel, G_TYPE_STRING, d.label.c_str(), nullptr);
  if (d.class_id)
    gst_structure_set(s, field::kClassId, G_TYPE_INT, *d.class_id, nullptr);
  if (d.confidence)
    gst_structure_set(s, field::kConfidence, G_TYPE_DOUBLE, *d.confidence, nullptr);
  if (d.source_pts)
    gst_structure_set(s, field::kSourcePts, G_TYPE_UINT64, *d.source_pts, nullptr);
  gst_structure_set(s, field::kFresh, G_TYPE_BOOLEAN, d.fresh ? TRUE : FALSE, nullptr);
  return s;
}

inline DetectionParam detection_from(const GstStructure *s, const char *fallback_label = "") {
  DetectionParam d;
  const gchar *label = gst_structure_get_string(s, field::kLabel);
  d.label = label ? label : fallback_label;
  int class_id = 0;
  if (gst_structure_get_int(s, field::kClassId, &class_id))
    d.class_id = class_id;
  d.confidence = detail::get_double(s, field::kConfidence);
  d.source_pts = detail::get_uint64(s, field::kSourcePts);
  gboolean fresh = TRUE;
  if (gst_structure_get_boolean(s, field::kFresh, &fresh))
    d.fresh = fresh != FALSE;
  return d;
}

inline void write(GstVideoRegionOfInterestMeta *roi, const DetectionParam &d) {
  gst_video_region_of_interest_meta_add_param(roi, to_structure(d));
}

// The ROI's `detection` param, or nullopt when it has none.
inline std::optional<DetectionParam> read_detection(GstVideoRegionOfInterestMeta *roi) {
  GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, kDetectionParam);
  if (!s)
    return std::nullopt;
  return detection_from(s, g_quark_to_string(roi->roi_type));
}

// ---- `tracking` param -------------------------------------------------------------------
inline GstStructure *to_structure(const TrackingParam &t) {
  GstStructure *s = gst_structure_new(
      kTrackingParam, field::kState, G_TYPE_STRING, t.state.c_str(), field::kAgeNs, G_TYPE_UINT64,
      t.age_ns, field::kPredicted, G_TYPE_BOOLEAN, t.predicted ? TRUE : FALSE, field::kVelocityX,
      G_TYPE_DOUBLE, t.velocity_x, field::kVelocityY, G_TYPE_DOUBLE, t.velocity_y, nullptr);
  if (t.track_id)
    gst_structure_set(s, field::kTrackId, G_TYPE_UINT64, *t.track_id, nullptr);
  if (t.speed_kmh)
    gst_structure_set(s, field::kSpeedKmh, G_TYPE_DOUBLE, *t.speed_kmh, nullptr);
  if (t.speed_uncertainty_kmh)
    gst_structure_set(s, field::kSpeedUncertaintyKmh, G_TYPE_DOUBLE, *t.speed_uncertainty_kmh,
                      nullptr);
  return s;
}

inline TrackingParam tracking_from(const GstStructure *s) {
  TrackingParam t;
  t.track_id = detail::get_uint64(s, field::kTrackId);
  if (const gchar *state = gst_structure_get_string(s, field::kState))
    t.state = state;
  t.age_ns = detail::get_uint64(s, field::kAgeNs).value_or(0);
  gboolean predicted = FALSE;
  if (gst_structure_get_boolean(s, field::kPredicted, &predicted))
    t.predicted = predicted != FALSE;
  t.velocity_x = detail::get_double(s, field::kVelocityX).value_or(0);
  t.velocity_y = detail::get_double(s, field::kVelocityY).value_or(0);
  t.speed_kmh = detail::get_double(s, field::kSpeedKmh);
  if (t.speed_kmh) // an uncertainty without a speed means nothing
    t.speed_uncertainty_kmh = detail::get_double(s, field::kSpeedUncertaintyKmh);
  return t;
}

inline void write(GstVideoRegionOfInterestMeta *roi, const TrackingParam &t) {
  gst_video_region_of_interest_meta_add_param(roi, to_structure(t));
}

inline std::optional<TrackingParam> read_tracking(GstVideoRegionOfInterestMeta *roi) {
  GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, kTrackingParam);
  if (!s)
    return std::nullopt;
  return tracking_from(s);
}

// ---- KeepupInferenceMeta ----------------------------------------------------------------
inline void fill(GstStructure *s, const InferenceMeta &m) {
  gst_structure_set(s, field::kFresh, G_TYPE_BOOLEAN, m.fresh ? TRUE : FALSE, field::kHasResult,
                    G_TYPE_BOOLEAN, m.has_result ? TRUE : FALSE, field::kSourcePts, G_TYPE_UINT64,
                    m.source_pts.value_or(GST_CLOCK_TIME_NONE), field::kInferenceMs, G_TYPE_DOUBLE,
                    m.inference_ms, field::kDetections, G_TYPE_UINT, m.detections, nullptr);
  if (!m.motion_gate.empty())
    gst_structure_set(s, field::kMotionGate, G_TYPE_STRING, m.motion_gate.c_str(), nullptr);
}

inline InferenceMeta inference_from(const GstStructure *s) {
  InferenceMeta m;
  gboolean b = TRUE;
  if (gst_structure_get_boolean(s, field::kFresh, &b))
    m.fresh = b != FALSE;
  b = FALSE;
  if (gst_structure_get_boolean(s, field::kHasResult, &b))
    m.has_result = b != FALSE;
  m.source_pts = detail::get_uint64(s, field::kSourcePts);
  if (m.source_pts && !GST_CLOCK_TIME_IS_VALID(*m.source_pts))
    m.source_pts.reset();
  m.inference_ms = detail::get_double(s, field::kInferenceMs).value_or(0);
  gst_structure_get_uint(s, field::kDetections, &m.detections);
  if (const gchar *gate = gst_structure_get_string(s, field::kMotionGate))
    m.motion_gate = gate;
  return m;
}

// Adds the meta (the buffer must be writable). False when it cannot be added.
inline bool write(GstBuffer *buf, const InferenceMeta &m) {
  return detail::write_meta(buf, gstmeta::kInference, m);
}

inline std::optional<InferenceMeta> read_inference(GstBuffer *buf) {
  return detail::read_meta(buf, gstmeta::kInference, inference_from);
}

// ---- KeepupTrackingMeta -----------------------------------------------------------------
// roi: polygon; lines: structure `<name>` -> < a, b >; zones: structure `<name>` -> polygon;
// `<line>-forward` / `-backward` and `<line>-<label>-forward` / `-backward` (guint64);
// occupancy: structure `<zone>` -> structure `<label>` -> guint; active-tracks (guint).
inline void fill(GstStructure *s, const TrackingMeta &m) {
  GValue roi = G_VALUE_INIT;
  detail::polygon_value(&roi, m.roi);
  gst_structure_take_value(s, field::kRoi, &roi);

  GstStructure *lines = gst_structure_new_empty(field::kLines);
  for (const CountLine &l : m.lines) {
    GValue v = G_VALUE_INIT;
    detail::polygon_value(&v, {l.a, l.b});
    gst_structure_take_value(lines, l.name.c_str(), &v);
  }
  gst_structure_set(s, field::kLines, GST_TYPE_STRUCTURE, lines, nullptr);
  gst_structure_free(lines);

  GstStructure *zones = gst_structure_new_empty(field::kZones);
  for (const Zone &z : m.zones) {
    GValue v = G_VALUE_INIT;
    detail::polygon_value(&v, z.polygon);
    gst_structure_take_value(zones, z.name.c_str(), &v);
  }
  gst_structure_set(s, field::kZones, GST_TYPE_STRUCTURE, zones, nullptr);
  gst_structure_free(zones);

  for (const auto &[line, counts] : m.line_counts)
    detail::set_counts(s, line, counts);
  for (const auto &[line, classes] : m.line_class_counts)
    for (const auto &[label, counts] : classes) {
      std::string key = line;
      key += '-';
      key += label;
      detail::set_counts(s, key, counts);
    }

  GstStructure *occupancy = gst_structure_new_empty(field::kOccupancy);
  for (const auto &[zone, classes] : m.occupancy) {
    GstStructure *z = gst_structure_new_empty("zone");
    for (const auto &[label, n] : classes)
      gst_structure_set(z, label.c_str(), G_TYPE_UINT, n, nullptr);
    gst_structure_set(occupancy, zone.c_str(), GST_TYPE_STRUCTURE, z, nullptr);
    gst_structure_free(z);
  }
  gst_structure_set(s, field::kOccupancy, GST_TYPE_STRUCTURE, occupancy, nullptr);
  gst_structure_free(occupancy);
  gst_structure_set(s, field::kActiveTracks, G_TYPE_UINT, m.active_tracks, nullptr);
}

inline TrackingMeta tracking_meta_from(const GstStructure *s) {
  TrackingMeta m;
  m.roi = detail::read_polygon(gst_structure_get_value(s, field::kRoi));
  const GstStructure *lines = nullptr;
  if (const GValue *v = gst_structure_get_value(s, field::kLines);
      v && GST_VALUE_HOLDS_STRUCTURE(v))
    lines = gst_value_get_structure(v);
  for (gint i = 0; lines && i < gst_structure_n_fields(lines); ++i) {
    const gchar *name = gst_structure_nth_field_name(lines, static_cast<guint>(i));
    const Polygon ends = detail::read_polygon(gst_structure_get_value(lines, name));
    if (ends.size() == 2)
      m.lines.push_back({name, ends[0], ends[1]});
  }
  if (const GValue *v = gst_structure_get_value(s, field::kZones);
      v && GST_VALUE_HOLDS_STRUCTURE(v)) {
    const GstStructure *zones = gst_value_get_structure(v);
    for (gint i = 0; i < gst_structure_n_fields(zones); ++i) {
      const gchar *name = gst_structure_nth_field_name(zones, static_cast<guint>(i));
      m.zones.push_back({name, detail::read_polygon(gst_structure_get_value(zones, name))});
    }
  }
  // Counts: `<line>-forward` for a known line is its total; `<line>-<label>-forward` a class's
  // (a field that is itself another line's total is not read as a class).
  for (gint i = 0; i < gst_structure_n_fields(s); ++i) {
    const std::string name = gst_structure_nth_field_name(s, static_cast<guint>(i));
    const bool fwd = detail::ends_with(name, field::kForwardSuffix);
    if (!fwd && !detail::ends_with(name, field::kBackwardSuffix))
      continue;
    const std::string key =
        name.substr(0, name.size() - std::char_traits<char>::length(fwd ? field::kForwardSuffix
                                                                        : field::kBackwardSuffix));
    const auto n = detail::get_uint64(s, name.c_str());
    if (!n)
      continue;
    const auto count_of = [&](LineCount &c) { (fwd ? c.forward : c.backward) = *n; };
    bool is_line = false;
    for (const CountLine &l : m.lines)
      is_line = is_line || l.name == key;
    if (is_line) {
      count_of(m.line_counts[key]);
      continue;
    }
    const CountLine *line = nullptr; // the longest name that prefixes it: gate-2 over gate
    for (const CountLine &l : m.lines)
      if (key.size() > l.name.size() + 1 && key.compare(0, l.name.size(), l.name) == 0 &&
          key[l.name.size()] == '-' && (!line || l.name.size() > line->name.size()))
        line = &l;
    if (line)
      count_of(m.line_class_counts[line->name][key.substr(line->name.size() + 1)]);
  }
  if (const GValue *v = gst_structure_get_value(s, field::kOccupancy);
      v && GST_VALUE_HOLDS_STRUCTURE(v)) {
    const GstStructure *occupancy = gst_value_get_structure(v);
    for (gint i = 0; i < gst_structure_n_fields(occupancy); ++i) {
      const gchar *zone = gst_structure_nth_field_name(occupancy, static_cast<guint>(i));
      auto &classes = m.occupancy[zone];
      const GValue *zv = gst_structure_get_value(occupancy, zone);
      if (!GST_VALUE_HOLDS_STRUCTURE(zv))
        continue;
      const GstStructure *z = gst_value_get_structure(zv);
      for (gint j = 0; j < gst_structure_n_fields(z); ++j) {
        const gchar *label = gst_structure_nth_field_name(z, static_cast<guint>(j));
        guint n = 0;
        if (gst_structure_get_uint(z, label, &n))
          classes[label] = n;
      }
    }
  }
  gst_structure_get_uint(s, field::kActiveTracks, &m.active_tracks);
  return m;
}

inline bool write(GstBuffer *buf, const TrackingMeta &m) {
  return detail::write_meta(buf, gstmeta::kTracking, m);
}

inline std::optional<TrackingMeta> read_tracking_meta(GstBuffer *buf) {
  return detail::read_meta(buf, gstmeta::kTracking, tracking_meta_from);
}

// ---- `keepup-drops` event ---------------------------------------------------------------
// A serialized custom downstream event: it keeps its place between the buffers, passes
// through elements that do not know it, and holds no reference to the queue.
inline GstEvent *drops_event(const DropCount &d) {
  return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                              gst_structure_new(kDropsEvent, field::kQueue, G_TYPE_STRING,
                                                d.queue.c_str(), field::kQueueId, G_TYPE_UINT64,
                                                d.queue_id, field::kDropped, G_TYPE_UINT64,
                                                d.dropped, nullptr));
}

// The event's drop count, or nullopt when it is another event.
inline std::optional<DropCount> read_drops(GstEvent *event) {
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM)
    return std::nullopt;
  const GstStructure *s = gst_event_get_structure(event);
  if (!s || !gst_structure_has_name(s, kDropsEvent))
    return std::nullopt;
  DropCount d;
  if (const gchar *q = gst_structure_get_string(s, field::kQueue))
    d.queue = q;
  d.queue_id = detail::get_uint64(s, field::kQueueId).value_or(0);
  d.dropped = detail::get_uint64(s, field::kDropped).value_or(0);
  return d;
}

} // namespace keepup::contract
