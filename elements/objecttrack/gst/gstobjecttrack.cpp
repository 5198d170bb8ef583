// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-objecttrack
 * @title: objecttrack
 *
 * Tracks the objects a detector marked with `GstVideoRegionOfInterestMeta` (a `detection`
 * param with label, class-id, confidence, as `yolodetect` writes) and estimates their speed.
 * ByteTrack-class association: a constant-velocity Kalman box per track, Hungarian IoU
 * matching of confident detections (`track-thresh`) first, then weak ones (`low-thresh`) to
 * the tracks left over, new tracks from confident unmatched detections (`new-track-thresh`).
 * Track life is PTS time, never frames (`max-lost-time`, the coast time, `min-hits`; tentative
 * tracks included), so frames dropped upstream and detectors that skip frames do not break
 * tracks, and a scene everybody left empties on time.
 *
 * A frame only predicts (every track reported with its Kalman prediction, nothing a miss)
 * when it carries a `KeepupInferenceMeta` with fresh=false, when all its detections say
 * fresh=false on their param (reused results: never measurements), or when it is empty and
 * `empty-frames` says so: `not-inferred`, `no-objects`, or `auto` (default), which learns the
 * detector's cadence D from the frames with detections and takes an empty frame within
 * 2 D - P / 2 of the last detections as not inferred (P: frame period; a detector running on
 * every frame makes empty frames "no objects").
 *
 * Output: the incoming detection metas are replaced by one ROI meta per reported track,
 * with the `detection` param (label, class-id, confidence) and a `tracking` param: track-id
 * (guint64), state (confirmed / lost), age-ns (guint64), predicted (boolean), velocity-x /
 * velocity-y (m/s on the ground with calibration, else image px/s), and speed-kmh with
 * speed-uncertainty-kmh (± km/h, about 95 %) only with a calibration, once the object moved
 * `speed-min-distance`, from samples not clipped by the frame edge and without size jumps.
 * A `KeepupTrackingMeta` (GstCustomMeta) carries roi, lines, zones, line counts (also per
 * class) and `occupancy` (zone -> label -> objects inside) for overlays.
 *
 * Speed: `calibration` "x1,y1:X1,Y1;x2,y2:X2,Y2;x3,y3:X3,Y3;x4,y4:X4,Y4" (four image points
 * and their ground positions in metres) gives a homography, or `meters-per-pixel` a scale;
 * the bottom-centre point's ground positions over `speed-window` are fitted against their
 * PTS (least squares), in km/h.
 *
 * `roi` "x,y;x,y;..." keeps only objects whose bottom-centre is inside. `lines`
 * "name:x1,y1,x2,y2;..." counts crossings per line, class and direction. `zones`
 * "name:x,y;x,y;x,y|name2:..." watches polygons (entry, exit with dwell time, `loiter-time`).
 *
 * Messages (event schema v1, elements/objecttrack/events-v1.schema.json): element messages
 * `objecttrack-line-crossed`, `-zone-entered`, `-zone-exited`, `-loitering`, and with
 * `post-track-messages` `-track-started` / `-track-ended`; each carries v (1), type, stream
 * (`stream-name`, else the stream-start id), wall-time (UTC), pts, track-id, label, class-id
 * and the type's fields (see the README). At EOS every track still alive ends at the last
 * frame's PTS (track-ended, zone exits) before EOS goes on.
 *
 * `stats` (`application/x-objecttrack-stats`): frames, updates (frames with measurements),
 * predictions (frames without), held (of those, frames a motion gate skipped as still: tracks
 * stay in place, velocity zero), stale-detections, detector-interval-ns, active-tracks,
 * total-tracks, id-switch-suspects (a track born where a recently lost one of the same class
 * was), `lines` (`<name>-forward` / `-backward`, `<name>-<label>-forward` / `-backward`) and
 * `zones` (`<zone>` -> `<label>` -> objects inside now).
 *
 * Bad `calibration`, `roi`, `lines` or `zones` strings are logged when set and refused at
 * start with RESOURCE/SETTINGS naming the property and the bad part: empty fields, numbers
 * that are not plain decimal (hex, inf, trailing text; parsed without the C locale), a
 * polygon with no area, names used twice.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=traffic.mp4 ! decodebin ! videoconvert ! \
 *     yolodetect model=models/keepup-traffic-320.onnx ! \
 *     objecttrack meters-per-pixel=0.05 lines="gate:0,400,1280,400" ! fakesink
 * ]|
 */
#include "gstobjecttrack.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>

#include "callback_guard.hpp"
#include "frame_policy.hpp"
#include "keepup_metas.hpp"
#include "track_event_meta.hpp"
#include "track_events.hpp"
#include "track_metas.hpp"
#include "tracker.hpp"

GST_DEBUG_CATEGORY_STATIC(objecttrack_debug);
GST_DEBUG_CATEGORY_STATIC(objecttrack_dataflow);
#define GST_CAT_DEFAULT objecttrack_debug

namespace track = keepup::track;
namespace trackevents = keepup::trackevents;
namespace trackmetas = keepup::trackmetas;

enum {
  PROP_0,
  PROP_TRACK_THRESH,
  PROP_LOW_THRESH,
  PROP_NEW_TRACK_THRESH,
  PROP_MATCH_THRESH,
  PROP_PER_CLASS,
  PROP_MAX_LOST_TIME,
  PROP_MIN_HITS,
  PROP_CALIBRATION,
  PROP_METERS_PER_PIXEL,
  PROP_SPEED_WINDOW,
  PROP_ROI,
  PROP_LINES,
  PROP_POST_TRACK_MESSAGES,
  PROP_EMPTY_FRAMES,
  PROP_ZONES,
  PROP_LOITER_TIME,
  PROP_SPEED_MIN_DISTANCE,
  PROP_STREAM_NAME,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

struct TrackSettings {
  track::TrackerConfig tracker;
  std::string calibration, roi, lines, zones, stream_name;
  double meters_per_pixel = 0;
  bool post_track_messages = false;
  track::EmptyFrames empty_frames = track::EmptyFrames::automatic;
};

struct Tracking {
  Tracking(track::TrackerConfig c, track::EmptyFrames empty)
      : tracker(std::move(c)), classifier(empty) {}
  track::Tracker tracker;
  track::FrameClassifier classifier;
  keepup::contract::TrackingMeta geometry; // roi, lines, zones for the tracking meta
  std::string stream_name;                 // the property, else the stream-start id
  trackmetas::Labels labels;
  bool post_track_messages = false;
  std::mutex stats_lock;
  guint64 frames = 0, updates = 0, predictions = 0, held = 0, stale_detections = 0;
  std::optional<std::int64_t> last_t_ns; // PTS of the last frame (streaming thread only)
  std::int64_t detector_interval_ns = 0;
  std::size_t active = 0;
  track::TrackerCounters counters;
  std::map<std::string, std::map<int, unsigned>> occupancy;
};

struct ObjectTrackPrivate {
  std::mutex lock;
  TrackSettings settings;
  std::shared_ptr<Tracking> run;
};

struct _GstObjectTrack {
  GstBaseTransform parent;
  ObjectTrackPrivate *priv;
};

#define GST_TYPE_OBJECT_TRACK_EMPTY_FRAMES (gst_object_track_empty_frames_get_type())
static GType gst_object_track_empty_frames_get_type() {
  static GType type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
        {static_cast<gint>(track::EmptyFrames::automatic),
         "Learn the detector's cadence from the frames with detections", "auto"},
        {static_cast<gint>(track::EmptyFrames::no_objects), "The detector ran and found nothing",
         "no-objects"},
        {static_cast<gint>(track::EmptyFrames::not_inferred),
         "The detector did not run: predict only", "not-inferred"},
        {0, nullptr, nullptr}};
    g_once_init_leave(&type, g_enum_register_static("GstObjectTrackEmptyFrames", values));
  }
  return type;
}

#define gst_object_track_parent_class parent_class
G_DEFINE_TYPE(GstObjectTrack, gst_object_track, GST_TYPE_BASE_TRANSFORM)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(
    objecttrack, "objecttrack", GST_RANK_NONE, GST_TYPE_OBJECT_TRACK,
    GST_DEBUG_CATEGORY_INIT(objecttrack_debug, "objecttrack", 0, "objecttrack element");
    GST_DEBUG_CATEGORY_INIT(objecttrack_dataflow, "objecttrack_dataflow", 0,
                            "objecttrack per-frame work"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw"));

// Posted, and kept in `batch` for the frame (track_event_meta.hpp: metapublish reads them).
static void post(GstObjectTrack *self, GstStructure *s, trackevents::EventBatch &batch) {
  batch.add(s);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// The tracker's events as messages, in this order: starts, crossings, zones, ends.
static void post_events(GstObjectTrack *self, Tracking &run, gint64 wall_us,
                        trackevents::EventBatch &batch) {
  trackevents::Context ctx;
  ctx.stream = run.stream_name;
  ctx.wall_us = wall_us;
  ctx.label = [&run](int cls) { return run.labels.of(cls); };
  std::vector<track::TrackEvent> ended;
  for (auto &e : run.tracker.take_track_events()) {
    if (!run.post_track_messages)
      continue;
    if (e.started)
      post(self, trackevents::track_event(e, ctx), batch);
    else
      ended.push_back(std::move(e));
  }
  for (const auto &e : run.tracker.take_events())
    post(self, trackevents::line_event(e, ctx), batch);
  for (const auto &e : run.tracker.take_zone_events())
    post(self, trackevents::zone_event(e, ctx), batch);
  for (const auto &e : ended)
    post(self, trackevents::track_event(e, ctx), batch);
}

static GstFlowReturn gst_object_track_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  auto *self = GST_OBJECT_TRACK(trans);
  std::shared_ptr<Tracking> run;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    run = self->priv->run;
  }
  if (!run)
    return GST_FLOW_OK;
  try {
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    if (!GST_CLOCK_TIME_IS_VALID(pts)) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("objecttrack needs timestamped frames"),
                        ("buffer without PTS"));
      return GST_FLOW_ERROR;
    }
    const auto t_ns = static_cast<std::int64_t>(pts);
    track::FrameFacts facts;
    facts.t_ns = t_ns;
    if (const auto info = keepup::contract::read_inference(buf)) {
      facts.inference_fresh = info->fresh;
      facts.scene_still = !info->fresh && info->motion_gate == "still";
    }
    std::vector<bool> stale;
    std::vector<track::Detection> dets = trackmetas::take_detections(buf, run->labels, stale);
    facts.detections = dets.size();
    facts.stale = static_cast<std::size_t>(std::count(stale.begin(), stale.end(), true));
    const track::FrameKind kind = run->classifier.classify(facts);
    const bool fresh = kind == track::FrameKind::update;
    if (fresh && facts.stale > 0) { // reused detections are not measurements
      std::vector<track::Detection> kept;
      for (std::size_t i = 0; i < dets.size(); ++i)
        if (!stale[i])
          kept.push_back(dets[i]);
      dets = std::move(kept);
    }
    const std::vector<track::TrackOutput> tracks = fresh ? run->tracker.update(dets, t_ns)
                                                   : kind == track::FrameKind::hold
                                                       ? run->tracker.hold(t_ns)
                                                       : run->tracker.predict(t_ns);
    for (const auto &o : tracks)
      trackmetas::attach_track(buf, run->labels, o);

    const auto occupancy = run->tracker.occupancy();
    keepup::contract::write(buf, trackmetas::scene_meta(run->geometry, run->labels,
                                                        run->tracker.counters(), occupancy,
                                                        run->tracker.active()));
    {
      std::lock_guard<std::mutex> lk(run->stats_lock);
      ++run->frames;
      ++(fresh ? run->updates : run->predictions);
      run->held += kind == track::FrameKind::hold;
      run->stale_detections += facts.stale;
      run->detector_interval_ns = run->classifier.detector_interval_ns();
      run->active = run->tracker.active();
      run->counters = run->tracker.counters();
      run->occupancy = occupancy;
    }
    run->last_t_ns = t_ns;
    trackevents::EventBatch batch;
    post_events(self, *run, trackmetas::frame_wall_us(buf), batch); // last, with no lock held
    batch.attach(buf);
    GST_CAT_LOG_OBJECT(
        objecttrack_dataflow, self, "pts %" GST_TIME_FORMAT ": %zu detections, %zu tracks (%s)",
        GST_TIME_ARGS(pts), dets.size(), tracks.size(), track::frame_kind_name(kind));
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Tracking failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
}

static gboolean start_impl(GstBaseTransform *trans) {
  auto *self = GST_OBJECT_TRACK(trans);
  TrackSettings s;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    s = self->priv->settings;
  }
  track::TrackerConfig config = s.tracker;
  try {
    if (!s.zones.empty())
      config.zones = track::parse_zones(s.zones);
    if (!s.calibration.empty())
      config.ground = track::parse_calibration(s.calibration);
    else if (s.meters_per_pixel > 0)
      config.ground = track::Homography::from_scale(s.meters_per_pixel);
    if (!s.roi.empty())
      config.roi = track::parse_polygon(s.roi);
    if (!s.lines.empty())
      config.lines = track::parse_lines(s.lines);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid objecttrack settings: %s", e.what()),
                      ("%s", e.what()));
    return FALSE;
  }
  auto run = std::make_shared<Tracking>(config, s.empty_frames);
  run->geometry = trackmetas::scene_geometry(config);
  run->stream_name = s.stream_name;
  run->post_track_messages = s.post_track_messages;
  std::lock_guard<std::mutex> lk(self->priv->lock);
  self->priv->run = std::move(run);
  return TRUE;
}

static gboolean gst_object_track_start(GstBaseTransform *trans) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
                                "objecttrack: cannot start", FALSE,
                                [&] { return start_impl(trans); });
}

static gboolean gst_object_track_stop(GstBaseTransform *trans) {
  auto *self = GST_OBJECT_TRACK(trans);
  std::lock_guard<std::mutex> lk(self->priv->lock);
  self->priv->run.reset();
  return TRUE;
}

static gboolean set_caps_impl(GstBaseTransform *trans, GstCaps *incaps, GstCaps *) {
  auto *self = GST_OBJECT_TRACK(trans);
  gint width = 0, height = 0;
  GstStructure *s = gst_caps_get_structure(incaps, 0);
  gst_structure_get_int(s, "width", &width);
  gst_structure_get_int(s, "height", &height);
  std::lock_guard<std::mutex> lk(self->priv->lock);
  if (self->priv->run)
    self->priv->run->tracker.set_frame_size(width, height);
  return TRUE;
}

static gboolean gst_object_track_set_caps(GstBaseTransform *trans, GstCaps *incaps,
                                          GstCaps *outcaps) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                                "objecttrack: cannot use these caps", FALSE,
                                [&] { return set_caps_impl(trans, incaps, outcaps); });
}

// Flushing seeks and discontinuities in time: tracks from before would predict nonsense.
static gboolean sink_event_impl(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_OBJECT_TRACK(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    if (self->priv->run) {
      self->priv->run->tracker.reset();
      self->priv->run->classifier.reset();
    }
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    // The stream is over: every track ends (and leaves its zones) at the last frame, so the
    // events hold a track-ended for every track-started.
    std::shared_ptr<Tracking> run;
    {
      std::lock_guard<std::mutex> lk(self->priv->lock);
      run = self->priv->run;
    }
    if (run && run->last_t_ns) {
      run->tracker.finish(*run->last_t_ns);
      {
        std::lock_guard<std::mutex> lk(run->stats_lock);
        run->active = 0;
        run->occupancy = run->tracker.occupancy();
      }
      trackevents::EventBatch batch;
      post_events(self, *run, g_get_real_time(), batch);
      if (GstEvent *events = batch.to_event()) // in band, just before EOS
        gst_pad_push_event(GST_BASE_TRANSFORM_SRC_PAD(trans), events);
    }
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_STREAM_START) {
    const gchar *id = nullptr;
    gst_event_parse_stream_start(event, &id);
    std::lock_guard<std::mutex> lk(self->priv->lock);
    if (self->priv->run && self->priv->settings.stream_name.empty() && id)
      self->priv->run->stream_name = id;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static gboolean gst_object_track_sink_event(GstBaseTransform *trans, GstEvent *event) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_CORE_ERROR, GST_CORE_ERROR_EVENT,
                                "objecttrack: event handling failed", FALSE,
                                [&] { return sink_event_impl(trans, event); });
}

static GstStructure *make_stats(GstObjectTrack *self) {
  std::shared_ptr<Tracking> run;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    run = self->priv->run;
  }
  guint64 frames = 0, updates = 0, predictions = 0, held = 0, total = 0, suspects = 0, stale = 0,
          interval = 0;
  guint active = 0;
  GstStructure *lines = gst_structure_new_empty("application/x-objecttrack-lines");
  GstStructure *zones = nullptr;
  if (run) {
    std::lock_guard<std::mutex> lk(run->stats_lock);
    frames = run->frames;
    updates = run->updates;
    predictions = run->predictions;
    held = run->held;
    stale = run->stale_detections;
    interval = static_cast<guint64>(run->detector_interval_ns);
    active = static_cast<guint>(run->active);
    total = run->counters.total_tracks;
    suspects = run->counters.id_switch_suspects;
    trackmetas::set_line_counts(lines, run->labels, run->counters);
    zones = trackmetas::occupancy_structure(run->labels, run->occupancy);
  }
  if (!zones)
    zones = gst_structure_new_empty("occupancy");
  GstStructure *s = gst_structure_new(
      "application/x-objecttrack-stats", "frames", G_TYPE_UINT64, frames, "updates", G_TYPE_UINT64,
      updates, "predictions", G_TYPE_UINT64, predictions, "held", G_TYPE_UINT64, held,
      "stale-detections", G_TYPE_UINT64, stale, "detector-interval-ns", G_TYPE_UINT64, interval,
      "active-tracks", G_TYPE_UINT, active, "total-tracks", G_TYPE_UINT64, total,
      "id-switch-suspects", G_TYPE_UINT64, suspects, "lines", GST_TYPE_STRUCTURE, lines, "zones",
      GST_TYPE_STRUCTURE, zones, nullptr);
  gst_structure_free(lines);
  gst_structure_free(zones);
  return s;
}

// Property strings are checked when set, so a typo shows in the log at once; start refuses
// them with an error naming the bad part.
static void check_string(GstObjectTrack *self, const char *what, const std::string &text) {
  if (text.empty())
    return;
  try {
    if (g_str_equal(what, "calibration"))
      track::parse_calibration(text);
    else if (g_str_equal(what, "roi"))
      track::parse_polygon(text);
    else if (g_str_equal(what, "zones"))
      track::parse_zones(text);
    else
      track::parse_lines(text);
  } catch (const std::exception &e) {
    GST_WARNING_OBJECT(self, "%s: %s (the element will refuse to start)", what, e.what());
  }
}

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  auto *self = GST_OBJECT_TRACK(object);
  std::string text;
  if (G_VALUE_HOLDS_STRING(value))
    text = g_value_get_string(value) ? g_value_get_string(value) : "";
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    TrackSettings &s = self->priv->settings;
    switch (prop_id) {
    case PROP_TRACK_THRESH:
      s.tracker.track_thresh = g_value_get_double(value);
      break;
    case PROP_LOW_THRESH:
      s.tracker.low_thresh = g_value_get_double(value);
      break;
    case PROP_NEW_TRACK_THRESH:
      s.tracker.new_track_thresh = g_value_get_double(value);
      break;
    case PROP_MATCH_THRESH:
      s.tracker.match_thresh = g_value_get_double(value);
      break;
    case PROP_PER_CLASS:
      s.tracker.per_class = g_value_get_boolean(value);
      break;
    case PROP_MAX_LOST_TIME:
      s.tracker.max_lost_ns = static_cast<std::int64_t>(g_value_get_uint64(value));
      break;
    case PROP_MIN_HITS:
      s.tracker.min_hits = static_cast<int>(g_value_get_uint(value));
      break;
    case PROP_CALIBRATION:
      s.calibration = text;
      break;
    case PROP_METERS_PER_PIXEL:
      s.meters_per_pixel = g_value_get_double(value);
      break;
    case PROP_SPEED_WINDOW:
      s.tracker.speed_window_ns = static_cast<std::int64_t>(g_value_get_uint64(value));
      break;
    case PROP_ROI:
      s.roi = text;
      break;
    case PROP_LINES:
      s.lines = text;
      break;
    case PROP_POST_TRACK_MESSAGES:
      s.post_track_messages = g_value_get_boolean(value);
      break;
    case PROP_EMPTY_FRAMES:
      s.empty_frames = static_cast<track::EmptyFrames>(g_value_get_enum(value));
      break;
    case PROP_ZONES:
      s.zones = text;
      break;
    case PROP_LOITER_TIME:
      s.tracker.loiter_ns = static_cast<std::int64_t>(g_value_get_uint64(value));
      break;
    case PROP_SPEED_MIN_DISTANCE:
      s.tracker.speed_min_distance_m = g_value_get_double(value);
      break;
    case PROP_STREAM_NAME:
      s.stream_name = text;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      return;
    }
  }
  if (prop_id == PROP_CALIBRATION)
    check_string(self, "calibration", text);
  else if (prop_id == PROP_ROI)
    check_string(self, "roi", text);
  else if (prop_id == PROP_LINES)
    check_string(self, "lines", text);
  else if (prop_id == PROP_ZONES)
    check_string(self, "zones", text);
}

static void gst_object_track_set_property(GObject *object, guint prop_id, const GValue *value,
                                          GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_OBJECT_TRACK(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(self));
    return;
  }
  std::lock_guard<std::mutex> lk(self->priv->lock);
  const TrackSettings &s = self->priv->settings;
  switch (prop_id) {
  case PROP_TRACK_THRESH:
    g_value_set_double(value, s.tracker.track_thresh);
    break;
  case PROP_LOW_THRESH:
    g_value_set_double(value, s.tracker.low_thresh);
    break;
  case PROP_NEW_TRACK_THRESH:
    g_value_set_double(value, s.tracker.new_track_thresh);
    break;
  case PROP_MATCH_THRESH:
    g_value_set_double(value, s.tracker.match_thresh);
    break;
  case PROP_PER_CLASS:
    g_value_set_boolean(value, s.tracker.per_class);
    break;
  case PROP_MAX_LOST_TIME:
    g_value_set_uint64(value, static_cast<guint64>(s.tracker.max_lost_ns));
    break;
  case PROP_MIN_HITS:
    g_value_set_uint(value, static_cast<guint>(s.tracker.min_hits));
    break;
  case PROP_CALIBRATION:
    g_value_set_string(value, s.calibration.c_str());
    break;
  case PROP_METERS_PER_PIXEL:
    g_value_set_double(value, s.meters_per_pixel);
    break;
  case PROP_SPEED_WINDOW:
    g_value_set_uint64(value, static_cast<guint64>(s.tracker.speed_window_ns));
    break;
  case PROP_ROI:
    g_value_set_string(value, s.roi.c_str());
    break;
  case PROP_LINES:
    g_value_set_string(value, s.lines.c_str());
    break;
  case PROP_POST_TRACK_MESSAGES:
    g_value_set_boolean(value, s.post_track_messages);
    break;
  case PROP_EMPTY_FRAMES:
    g_value_set_enum(value, static_cast<gint>(s.empty_frames));
    break;
  case PROP_ZONES:
    g_value_set_string(value, s.zones.c_str());
    break;
  case PROP_LOITER_TIME:
    g_value_set_uint64(value, static_cast<guint64>(s.tracker.loiter_ns));
    break;
  case PROP_SPEED_MIN_DISTANCE:
    g_value_set_double(value, s.tracker.speed_min_distance_m);
    break;
  case PROP_STREAM_NAME:
    g_value_set_string(value, s.stream_name.c_str());
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_object_track_get_property(GObject *object, guint prop_id, GValue *value,
                                          GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

static void gst_object_track_finalize(GObject *object) {
  auto *self = GST_OBJECT_TRACK(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_object_track_init(GstObjectTrack *self) {
  self->priv = new ObjectTrackPrivate();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_object_track_class_init(GstObjectTrackClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_object_track_set_property;
  gobject_class->get_property = gst_object_track_get_property;
  gobject_class->finalize = gst_object_track_finalize;

  const track::TrackerConfig d;
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  properties[PROP_TRACK_THRESH] = g_param_spec_double(
      "track-thresh", "Track threshold", "Detections at least this confident are matched first",
      0.0, 1.0, d.track_thresh, ready);
  properties[PROP_LOW_THRESH] =
      g_param_spec_double("low-thresh", "Low threshold",
                          "Weaker detections (down to this) only continue existing tracks", 0.0,
                          1.0, d.low_thresh, ready);
  properties[PROP_NEW_TRACK_THRESH] =
      g_param_spec_double("new-track-thresh", "New track threshold",
                          "Unmatched detections at least this confident start a track", 0.0, 1.0,
                          d.new_track_thresh, ready);
  properties[PROP_MATCH_THRESH] = g_param_spec_double(
      "match-thresh", "Match threshold", "Largest IoU distance (1 - IoU) accepted as a match", 0.0,
      1.0, d.match_thresh, ready);
  properties[PROP_PER_CLASS] = g_param_spec_boolean(
      "per-class", "Per class", "A track keeps its class: detections of other classes never match",
      d.per_class, ready);
  properties[PROP_MAX_LOST_TIME] = g_param_spec_uint64(
      "max-lost-time", "Max lost time", "How long (ns of PTS) a track survives without detections",
      0, G_MAXUINT64, static_cast<guint64>(d.max_lost_ns), ready);
  properties[PROP_MIN_HITS] = g_param_spec_uint(
      "min-hits", "Min hits", "Detections before a track is confirmed and reported", 1, 1000,
      static_cast<guint>(d.min_hits), ready);
  properties[PROP_CALIBRATION] = g_param_spec_string(
      "calibration", "Calibration",
      "Four image points and their ground positions in metres: 'x1,y1:X1,Y1;...;x4,y4:X4,Y4'",
      nullptr, ready);
  properties[PROP_METERS_PER_PIXEL] = g_param_spec_double(
      "meters-per-pixel", "Meters per pixel",
      "Ground scale when there is no calibration (0 = none)", 0.0, 1000.0, 0.0, ready);
  properties[PROP_SPEED_WINDOW] =
      g_param_spec_uint64("speed-window", "Speed window", "Time (ns) over which speed is fitted", 1,
                          G_MAXUINT64, static_cast<guint64>(d.speed_window_ns), ready);
  properties[PROP_ROI] = g_param_spec_string(
      "roi", "Region of interest",
      "Polygon 'x,y;x,y;...': only objects standing inside are tracked", nullptr, ready);
  properties[PROP_LINES] = g_param_spec_string(
      "lines", "Counting lines", "'name:x1,y1,x2,y2;...': crossings are posted and counted",
      nullptr, ready);
  properties[PROP_POST_TRACK_MESSAGES] = g_param_spec_boolean(
      "post-track-messages", "Post track messages",
      "Post objecttrack-track-started / -ended element messages", FALSE, ready);
  properties[PROP_EMPTY_FRAMES] = g_param_spec_enum(
      "empty-frames", "Empty frames",
      "What a frame without detections (and without yolodetect's inference meta) means: auto "
      "learns the detector's cadence, no-objects, or not-inferred (predict only)",
      GST_TYPE_OBJECT_TRACK_EMPTY_FRAMES, static_cast<gint>(track::EmptyFrames::automatic), ready);
  properties[PROP_ZONES] = g_param_spec_string(
      "zones", "Zones",
      "'name:x,y;x,y;x,y|name2:...': polygons; entries, exits (dwell time), occupancy per class",
      nullptr, ready);
  properties[PROP_LOITER_TIME] = g_param_spec_uint64(
      "loiter-time", "Loiter time",
      "Post objecttrack-loitering once per object and zone after this long inside (ns, 0 = off)", 0,
      G_MAXUINT64, static_cast<guint64>(d.loiter_ns), ready);
  properties[PROP_SPEED_MIN_DISTANCE] =
      g_param_spec_double("speed-min-distance", "Speed minimum distance",
                          "No speed before the object moved this far on the ground (metres)", 0.0,
                          1000.0, d.speed_min_distance_m, ready);
  properties[PROP_STREAM_NAME] =
      g_param_spec_string("stream-name", "Stream name",
                          "The events' stream field (empty: the stream-start id)", nullptr, ready);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics", "application/x-objecttrack-stats (see the element documentation)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties(gobject_class, N_PROPS, properties);
  gst_type_mark_as_plugin_api(GST_TYPE_OBJECT_TRACK_EMPTY_FRAMES,
                              static_cast<GstPluginAPIFlags>(0));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Object tracker", "Filter/Analyzer/Video",
      "Tracks detected objects over time (ByteTrack-class), estimates their speed and counts "
      "line crossings",
      "keepup developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_object_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_object_track_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_object_track_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_object_track_sink_event);
  trans_class->set_caps = GST_DEBUG_FUNCPTR(gst_object_track_set_caps);
}
