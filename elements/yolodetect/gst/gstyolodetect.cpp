// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * SECTION:element-yolodetect
 * @title: yolodetect
 *
 * Runs a YOLO ONNX detector (YOLOv5, YOLOv8, YOLO11 layouts) with OpenCV's DNN module and
 * attaches one `GstVideoRegionOfInterestMeta` per detection to the frame, which passes
 * through unchanged. `roi_type` is the class name; each meta carries a `detection` param
 * structure: label (string), class-id (int), confidence (double), source-pts (guint64, the
 * PTS of the frame the detection was computed on) and fresh (boolean: this frame is the
 * first to carry that inference's result; later frames reuse it until the next one). Built against
 * gstreamer-analytics-1.0 >= 1.24, an object-detection mtd is added to a `GstAnalyticsRelationMeta`
 * as well.
 *
 * Models: `model` is an .onnx file. Stock Ultralytics exports do not load on OpenCV 4.6;
 * with `model-fixups=auto` (default) the graph is rewritten in memory first (shape
 * arithmetic folded for the static input, sized Splits turned into Slices, constants
 * broadcast over anchors materialised); `keepup-onnx-fix` does the same offline. Class
 * names come from `labels`, else the model's metadata (Ultralytics `names`), else COCO-80
 * when the model has 80 classes, else `class<N>`.
 *
 * Threads: with `async=false` the streaming thread runs inference on every `interval`-th
 * frame and the frames between reuse the last detections (fresh=false). With `async=true` a
 * worker thread owns the network; the streaming thread only letterboxes the frame into the
 * worker's one-slot mailbox (replacing a frame still waiting, counted as dropped-inferences)
 * and leaves at once with the newest finished detections. Frames are never held, so the
 * stream keeps its rate whatever the model costs. OpenCV's thread count (`threads`) is
 * process-wide in OpenCV 4.6: the last element to set it wins.
 *
 * The `stats` property (`application/x-yolodetect-stats`, zeros when stopped): frames,
 * inferences, skipped (frames not submitted because of `interval`), fresh (frames that
 * first carry an inference's result), reused (frames carrying an older result, or none yet),
 * dropped-inferences (async frames replaced before the worker took them), inference-ms-mean
 * and inference-ms-p95 (last 256 inferences, network only), last-detections, input-size,
 * classes, layout, fixups (rewrites applied to the model), skipped-static (frames due for
 * inference that the motion gate found still), motion-refreshes (still frames inferred because
 * max-skip-time was up), motion-ms-mean (the gate's time per decision).
 *
 * Motion gate (`motion-gate=true`): on a frame due by `interval`, the mean luma of 16x16 cells
 * (inside `motion-roi` when set) is compared with the last inferred frame's; when no cell moved
 * more than `motion-threshold` (raised above the frame's own noise) the frame is not inferred
 * and reuses the last result exactly like an interval-skipped frame (fresh=false on the
 * detections and on the inference meta, whose `motion-gate` field says first / motion / hold /
 * refresh / still), so objecttrack predicts. Frames are still inferred for `motion-hold-time`
 * after motion (and after the first frame), and at least every `max-skip-time` of PTS time.
 *
 * Errors: no model, or a `model` / `labels` path that is missing, unreadable or a directory:
 * RESOURCE/NOT_FOUND; not ONNX, an output that is not a YOLO tensor, or a model OpenCV cannot
 * run: LIBRARY/INIT with what failed and how to export; a labels file with no names (empty,
 * or only comments and blank lines) or not one name per model class, a `classes` entry that
 * is empty, unknown or not a class id in range (decimal only), a wrong `input-size`:
 * RESOURCE/SETTINGS. The message names the file or the entry. Unsupported formats are
 * refused at caps negotiation.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! videoconvert ! \
 *     yolodetect model=models/keepup-traffic-320.onnx async=true ! fakesink
 * ]|
 */
#include "gstyolodetect.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gst/video/gstvideometa.h>
#include <gst/video/video.h>
#ifdef KEEPUP_HAVE_GST_ANALYTICS
#include <gst/analytics/analytics.h>
#endif

#include "callback_guard.hpp"
#include "analytics_contract.hpp"
#include "latest_worker.hpp"
#include "video_frame_view.hpp"
#include "yolo_engine.hpp"
#include "yolo_settings.hpp"

GST_DEBUG_CATEGORY_STATIC(yolodetect_debug);
GST_DEBUG_CATEGORY_STATIC(yolodetect_dataflow);
#define GST_CAT_DEFAULT yolodetect_debug

namespace yolo = keepup::yolo;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_LABELS,
  PROP_INPUT_SIZE,
  PROP_CONF_THRESHOLD,
  PROP_NMS_THRESHOLD,
  PROP_CLASSES,
  PROP_MAX_DETECTIONS,
  PROP_LAYOUT,
  PROP_INTERVAL,
  PROP_ASYNC,
  PROP_THREADS,
  PROP_MODEL_FIXUPS,
  PROP_MOTION_GATE,
  PROP_MAX_SKIP_TIME,
  PROP_MOTION_THRESHOLD,
  PROP_MOTION_HOLD_TIME,
  PROP_MOTION_ROI,
  PROP_STATS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

// What one inference produced, with the frame it was computed on.
struct DetectResult {
  std::vector<yolo::Detection> detections;
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  int frame_width = 0, frame_height = 0;
  std::uint64_t serial = 0;
};

struct AsyncJob {
  yolo::PreparedFrame frame;
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  std::uint64_t serial = 0;
};

// Between start and stop only.
struct Running {
  yolo::Settings settings; // frozen at start
  std::unique_ptr<yolo::YoloEngine> engine;
  std::unique_ptr<yolo::LatestWorker<AsyncJob, DetectResult>> worker;
  yolo::PreparedFrame scratch; // sync mode's reusable letterbox buffer
  std::optional<DetectResult> last;
  std::uint64_t next_serial = 1;
  std::uint64_t last_attached_serial = 0;
  std::atomic<bool> worker_failed{false};
  std::unique_ptr<yolo::MotionGate> gate; // with motion-gate=true

  std::mutex stats_lock; // guards everything below: the stats reader runs on any thread
  yolo::LatencyWindow latency;
  guint64 frames = 0, inferences = 0, skipped = 0, fresh = 0, reused = 0;
  guint64 skipped_static = 0, motion_refreshes = 0;
  yolo::LatencyWindow gate_latency;
  guint last_detections = 0;
};

struct YoloDetectPrivate {
  std::mutex lock; // settings and the running pointer
  yolo::Settings settings;
  std::shared_ptr<Running> run;
};

struct _GstYoloDetect {
  GstVideoFilter parent;
  YoloDetectPrivate *priv;
};

#define gst_yolo_detect_parent_class parent_class
G_DEFINE_TYPE(GstYoloDetect, gst_yolo_detect, GST_TYPE_VIDEO_FILTER)

GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(yolodetect, "yolodetect", GST_RANK_NONE, GST_TYPE_YOLO_DETECT,
                                      GST_DEBUG_CATEGORY_INIT(yolodetect_debug, "yolodetect", 0,
                                                              "yolodetect element");
                                      GST_DEBUG_CATEGORY_INIT(yolodetect_dataflow,
                                                              "yolodetect_dataflow", 0,
                                                              "yolodetect per-frame work"));

#define YOLO_FORMATS "{ BGR, BGRx, BGRA, RGB, RGBx, RGBA, I420, NV12 }"
static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(YOLO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(YOLO_FORMATS)));

GType gst_yolo_detect_layout_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(yolo::Layout::automatic), "Detect from the output shape", "auto"},
      {static_cast<gint>(yolo::Layout::v5), "[1, N, 5+C]: boxes, objectness, class scores", "v5"},
      {static_cast<gint>(yolo::Layout::v8), "[1, 4+C, N]: boxes, class scores (YOLOv8/11)", "v8"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstYoloDetectLayout", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_yolo_detect_fixups_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(yolo::Fixups::automatic), "Rewrite the graph where OpenCV 4.6 needs it",
       "auto"},
      {static_cast<gint>(yolo::Fixups::none), "Load the model as it is", "none"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstYoloDetectFixups", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static std::shared_ptr<Running> running(GstYoloDetect *self) {
  std::lock_guard<std::mutex> lk(self->priv->lock);
  return self->priv->run;
}

static void record_inference(Running &run, double ms, std::size_t count) {
  std::lock_guard<std::mutex> lk(run.stats_lock);
  run.latency.add(ms);
  ++run.inferences;
  run.last_detections = static_cast<guint>(count);
}

static void attach_metas(GstBuffer *buf, const DetectResult &result, bool fresh, int width,
                         int height, const std::vector<std::string> &names) {
  // Detections from a frame of another size (a caps change) are scaled to this one.
  const double sx = result.frame_width > 0 ? static_cast<double>(width) / result.frame_width : 1;
  const double sy = result.frame_height > 0 ? static_cast<double>(height) / result.frame_height : 1;
#ifdef KEEPUP_HAVE_GST_ANALYTICS
  GstAnalyticsRelationMeta *relations =
      result.detections.empty() ? nullptr : gst_buffer_add_analytics_relation_meta(buf);
#endif
  for (const auto &d : result.detections) {
    const std::string label = yolo::class_label(names, d.class_id);
    const auto x = static_cast<guint>(std::lround(d.box.x1 * sx));
    const auto y = static_cast<guint>(std::lround(d.box.y1 * sy));
    const auto w = static_cast<guint>(std::max(1L, std::lround(d.box.width() * sx)));
    const auto h = static_cast<guint>(std::max(1L, std::lround(d.box.height() * sy)));
    GstVideoRegionOfInterestMeta *meta =
        gst_buffer_add_video_region_of_interest_meta(buf, label.c_str(), x, y, w, h);
    keepup::contract::DetectionParam param;
    param.label = label;
    param.class_id = d.class_id;
    param.confidence = static_cast<double>(d.confidence);
    param.source_pts = static_cast<guint64>(result.pts);
    param.fresh = fresh;
    keepup::contract::write(meta, param);
#ifdef KEEPUP_HAVE_GST_ANALYTICS
    GstAnalyticsODMtd od;
    gst_analytics_relation_meta_add_od_mtd(
        relations, g_quark_from_string(label.c_str()), static_cast<gint>(x), static_cast<gint>(y),
        static_cast<gint>(w), static_cast<gint>(h), d.confidence, &od);
#endif
  }
}

// The motion gate's decision for a frame due by interval, timed and counted. Time is the PTS,
// like objecttrack's max-lost-time; frames without one use the monotonic clock.
static yolo::GateDecision gate_decide(Running &run, const keepup::FrameView &view,
                                      GstClockTime pts) {
  const std::uint64_t now_ns = GST_CLOCK_TIME_IS_VALID(pts)
                                   ? static_cast<std::uint64_t>(pts)
                                   : static_cast<std::uint64_t>(g_get_monotonic_time()) * 1000U;
  const auto t0 = std::chrono::steady_clock::now();
  const yolo::GateDecision decision = run.gate->decide(view, now_ns);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> lk(run.stats_lock);
  run.gate_latency.add(ms);
  if (decision == yolo::GateDecision::still)
    ++run.skipped_static;
  else if (decision == yolo::GateDecision::refresh)
    ++run.motion_refreshes;
  return decision;
}

static GstFlowReturn gst_yolo_detect_transform_ip(GstBaseTransform *trans, GstBuffer *buf) {
  auto *self = GST_YOLO_DETECT(trans);
  auto *filter = GST_VIDEO_FILTER(trans);
  try {
    std::shared_ptr<Running> run = running(self);
    if (!run || !run->engine) {
      GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, ("yolodetect has no model loaded"), (nullptr));
      return GST_FLOW_ERROR;
    }
    if (run->worker_failed.load()) // the worker posted the error already
      return GST_FLOW_ERROR;
    const GstClockTime pts = GST_BUFFER_PTS(buf);
    guint64 frame_index;
    {
      std::lock_guard<std::mutex> lk(run->stats_lock);
      frame_index = run->frames++;
    }
    const bool due_by_interval = frame_index % std::max(1U, run->settings.schedule.interval) == 0;
    bool due = due_by_interval;
    const char *gate_says = nullptr;
    const int width = GST_VIDEO_INFO_WIDTH(&filter->in_info);
    const int height = GST_VIDEO_INFO_HEIGHT(&filter->in_info);

    std::optional<DetectResult> result;
    bool fresh = false;
    if (due) {
      GstVideoFrame frame;
      if (!gst_video_frame_map(&frame, &filter->in_info, buf, GST_MAP_READ)) {
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Cannot map the video frame"), (nullptr));
        return GST_FLOW_ERROR;
      }
      // Unmapped on every path, a throw from prepare() included.
      std::unique_ptr<GstVideoFrame, void (*)(GstVideoFrame *)> mapped(&frame,
                                                                       gst_video_frame_unmap);
      const keepup::FrameView view = keepup::gstutil::frame_view(&frame);
      if (run->gate) {
        const yolo::GateDecision decision = gate_decide(*run, view, pts);
        gate_says = yolo::gate_decision_name(decision);
        due = decision != yolo::GateDecision::still;
      }
      if (!due) {
        // A still frame: nothing new to infer; it reuses the last result (fresh=false).
      } else if (run->worker) {
        AsyncJob job;
        run->engine->prepare(view, job.frame);
        mapped.reset();
        job.pts = pts;
        job.serial = run->next_serial++;
        run->worker->submit(std::move(job));
      } else {
        run->engine->prepare(view, run->scratch);
        mapped.reset();
        const auto t0 = std::chrono::steady_clock::now();
        DetectResult r;
        r.detections = run->engine->infer(run->scratch);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        r.pts = pts;
        r.frame_width = width;
        r.frame_height = height;
        r.serial = run->next_serial++;
        record_inference(*run, ms, r.detections.size());
        run->last = r;
        result = std::move(r);
      }
    }
    if (run->worker)
      result = run->worker->latest();
    else if (!result)
      result = run->last;
    // Fresh: the first frame to carry this inference's detections.
    fresh = result && result->serial != run->last_attached_serial;
    if (result)
      run->last_attached_serial = result->serial;
    double last_ms = 0;
    {
      std::lock_guard<std::mutex> lk(run->stats_lock);
      if (!due_by_interval)
        ++run->skipped;
      if (fresh)
        ++run->fresh;
      else
        ++run->reused;
      last_ms = run->latency.last();
    }
    if (result)
      attach_metas(buf, *result, fresh, width, height, run->engine->info().names);
    // Frame-level: whether this frame carries a new result, even one with no detections.
    keepup::contract::InferenceMeta info;
    info.fresh = fresh;
    info.has_result = result.has_value();
    info.source_pts = static_cast<guint64>(result ? result->pts : GST_CLOCK_TIME_NONE);
    info.inference_ms = last_ms;
    info.detections = static_cast<guint>(result ? result->detections.size() : 0);
    if (gate_says) // why this frame was or was not inferred
      info.motion_gate = gate_says;
    keepup::contract::write(buf, info);
    GST_CAT_LOG_OBJECT(yolodetect_dataflow, self,
                       "frame %" G_GUINT64_FORMAT " pts %" GST_TIME_FORMAT ": %zu detections (%s)",
                       frame_index, GST_TIME_ARGS(pts), result ? result->detections.size() : 0,
                       fresh ? "fresh" : "reused");
    if (gate_says)
      GST_CAT_LOG_OBJECT(yolodetect_dataflow, self, "motion gate: %s", gate_says);
    return GST_FLOW_OK;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, FAILED, ("Detection failed"), ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
}

static gboolean start_impl(GstBaseTransform *trans) {
  auto *self = GST_YOLO_DETECT(trans);
  yolo::Settings settings;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    settings = self->priv->settings;
  }
  auto run = std::make_shared<Running>();
  run->settings = settings;
  try {
    yolo::set_opencv_threads(settings.schedule.threads);
    run->engine = std::make_unique<yolo::YoloEngine>(settings.model, settings.decode);
    if (settings.motion.enabled) {
      try {
        run->gate = std::make_unique<yolo::MotionGate>(settings.motion);
      } catch (const std::invalid_argument &e) { // a bad motion-roi, named in the message
        throw yolo::SettingsInvalid(e.what());
      }
    }
  } catch (const yolo::ModelNotFound &e) { // the model or labels file, named in the message
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("yolodetect: %s", e.what()), ("%s", e.what()));
    return FALSE;
  } catch (const yolo::SettingsInvalid &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid yolodetect settings: %s", e.what()),
                      ("%s", e.what()));
    return FALSE;
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Cannot use the detection model"), ("%s", e.what()));
    return FALSE;
  }
  const auto &info = run->engine->info();
  for (const auto &change : info.changes)
    GST_INFO_OBJECT(self, "model rewrite %s: %s", change.kind.c_str(), change.detail.c_str());
  GST_INFO_OBJECT(self, "model %s: input %d, layout %s, %d classes (names from %s), %zu rewrites",
                  settings.model.model.c_str(), info.input_size,
                  yolo::layout_name(info.layout.layout), info.layout.classes,
                  info.names_source.c_str(), info.changes.size());

  if (settings.schedule.async) {
    // The worker keeps a weak pointer: the element's Running may go away while it works.
    std::weak_ptr<Running> weak = run;
    GstElement *element = GST_ELEMENT(self);
    run->worker = std::make_unique<yolo::LatestWorker<AsyncJob, DetectResult>>(
        [weak, element](AsyncJob &job) -> DetectResult {
          auto r = weak.lock();
          if (!r)
            throw std::runtime_error("stopped");
          try {
            const auto t0 = std::chrono::steady_clock::now();
            DetectResult result;
            result.detections = r->engine->infer(job.frame);
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            result.pts = job.pts;
            result.frame_width = job.frame.frame_width;
            result.frame_height = job.frame.frame_height;
            result.serial = job.serial;
            record_inference(*r, ms, result.detections.size());
            return result;
          } catch (const std::exception &e) {
            if (!r->worker_failed.exchange(true))
              GST_ELEMENT_ERROR(element, LIBRARY, FAILED, ("Detection failed"), ("%s", e.what()));
            throw;
          }
        });
  }
  std::lock_guard<std::mutex> lk(self->priv->lock);
  self->priv->run = std::move(run);
  return TRUE;
}

static gboolean gst_yolo_detect_start(GstBaseTransform *trans) {
  // The engine's errors are mapped inside; this catches the rest (the async worker's thread).
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
                                "yolodetect: cannot start", FALSE,
                                [&] { return start_impl(trans); });
}

static gboolean stop_impl(GstBaseTransform *trans) {
  auto *self = GST_YOLO_DETECT(trans);
  std::shared_ptr<Running> run;
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    run = std::move(self->priv->run);
  }
  if (run && run->worker)
    run->worker->stop(); // joins: the worker holds no lock of ours while it runs
  return TRUE;
}

static gboolean gst_yolo_detect_stop(GstBaseTransform *trans) {
  return keepup::gstutil::guard(GST_ELEMENT(trans), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SHUTDOWN,
                                "yolodetect: cannot stop", FALSE, [&] { return stop_impl(trans); });
}

static gboolean gst_yolo_detect_set_info(GstVideoFilter *filter, GstCaps *, GstVideoInfo *in_info,
                                         GstCaps *, GstVideoInfo *) {
  GST_DEBUG_OBJECT(filter, "negotiated %s %dx%d", GST_VIDEO_INFO_NAME(in_info),
                   GST_VIDEO_INFO_WIDTH(in_info), GST_VIDEO_INFO_HEIGHT(in_info));
  return TRUE;
}

static GstStructure *make_stats(GstYoloDetect *self) {
  std::shared_ptr<Running> run = running(self);
  GstStructure *s = gst_structure_new_empty("application/x-yolodetect-stats");
  guint64 frames = 0, inferences = 0, skipped = 0, fresh = 0, reused = 0, dropped = 0;
  guint64 skipped_static = 0, refreshes = 0;
  gdouble mean = 0, p95 = 0, gate_mean = 0;
  guint last = 0;
  gint input_size = 0, classes = 0;
  guint fixups = 0;
  const char *layout = "none";
  if (run) {
    {
      std::lock_guard<std::mutex> lk(run->stats_lock);
      frames = run->frames;
      inferences = run->inferences;
      skipped = run->skipped;
      fresh = run->fresh;
      reused = run->reused;
      skipped_static = run->skipped_static;
      refreshes = run->motion_refreshes;
      gate_mean = run->gate_latency.mean();
      mean = run->latency.mean();
      p95 = run->latency.p95();
      last = run->last_detections;
    }
    if (run->worker)
      dropped = run->worker->counters().replaced;
    const auto &info = run->engine->info();
    input_size = info.input_size;
    classes = info.layout.classes;
    layout = yolo::layout_name(info.layout.layout);
    fixups = static_cast<guint>(info.changes.size());
  }
  gst_structure_set(s, "frames", G_TYPE_UINT64, frames, "inferences", G_TYPE_UINT64, inferences,
                    "skipped", G_TYPE_UINT64, skipped, "fresh", G_TYPE_UINT64, fresh, "reused",
                    G_TYPE_UINT64, reused, "dropped-inferences", G_TYPE_UINT64, dropped,
                    "inference-ms-mean", G_TYPE_DOUBLE, mean, "inference-ms-p95", G_TYPE_DOUBLE,
                    p95, "last-detections", G_TYPE_UINT, last, "input-size", G_TYPE_INT, input_size,
                    "classes", G_TYPE_INT, classes, "layout", G_TYPE_STRING, layout, "fixups",
                    G_TYPE_UINT, fixups, "skipped-static", G_TYPE_UINT64, skipped_static,
                    "motion-refreshes", G_TYPE_UINT64, refreshes, "motion-ms-mean", G_TYPE_DOUBLE,
                    gate_mean, nullptr);
  return s;
}

static void set_property_impl(GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec) {
  auto *self = GST_YOLO_DETECT(object);
  std::lock_guard<std::mutex> lk(self->priv->lock);
  yolo::Settings &s = self->priv->settings;
  auto str = [&]() {
    return std::string(g_value_get_string(value) ? g_value_get_string(value) : "");
  };
  switch (prop_id) {
  case PROP_MODEL:
    s.model.model = str();
    break;
  case PROP_LABELS:
    s.model.labels = str();
    break;
  case PROP_INPUT_SIZE:
    s.model.input_size = g_value_get_int(value);
    break;
  case PROP_CONF_THRESHOLD:
    s.decode.conf_threshold = g_value_get_double(value);
    break;
  case PROP_NMS_THRESHOLD:
    s.decode.nms_threshold = g_value_get_double(value);
    break;
  case PROP_CLASSES:
    s.model.classes = str();
    break;
  case PROP_MAX_DETECTIONS:
    s.decode.max_detections = g_value_get_int(value);
    break;
  case PROP_LAYOUT:
    s.model.layout = static_cast<yolo::Layout>(g_value_get_enum(value));
    break;
  case PROP_INTERVAL:
    s.schedule.interval = g_value_get_uint(value);
    break;
  case PROP_ASYNC:
    s.schedule.async = g_value_get_boolean(value);
    break;
  case PROP_THREADS:
    s.schedule.threads = g_value_get_int(value);
    break;
  case PROP_MODEL_FIXUPS:
    s.model.fixups = static_cast<yolo::Fixups>(g_value_get_enum(value));
    break;
  case PROP_MOTION_GATE:
    s.motion.enabled = g_value_get_boolean(value);
    break;
  case PROP_MAX_SKIP_TIME:
    s.motion.max_skip_ns = g_value_get_uint64(value);
    break;
  case PROP_MOTION_THRESHOLD:
    s.motion.threshold = g_value_get_double(value);
    break;
  case PROP_MOTION_HOLD_TIME:
    s.motion.hold_ns = g_value_get_uint64(value);
    break;
  case PROP_MOTION_ROI:
    s.motion.roi = str();
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_yolo_detect_set_property(GObject *object, guint prop_id, const GValue *value,
                                         GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "set_property",
                             [&] { set_property_impl(object, prop_id, value, pspec); });
}

static void get_property_impl(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
  auto *self = GST_YOLO_DETECT(object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(self));
    return;
  }
  std::lock_guard<std::mutex> lk(self->priv->lock);
  const yolo::Settings &s = self->priv->settings;
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string(value, s.model.model.c_str());
    break;
  case PROP_LABELS:
    g_value_set_string(value, s.model.labels.c_str());
    break;
  case PROP_INPUT_SIZE:
    g_value_set_int(value, s.model.input_size);
    break;
  case PROP_CONF_THRESHOLD:
    g_value_set_double(value, s.decode.conf_threshold);
    break;
  case PROP_NMS_THRESHOLD:
    g_value_set_double(value, s.decode.nms_threshold);
    break;
  case PROP_CLASSES:
    g_value_set_string(value, s.model.classes.c_str());
    break;
  case PROP_MAX_DETECTIONS:
    g_value_set_int(value, s.decode.max_detections);
    break;
  case PROP_LAYOUT:
    g_value_set_enum(value, static_cast<gint>(s.model.layout));
    break;
  case PROP_INTERVAL:
    g_value_set_uint(value, s.schedule.interval);
    break;
  case PROP_ASYNC:
    g_value_set_boolean(value, s.schedule.async);
    break;
  case PROP_THREADS:
    g_value_set_int(value, s.schedule.threads);
    break;
  case PROP_MODEL_FIXUPS:
    g_value_set_enum(value, static_cast<gint>(s.model.fixups));
    break;
  case PROP_MOTION_GATE:
    g_value_set_boolean(value, s.motion.enabled);
    break;
  case PROP_MAX_SKIP_TIME:
    g_value_set_uint64(value, s.motion.max_skip_ns);
    break;
  case PROP_MOTION_THRESHOLD:
    g_value_set_double(value, s.motion.threshold);
    break;
  case PROP_MOTION_HOLD_TIME:
    g_value_set_uint64(value, s.motion.hold_ns);
    break;
  case PROP_MOTION_ROI:
    g_value_set_string(value, s.motion.roi.c_str());
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_yolo_detect_get_property(GObject *object, guint prop_id, GValue *value,
                                         GParamSpec *pspec) {
  keepup::gstutil::guard_log(GST_CAT_DEFAULT, object, "get_property",
                             [&] { get_property_impl(object, prop_id, value, pspec); });
}

static void gst_yolo_detect_finalize(GObject *object) {
  auto *self = GST_YOLO_DETECT(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_yolo_detect_init(GstYoloDetect *self) {
  self->priv = new YoloDetectPrivate();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}

static void gst_yolo_detect_class_init(GstYoloDetectClass *klass) {
  auto *gobject_class = G_OBJECT_CLASS(klass);
  auto *element_class = GST_ELEMENT_CLASS(klass);
  auto *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_yolo_detect_set_property;
  gobject_class->get_property = gst_yolo_detect_get_property;
  gobject_class->finalize = gst_yolo_detect_finalize;

  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_READY);
  properties[PROP_MODEL] =
      g_param_spec_string("model", "Model", "Path of the YOLO .onnx model", nullptr, ready);
  properties[PROP_LABELS] = g_param_spec_string(
      "labels", "Labels",
      "File with one class name per line (default: the model's metadata, COCO-80, class<N>)",
      nullptr, ready);
  properties[PROP_INPUT_SIZE] = g_param_spec_int(
      "input-size", "Input size",
      "Network input size; 0 = the model's own (a static model's size must not be changed)", 0,
      4096, yolo::kDefaults.model.input_size, ready);
  properties[PROP_CONF_THRESHOLD] = g_param_spec_double(
      "conf-threshold", "Confidence threshold", "Minimum confidence of a detection", 0.0, 1.0,
      yolo::kDefaults.decode.conf_threshold, ready);
  properties[PROP_NMS_THRESHOLD] =
      g_param_spec_double("nms-threshold", "NMS threshold",
                          "IoU above which a weaker box of the same class is suppressed", 0.0, 1.0,
                          yolo::kDefaults.decode.nms_threshold, ready);
  properties[PROP_CLASSES] =
      g_param_spec_string("classes", "Classes",
                          "Comma list of class names or ids to keep (empty = all)", nullptr, ready);
  properties[PROP_MAX_DETECTIONS] =
      g_param_spec_int("max-detections", "Max detections", "Detections kept per frame", 1, 100000,
                       yolo::kDefaults.decode.max_detections, ready);
  properties[PROP_LAYOUT] = g_param_spec_enum(
      "layout", "Layout", "Output tensor layout", gst_yolo_detect_layout_get_type(),
      static_cast<gint>(yolo::kDefaults.model.layout), ready);
  properties[PROP_INTERVAL] = g_param_spec_uint(
      "interval", "Interval", "Run inference on every Nth frame; the others reuse detections", 1,
      G_MAXUINT, yolo::kDefaults.schedule.interval, ready);
  properties[PROP_ASYNC] = g_param_spec_boolean(
      "async", "Async",
      "Infer on a worker thread on the newest frame; frames never wait for the network",
      yolo::kDefaults.schedule.async, ready);
  properties[PROP_THREADS] = g_param_spec_int(
      "threads", "Threads", "OpenCV threads (process-wide in OpenCV; 0 = OpenCV's default)", 0, 256,
      yolo::kDefaults.schedule.threads, ready);
  properties[PROP_MODEL_FIXUPS] = g_param_spec_enum(
      "model-fixups", "Model fixups",
      "Rewrite ONNX graphs that OpenCV 4.6 cannot load (Ultralytics v8/11 exports)",
      gst_yolo_detect_fixups_get_type(), static_cast<gint>(yolo::kDefaults.model.fixups), ready);
  properties[PROP_MOTION_GATE] = g_param_spec_boolean(
      "motion-gate", "Motion gate",
      "Skip inference while the scene is still (downscaled luma difference against the last "
      "inferred frame); skipped frames carry fresh=false",
      yolo::kDefaults.motion.enabled, ready);
  properties[PROP_MAX_SKIP_TIME] = g_param_spec_uint64(
      "max-skip-time", "Max skip time",
      "With motion-gate: infer at least this often (ns of PTS time); keep it at or below "
      "objecttrack's max-lost-time",
      1, G_MAXUINT64, yolo::kDefaults.motion.max_skip_ns, ready);
  properties[PROP_MOTION_THRESHOLD] = g_param_spec_double(
      "motion-threshold", "Motion threshold",
      "With motion-gate: luma levels a 16x16 cell's mean must change (raised above the frame's "
      "noise automatically)",
      0.0, 255.0, yolo::kDefaults.motion.threshold, ready);
  properties[PROP_MOTION_HOLD_TIME] = g_param_spec_uint64(
      "motion-hold-time", "Motion hold time",
      "With motion-gate: keep inferring this long (ns) after the last motion, so a tracker "
      "sees objects stop",
      0, G_MAXUINT64, yolo::kDefaults.motion.hold_ns, ready);
  properties[PROP_MOTION_ROI] = g_param_spec_string(
      "motion-roi", "Motion ROI",
      "With motion-gate: polygon \"x,y;x,y;...\" where motion counts (objecttrack's roi syntax; "
      "empty = the whole frame). Detection still covers the whole frame",
      nullptr, ready);
  properties[PROP_STATS] = g_param_spec_boxed(
      "stats", "Statistics", "application/x-yolodetect-stats (see the element documentation)",
      GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties(gobject_class, N_PROPS, properties);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "YOLO detector", "Filter/Analyzer/Video",
      "Detects objects with a YOLO ONNX model on OpenCV DNN and attaches region-of-interest "
      "metas; keeps the stream's rate with interval and async inference",
      "keepup developers");

  trans_class->start = GST_DEBUG_FUNCPTR(gst_yolo_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_yolo_detect_stop);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_yolo_detect_transform_ip);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_yolo_detect_set_info);

  gst_type_mark_as_plugin_api(gst_yolo_detect_layout_get_type(), static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(gst_yolo_detect_fixups_get_type(), static_cast<GstPluginAPIFlags>(0));
}
