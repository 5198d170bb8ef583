// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-detectoverlay
 * @title: detectoverlay
 *
 * Draws what `yolodetect` and `objecttrack` put on the frames: boxes (coloured per track id
 * or per class, `color-by`), a label with class, confidence, track id and speed (`52 ± 3 km/h`
 * when the tracking param carries `speed-uncertainty-kmh`), trails (the last `trail-length`
 * positions of each track), the objecttrack ROI polygon, its zones with their live occupancy
 * (name and count, per class when there are several) and counting lines with their counts,
 * and a HUD: frame rate (from PTS), inference time, detection age (PTS minus the PTS the
 * detections were computed on), and the frames dropped by the `dropqueue`s upstream. Each
 * layer has a `show-*` switch. Everything is read through the typed helpers of
 * elements/common/gst/analytics_contract.hpp.
 *
 * Upstream drops arrive in band: each dropqueue sends a `keepup-drops` event with its running
 * total; this element keeps the last total per queue and shows their sum. It looks no element
 * up and holds no reference to any.
 *
 * Stats (`stats`, application/x-detectoverlay-stats): frames (since start),
 * dropped-upstream, upstream-queues.
 *
 * Formats: BGR, BGRx, BGRA, RGB, RGBx, RGBA with their real strides, and I420 / NV12 drawn
 * straight into the planes (luma at full size, chroma at half size): no full-frame colour
 * conversion when the input is YUV, as it is after a decoder.
 *
 * Runs on the streaming thread, in place; reads metas only.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,width=1280,height=720 ! videoconvert ! \
 *     yolodetect model=models/keepup-traffic-320.onnx ! objecttrack ! detectoverlay ! \
 *     videoconvert ! autovideosink
 * ]|
 */
#include "gstdetectoverlay.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>

#include "callback_guard.hpp"
#include "analytics_contract.hpp"
#include "overlay_canvas.hpp"
#include "overlay_core.hpp"
#include "video_frame_view.hpp"

GST_DEBUG_CATEGORY_STATIC(detectoverlay_debug);
#define GST_CAT_DEFAULT detectoverlay_debug

namespace ov = keepup::overlay;

enum {
  PROP_0,
  PROP_SHOW_BOXES,
  PROP_SHOW_LABELS,
  PROP_SHOW_CONFIDENCE,
  PROP_SHOW_IDS,
  PROP_SHOW_SPEED,
  PROP_SHOW_TRAILS,
  PROP_SHOW_ROI,
  PROP_SHOW_LINES,
  PROP_SHOW_ZONES,
  PROP_SHOW_HUD,
  PROP_TRAIL_LENGTH,
  PROP_COLOR_BY,
  PROP_THICKNESS,
  PROP_FONT_SCALE,
  PROP_STATS,
  N_PROPS
};

using ov::ColorBy;

static GParamSpec *properties[N_PROPS];

struct OverlayState {
  ov::Trails trails;
  ov::FpsMeter fps;
};

// Drop totals announced in band by the dropqueues upstream (`keepup-drops` events), per
// queue: no reference to any of them. Written by the sink-event path, read per frame.
struct UpstreamDrops {
  std::mutex lock;
  std::map<guint64, guint64> by_queue; // queue-id -> its running total
  guint64 total() {
    std::lock_guard<std::mutex> lk(lock);
    guint64 sum = 0;
    for (const auto &[id, n] : by_queue)
      sum += n;
    return sum;
  }
  guint queues() {
    std::lock_guard<std::mutex> lk(lock);
    return static_cast<guint>(by_queue.size());
  }
};

struct DetectOverlayPrivate {
  std::mutex lock;
  ov::Settings settings;
  std::unique_ptr<OverlayState> state; // streaming thread only, between start and stop
  UpstreamDrops drops;
  std::atomic<guint64> frames{0}; // since start
};

struct _GstDetectOverlay {
  GstVideoFilter parent;
  DetectOverlayPrivate *priv;
};

#define gst_detect_overlay_parent_class parent_class
G_DEFINE_TYPE(GstDetectOverlay, gst_detect_overlay, GST_TYPE_VIDEO_FILTER)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(detectoverlay, "detectoverlay", GST_RANK_NONE,
                                      GST_TYPE_DETECT_OVERLAY,
                                      GST_DEBUG_CATEGORY_INIT(detectoverlay_debug, "detectoverlay",
                                                              0, "detectoverlay element"));

#define OVERLAY_FORMATS "{ BGR, BGRx, BGRA, RGB, RGBx, RGBA, I420, NV12 }"
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(OVERLAY_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(OVERLAY_FORMATS)));

GType gst_detect_overlay_color_by_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(ColorBy::track), "One colour per track id (per class when untracked)",
       "track"},
      {static_cast<gint>(ColorBy::klass), "One colour per class", "class"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstDetectOverlayColorBy", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

struct Item {
  ov::Point a, b;
  std::string label;
  int class_id = -1;
  std::optional<double> confidence, speed, speed_uncertainty;
  std::optional<guint64> track_id;
  bool predicted = false;
};

static std::vector<Item> read_items(GstBuffer *buf) {
  std::vector<Item> items;
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    Item it;
    it.a = {static_cast<int>(roi->x), static_cast<int>(roi->y)};
    it.b = {static_cast<int>(roi->x + roi->w), static_cast<int>(roi->y + roi->h)};
    it.label = g_quark_to_string(roi->roi_type);
    if (const auto d = keepup::contract::read_detection(roi)) {
      it.confidence = d->confidence;
      it.class_id = d->class_id.value_or(-1);
    }
    if (const auto t = keepup::contract::read_tracking(roi)) {
      it.track_id = t->track_id;
      it.speed = t->speed_kmh;
      it.speed_uncertainty = t->speed_uncertainty_kmh;
      it.predicted = t->predicted;
    }
    items.push_back(std::move(it));
  }
  return items;
}

static ov::Point pixel(const keepup::contract::Point &p) {
  return {static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))};
}

static std::vector<ov::Point> pixels(const keepup::contract::Polygon &polygon) {
  std::vector<ov::Point> out;
  for (const auto &p : polygon)
    out.push_back(pixel(p));
  return out;
}

static void draw_scene(ov::Canvas &canvas, const keepup::contract::TrackingMeta &scene,
                       const ov::Settings &s) {
  const int thick = std::max(1, s.thickness);
  if (s.roi && !scene.roi.empty())
    canvas.polyline(pixels(scene.roi), true, {255, 210, 0}, thick);
  if (s.zones)
    for (const auto &zone : scene.zones) {
      if (zone.polygon.empty())
        continue;
      const std::vector<ov::Point> outline = pixels(zone.polygon);
      canvas.polyline(outline, true, {0, 200, 255}, thick);
      // The caption at the zone's top-left corner, inside it.
      ov::Point corner = outline.front();
      for (const auto &p : outline)
        if (p.y < corner.y || (p.y == corner.y && p.x < corner.x))
          corner = p;
      const auto occ = scene.occupancy.find(zone.name);
      canvas.label({corner.x + thick, corner.y + thick + static_cast<int>(30 * s.font_scale)},
                   ov::zone_text(zone.name, occ == scene.occupancy.end()
                                                ? std::map<std::string, unsigned>{}
                                                : occ->second),
                   {0, 140, 200}, s.font_scale);
    }
  if (s.lines)
    for (const auto &l : scene.lines) {
      const ov::Point a = pixel(l.a);
      canvas.line(a, pixel(l.b), {255, 60, 200}, thick + 1);
      const auto c = scene.line_counts.find(l.name);
      const keepup::contract::LineCount counts =
          c == scene.line_counts.end() ? keepup::contract::LineCount{} : c->second;
      char text[160];
      std::snprintf(text, sizeof(text), "%s +%llu -%llu", l.name.c_str(),
                    static_cast<unsigned long long>(counts.forward),
                    static_cast<unsigned long long>(counts.backward));
      canvas.label(a, text, {170, 30, 140}, s.font_scale);
    }
}

static GstFlowReturn gst_detect_overlay_transform_frame_ip(GstVideoFilter *filter,
                                                           GstVideoFrame *frame) {
  auto *self = GST_DETECT_OVERLAY(filter);
  try {
    ov::Settings s;
    {
      std::lock_guard<std::mutex> lk(self->priv->lock);
      s = self->priv->settings;
    }
    OverlayState &st = *self->priv->state;
    GstBuffer *buf = frame->buffer;
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    const auto t_ns = GST_CLOCK_TIME_IS_VALID(pts) ? static_cast<std::int64_t>(pts) : 0;
    self->priv->frames++;
    st.fps.add(t_ns);

    ov::Canvas canvas(keepup::gstutil::frame_view(frame));
    const int thick = std::max(1, s.thickness);

    // Scene: objecttrack's ROI, zones with their occupancy, counting lines with their counts.
    if (const auto scene = keepup::contract::read_tracking_meta(buf))
      draw_scene(canvas, *scene, s);

    // Objects.
    st.trails.set_length(s.trail_length);
    for (const Item &it : read_items(buf)) {
      const std::uint64_t key =
          s.color_by == ColorBy::track && it.track_id
              ? *it.track_id
              : static_cast<std::uint64_t>(it.class_id >= 0 ? it.class_id
                                                            : g_str_hash(it.label.c_str()) % 97) +
                    500;
      const ov::Rgb colour = ov::palette(key);
      if (s.boxes)
        canvas.rect(it.a, it.b, colour, it.predicted ? std::max(1, thick - 1) : thick);
      if (s.trails && it.track_id) {
        st.trails.add(*it.track_id, {(it.a.x + it.b.x) * 0.5, static_cast<double>(it.b.y)}, t_ns);
        if (const auto *trail = st.trails.get(*it.track_id)) {
          std::vector<ov::Point> pts;
          for (const auto &p : *trail)
            pts.push_back({static_cast<int>(p.x), static_cast<int>(p.y)});
          canvas.polyline(pts, false, colour, std::max(1, thick - 1));
        }
      }
      if (s.labels) {
        ov::LabelParts parts{it.label, it.confidence, it.track_id,
                             it.speed, it.predicted,  it.speed_uncertainty};
        canvas.label({it.a.x, it.a.y - 1}, ov::label_text(parts, s.confidence, s.ids, s.speed),
                     colour, s.font_scale);
      }
    }
    st.trails.prune(t_ns);

    // HUD.
    if (s.hud) {
      std::string hud;
      char part[96];
      std::snprintf(part, sizeof(part), "%.1f fps", st.fps.fps());
      hud += part;
      if (const auto info = keepup::contract::read_inference(buf)) {
        std::snprintf(part, sizeof(part), " | infer %.1f ms", info->inference_ms);
        hud += part;
        const auto source = info->source_pts;
        if (source && GST_CLOCK_TIME_IS_VALID(pts) && pts >= *source) {
          std::snprintf(part, sizeof(part), " | det age %.0f ms",
                        static_cast<double>(pts - *source) / 1e6);
          hud += part;
        }
      }
      if (self->priv->drops.queues() > 0) {
        std::snprintf(part, sizeof(part), " | dropped %llu",
                      static_cast<unsigned long long>(self->priv->drops.total()));
        hud += part;
      }
      canvas.label({4, 4 + static_cast<int>(30 * s.font_scale)}, hud, {30, 30, 30}, s.font_scale);
    }
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Drawing the overlay failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
}

static gboolean start_impl(GstBaseTransform *trans) {
  auto *self = GST_DETECT_OVERLAY(trans);
  self->priv->state = std::make_unique<OverlayState>();
  self->priv->frames = 0;
  std::lock_guard<std::mutex> lk(self->priv->drops.lock);
  self->priv->drops.by_queue.clear();
  return TRUE;
}

static gboolean gst_detect_overlay_start(GstBaseTransform *trans) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
                                "detectoverlay: cannot start", FALSE,
                                [&] { return start_impl(trans); });
}

static gboolean gst_detect_overlay_stop(GstBaseTransform *trans) {
  GST_DETECT_OVERLAY(trans)->priv->state.reset();
  return TRUE;
}

// A dropqueue's `keepup-drops` event: remember its total, pass the event on (a later
// overlay or the user's code may read it too).
static gboolean gst_detect_overlay_sink_event(GstBaseTransform *trans, GstEvent *event) {
  auto *self = GST_DETECT_OVERLAY(trans);
  if (const auto drops = keepup::contract::read_drops(event)) {
    std::lock_guard<std::mutex> lk(self->priv->drops.lock);
    self->priv->drops.by_queue[drops->queue_id] = drops->dropped;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static bool *bool_field(ov::Settings &s, guint prop_id) {
  switch (prop_id) {
  case PROP_SHOW_BOXES:
    return &s.boxes;
  case PROP_SHOW_LABELS:
    return &s.labels;
  case PROP_SHOW_CONFIDENCE:
    return &s.confidence;
  case PROP_SHOW_IDS:
    return &s.ids;
  case PROP_SHOW_SPEED:
    return &s.speed;
  case PROP_SHOW_TRAILS:
    return &s.trails;
  case PROP_SHOW_ROI:
    return &s.roi;
  case PROP_SHOW_LINES:
    return &s.lines;
  case PROP_SHOW_ZONES:
    return &s.zones;
  case PROP_SHOW_HUD:
    return &s.hud;
  default:
    return nullptr;
  }
}

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  auto *self = GST_DETECT_OVERLAY(object);
  std::lock_guard<std::mutex> lk(self->priv->lock);
  ov::Settings &s = self->priv->settings;
  if (bool *b = bool_field(s, prop_id)) {
    *b = g_value_get_boolean(value);
    return;
  }
  switch (prop_id) {
  case PROP_TRAIL_LENGTH:
    s.trail_length = g_value_get_uint(value);
    break;
  case PROP_COLOR_BY:
    s.color_by = static_cast<ColorBy>(g_value_get_enum(value));
    break;
  case PROP_THICKNESS:
    s.thickness = g_value_get_int(value);
    break;
  case PROP_FONT_SCALE:
    s.font_scale = g_value_get_double(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_detect_overlay_set_property(GObject *object, guint prop_id, const GValue *value,
                                            GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_DETECT_OVERLAY(object);
  std::lock_guard<std::mutex> lk(self->priv->lock);
  ov::Settings &s = self->priv->settings;
  if (bool *b = bool_field(s, prop_id)) {
    g_value_set_boolean(value, *b);
    return;
  }
  switch (prop_id) {
  case PROP_TRAIL_LENGTH:
    g_value_set_uint(value, s.trail_length);
    break;
  case PROP_COLOR_BY:
    g_value_set_enum(value, static_cast<gint>(s.color_by));
    break;
  case PROP_THICKNESS:
    g_value_set_int(value, s.thickness);
    break;
  case PROP_FONT_SCALE:
    g_value_set_double(value, s.font_scale);
    break;
  case PROP_STATS:
    g_value_take_boxed(value, gst_structure_new("application/x-detectoverlay-stats", "frames",
                                                G_TYPE_UINT64, self->priv->frames.load(),
                                                "dropped-upstream", G_TYPE_UINT64,
                                                self->priv->drops.total(), "upstream-queues",
                                                G_TYPE_UINT, self->priv->drops.queues(), nullptr));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_detect_overlay_get_property(GObject *object, guint prop_id, GValue *value,
                                            GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

static void gst_detect_overlay_finalize(GObject *object) {
  auto *self = GST_DETECT_OVERLAY(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_detect_overlay_init(GstDetectOverlay *self) {
  self->priv = new DetectOverlayPrivate();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_detect_overlay_class_init(GstDetectOverlayClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto *filter_class = GST_VIDEO_FILTER_CLASS(klass);
  gobject_class->set_property = gst_detect_overlay_set_property;
  gobject_class->get_property = gst_detect_overlay_get_property;
  gobject_class->finalize = gst_detect_overlay_finalize;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                           GST_PARAM_MUTABLE_PLAYING);
  struct Switch {
    guint id;
    const char *name, *nick, *blurb;
  };
  static const Switch switches[] = {
      {PROP_SHOW_BOXES, "show-boxes", "Boxes", "Draw object boxes"},
      {PROP_SHOW_LABELS, "show-labels", "Labels", "Draw a label above each box"},
      {PROP_SHOW_CONFIDENCE, "show-confidence", "Confidence", "Put the confidence in the label"},
      {PROP_SHOW_IDS, "show-ids", "Track ids", "Put the track id in the label"},
      {PROP_SHOW_SPEED, "show-speed", "Speed", "Put the speed (when known) in the label"},
      {PROP_SHOW_TRAILS, "show-trails", "Trails", "Draw each track's recent path"},
      {PROP_SHOW_ROI, "show-roi", "ROI", "Draw objecttrack's region of interest"},
      {PROP_SHOW_LINES, "show-lines", "Lines", "Draw objecttrack's counting lines and counts"},
      {PROP_SHOW_ZONES, "show-zones", "Zones",
       "Draw objecttrack's zones with their live occupancy (per class when there are several)"},
      {PROP_SHOW_HUD, "show-hud", "HUD",
       "Draw fps, inference time, detection age and upstream drops"},
  };
  ov::Settings defaults = ov::kDefaults;
  for (const auto &sw : switches)
    properties[sw.id] =
        g_param_spec_boolean(sw.name, sw.nick, sw.blurb, *bool_field(defaults, sw.id), rw);
  properties[PROP_TRAIL_LENGTH] =
      g_param_spec_uint("trail-length", "Trail length", "Positions kept per track for its trail", 1,
                        1000, ov::kDefaults.trail_length, rw);
  properties[PROP_COLOR_BY] = g_param_spec_enum(
      "color-by", "Colour by", "What a box's colour follows",
      gst_detect_overlay_color_by_get_type(), static_cast<gint>(ov::kDefaults.color_by), rw);
  properties[PROP_THICKNESS] = g_param_spec_int(
      "thickness", "Thickness", "Line thickness in pixels", 1, 20, ov::kDefaults.thickness, rw);
  properties[PROP_FONT_SCALE] = g_param_spec_double("font-scale", "Font scale", "Label text scale",
                                                    0.2, 4.0, ov::kDefaults.font_scale, rw);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics",
      "frames (since start), dropped-upstream (the sum of the running totals the dropqueues "
      "upstream announced in band), upstream-queues (how many announced)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties(gobject_class, N_PROPS, properties);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "Detection overlay", "Filter/Effect/Video",
      "Draws detections, tracks, speeds, trails, counting lines and a HUD onto video",
      "keepup developers");
  trans_class->start = GST_DEBUG_FUNCPTR(gst_detect_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_detect_overlay_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_detect_overlay_sink_event);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_detect_overlay_transform_frame_ip);
  gst_type_mark_as_plugin_api(gst_detect_overlay_color_by_get_type(),
                              static_cast<GstPluginAPIFlags>(0));
}
