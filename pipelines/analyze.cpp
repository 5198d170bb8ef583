// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-analyze: decode -> dropqueue -> yolodetect -> objecttrack -> detectoverlay -> x264enc
// -> mpegtsmux -> tsrecordsink, through the GStreamer API. Prints a progress line every second
// and a summary; writes per-frame tracks as JSON lines with --meta.
//
//   keepup-analyze test [--seconds 20] [--gt gt.txt]     the built-in generated traffic scene
//   keepup-analyze FILE|URI [--seconds N]                 anything uridecodebin plays
//   options: --output FILE (default analyze.ts; '-' none) --meta FILE --show
//            --model FILE --interval N --async --threads N --conf X
//            --calibration S --meters-per-pixel X --roi S --lines S
//            --live (test: real-time frames) --drop P (drop a fraction of frames upstream)
//            --size WxH --seed N (test) --quiet --events FILE ('-' = stdout)
//   keepup-analyze --submit redis://HOST [--job-id ID] INPUT [options]   queue a job
//   keepup-analyze --worker redis://HOST [--max-jobs N] [--lease-ms MS] [--name NAME]
//            run queued jobs (analyze_worker.cpp); a job runs through run() below
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>
#include <glib-unix.h>

#include <atomic>
#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <locale.h>
#include <map>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "../elements/objecttrack/gst/track_event_json.hpp"
#include "app_util.hpp"
#include "../elements/metapublish/core/publish_target.hpp"
#include "file_exists.hpp"
#include "analytics_contract.hpp"
#include "analyze_run.hpp"
#include "mot_metrics.hpp"
#include "parse_number.hpp"
#include "traffic_scene.hpp"

namespace {

constexpr int kTestFps = 30;

struct Options {
  std::string input;
  int input_arg = 0; // argv index of the input (a job keeps its options apart from it)
  std::string output = "analyze.ts";
  std::string meta, gt, events;
  std::string publish; // --publish: metapublish's target (a path or a redis:// URI)
  std::string model;
  int seconds = 0; // 0: test 20 s, other inputs until EOS
  int width = 1280, height = 720;
  std::uint64_t seed = 7;
  bool live = false, async = false, show = false, quiet = false, raw = false;
  int interval = 1, threads = 0;
  double conf = 0.25, drop = 0.0, meters_per_pixel = 0.0;
  std::string calibration, roi, lines;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: keepup-analyze test|FILE|URI [options]\n"
      "  --output FILE        annotated MPEG-TS recording (default analyze.ts, '-' = none)\n"
      "  --meta FILE          per-frame tracks as JSON lines\n"
      "  --events FILE        objecttrack events (schema v1) as JSON lines, '-' = stdout\n"
      "  --publish URI        tracks and events through metapublish: redis://[:pw@]host:port/db\n"
      "                       (stream keepup:events:<input name>), or file:PATH / a path\n"
      "  --show               display instead of recording\n"
      "  --seconds N          test: length (default 20); others: stop after N s\n"
      "  --gt FILE            test: MOT ground truth of the generated scene\n"
      "  --size WxH --seed N  test: frame size (default 1280x720) and scene\n"
      "  --live               test: produce frames in real time (30 fps)\n"
      "  --drop P             drop a fraction P of frames before detection\n"
      "  --model FILE         ONNX detector (default: the bundled traffic model)\n"
      "  --interval N --async --threads N --conf X      yolodetect settings\n"
      "  --calibration S --meters-per-pixel X --roi S --lines S   objecttrack settings\n"
      "  --raw                record the input as it is (no analytics): a test clip\n"
      "  --quiet              no progress lines\n"
      "\n"
      "Shared camera jobs (Redis streams keepup:jobs -> keepup:results):\n"
      "  keepup-analyze --submit redis://[:pw@]host[:port][/db] [--job-id ID] INPUT [options]\n"
      "      queue INPUT with these options as a job; prints the job id\n"
      "  keepup-analyze --worker redis://... [--max-jobs N] [--lease-ms MS] [--name NAME]\n"
      "      run queued jobs one at a time; --max-jobs 0 (default) = until SIGTERM; a job\n"
      "      whose worker stops renewing its lease (default 10000 ms) is taken over and run\n"
      "      again from the start; SIGTERM hands the current job back and exits 0\n");
}

std::string default_model() {
  if (const char *env = std::getenv("KEEPUP_MODELS_DIR"))
    return std::string(env) + "/keepup-traffic-320.onnx";
  for (const char *dir : {KEEPUP_SOURCE_MODELS_DIR, KEEPUP_INSTALLED_MODELS_DIR}) {
    const std::string p = std::string(dir) + "/keepup-traffic-320.onnx";
    if (keepup::file_exists(p))
      return p;
  }
  return std::string(KEEPUP_INSTALLED_MODELS_DIR) + "/keepup-traffic-320.onnx";
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "keepup-analyze: %s needs a value\n", a.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    const char *v = nullptr;
    if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    } else if (a == "--live") {
      o.live = true;
    } else if (a == "--async") {
      o.async = true;
    } else if (a == "--show") {
      o.show = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--raw") {
      o.raw = true;
    } else if (a.rfind("--", 0) == 0) {
      if (!(v = value()))
        return false;
      if (a == "--output")
        o.output = v;
      else if (a == "--meta")
        o.meta = v;
      else if (a == "--publish")
        o.publish = v;
      else if (a == "--events")
        o.events = v;
      else if (a == "--gt")
        o.gt = v;
      else if (a == "--model")
        o.model = v;
      else if (a == "--seconds")
        o.seconds = std::atoi(v);
      else if (a == "--seed")
        o.seed = std::strtoull(v, nullptr, 10);
      else if (a == "--interval")
        o.interval = std::atoi(v);
      else if (a == "--threads")
        o.threads = std::atoi(v);
      else if (a == "--conf" || a == "--drop" || a == "--meters-per-pixel") {
        // from_chars, not atof: "0.5" means the same under every locale.
        const auto number = keepup::parse_decimal(v);
        if (!number) {
          std::fprintf(stderr, "keepup-analyze: %s takes a number with a '.' (got '%s')\n",
                       a.c_str(), v);
          return false;
        }
        (a == "--conf" ? o.conf : a == "--drop" ? o.drop : o.meters_per_pixel) = *number;
      } else if (a == "--calibration")
        o.calibration = v;
      else if (a == "--roi")
        o.roi = v;
      else if (a == "--lines")
        o.lines = v;
      else if (a == "--size") {
        if (std::sscanf(v, "%dx%d", &o.width, &o.height) != 2 || o.width < 64 || o.height < 64) {
          std::fprintf(stderr, "keepup-analyze: --size takes WxH, e.g. 1280x720\n");
          return false;
        }
      } else {
        std::fprintf(stderr, "keepup-analyze: unknown option %s\n", a.c_str());
        return false;
      }
    } else if (o.input.empty()) {
      o.input = a;
      o.input_arg = i;
    } else {
      std::fprintf(stderr, "keepup-analyze: one input only (got %s and %s)\n", o.input.c_str(),
                   a.c_str());
      return false;
    }
  }
  if (o.input.empty()) {
    usage();
    return false;
  }
  // These values go into the pipeline description inside "...": a '"' or '\' would end the
  // value early and let the rest be read as more pipeline (a worker runs jobs any Redis client
  // can add), so they are refused.
  const std::pair<const char *, const std::string *> quoted[] = {
      {"the input", &o.input},  {"--output", &o.output}, {"--model", &o.model},
      {"--roi", &o.roi},        {"--lines", &o.lines},   {"--calibration", &o.calibration},
      {"--publish", &o.publish}};
  for (const auto &[name, value] : quoted)
    if (value->find_first_of("\"\\") != std::string::npos) {
      std::fprintf(stderr, "keepup-analyze: %s may not contain '\"' or '\\' (got %s)\n", name,
                   value->c_str());
      return false;
    }
  if (!o.publish.empty()) {
    std::string why;
    if (!keepup::metapublish::parse_target(o.publish, &why)) {
      std::fprintf(stderr, "keepup-analyze: --publish: %s\n", why.c_str());
      return false;
    }
  }
  if (o.raw && (o.output == "-" || o.show || !o.meta.empty())) {
    std::fprintf(stderr, "keepup-analyze: --raw records the input: needs --output FILE\n");
    return false;
  }
  if (o.interval < 1 || o.drop < 0 || o.drop >= 1 || o.seconds < 0) {
    std::fprintf(stderr, "keepup-analyze: --interval >= 1, 0 <= --drop < 1, --seconds >= 0\n");
    return false;
  }
  return true;
}

struct App {
  Options opt;
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  bool failed = false, eos_sent = false;
  gint64 start_us = 0;
  std::atomic<guint64> frames_out{0};
  GstClockTime first_stream_time = GST_CLOCK_TIME_NONE;
  guint64 frames_at_last_progress = 0;
  gint64 last_progress_us = 0;
  std::FILE *meta = nullptr;
  std::FILE *events = nullptr; // objecttrack's event messages, one JSON line each
  int fps_num = kTestFps, fps_den = 1;
  std::map<std::string, std::pair<guint64, guint64>> line_counts;
  std::string error; // the first pipeline error, for a job's result
  bool abandoned = false;
  guint eos_watchdog = 0;
  // test source
  std::unique_ptr<keepup::scene::TrafficScene> scene;
  std::thread feeder;
  std::atomic<bool> stop_feeding{false};
  std::ofstream gt;
};

double elapsed(const App &app) {
  return static_cast<double>(g_get_monotonic_time() - app.start_us) / 1e6;
}

GstElement *by_name(App &app, const char *name) {
  return gst_bin_get_by_name(GST_BIN(app.pipeline), name);
}

template <typename T> T stat_of(App &app, const char *element, const char *field) {
  T v{};
  if (GstElement *e = by_name(app, element)) {
    GstStructure *s = nullptr;
    g_object_get(e, "stats", &s, nullptr);
    if (s) {
      const GValue *gv = gst_structure_get_value(s, field);
      if (gv && G_VALUE_HOLDS_UINT64(gv))
        v = static_cast<T>(g_value_get_uint64(gv));
      else if (gv && G_VALUE_HOLDS_UINT(gv))
        v = static_cast<T>(g_value_get_uint(gv));
      else if (gv && G_VALUE_HOLDS_DOUBLE(gv))
        v = static_cast<T>(g_value_get_double(gv));
      gst_structure_free(s);
    }
    gst_object_unref(e);
  }
  return v;
}

// Renders the generated scene into appsrc: frame n at PTS n/30 s. Live: paced by the clock.
void feed_frames(App *app);

// The ground-truth lines are printf-formatted (format_mot_gt_line): this thread, which writes
// them, formats numbers in the C locale whatever the user's is, so a "12.50" never becomes
// "12,50" inside a comma-separated line.
class CNumericOnThisThread {
public:
  CNumericOnThisThread()
      : c_(newlocale(LC_NUMERIC_MASK, "C", duplocale(LC_GLOBAL_LOCALE))),
        previous_(c_ ? uselocale(c_) : nullptr) {}
  ~CNumericOnThisThread() {
    if (c_) {
      uselocale(previous_);
      freelocale(c_);
    }
  }
  CNumericOnThisThread(const CNumericOnThisThread &) = delete;
  CNumericOnThisThread &operator=(const CNumericOnThisThread &) = delete;

private:
  locale_t c_;
  locale_t previous_;
};

void feed(App *app) {
  CNumericOnThisThread c_numeric;
  try {
    feed_frames(app);
  } catch (const std::exception &e) { // an exception leaving a std::thread ends the process
    keepup::apps::post_error(app->pipeline, "keepup-analyze: generating the test scene", e);
  }
}

void feed_frames(App *app) {
  GstElement *src = by_name(*app, "src");
  const int total = (app->opt.seconds > 0 ? app->opt.seconds : 20) * kTestFps;
  const double mpp = app->scene->metres_per_pixel();
  std::map<std::uint64_t, std::int64_t> ids;
  cv::Mat frame;
  std::vector<keepup::scene::GroundTruth> truth;
  const gint64 t0 = g_get_monotonic_time();
  for (int n = 0; n < total && !app->stop_feeding; ++n) {
    const GstClockTime pts = gst_util_uint64_scale(static_cast<guint64>(n), GST_SECOND, kTestFps);
    if (app->opt.live) {
      const gint64 due = t0 + static_cast<gint64>(pts / 1000);
      const gint64 now = g_get_monotonic_time();
      if (due > now)
        g_usleep(static_cast<gulong>(due - now));
    }
    app->scene->render(static_cast<double>(pts) / 1e9, frame, truth);
    if (app->gt.is_open())
      for (const auto &o : truth) {
        const auto id = ids.emplace(o.id, static_cast<std::int64_t>(ids.size() + 1)).first->second;
        app->gt << keepup::track::format_mot_gt_line(
            n + 1, id, {o.box.x, o.box.y, o.box.x + o.box.width, o.box.y + o.box.height},
            o.visible_fraction >= 0.5F, o.class_id + 1, o.visible_fraction,
            o.speed_px_per_s * mpp * 3.6);
      }
    GstBuffer *buf = gst_buffer_new_allocate(nullptr, frame.total() * 3, nullptr);
    gst_buffer_fill(buf, 0, frame.data, frame.total() * 3);
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = GST_SECOND / kTestFps;
    GST_BUFFER_OFFSET(buf) = static_cast<guint64>(n);
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) != GST_FLOW_OK)
      break; // flushing or shutting down
  }
  if (app->gt.is_open())
    app->gt.flush();
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  gst_object_unref(src);
}

// Per frame after tracking: one JSON line.
void write_frame_line(App &app, GstPad *pad, GstPadProbeInfo *info);

GstPadProbeReturn on_tracked(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  auto &app = *static_cast<App *>(data);
  try {
    write_frame_line(app, pad, info);
  } catch (const std::exception &e) {
    keepup::apps::post_error(app.pipeline, "keepup-analyze: writing the track line", e);
    return GST_PAD_PROBE_REMOVE;
  }
  return GST_PAD_PROBE_OK;
}

void write_frame_line(App &app, GstPad *pad, GstPadProbeInfo *info) {
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  const guint64 n = ++app.frames_out;
  if (n == 1) {
    if (GstCaps *caps = gst_pad_get_current_caps(pad)) {
      gst_structure_get_fraction(gst_caps_get_structure(caps, 0), "framerate", &app.fps_num,
                                 &app.fps_den);
      gst_caps_unref(caps);
      if (app.fps_num <= 0 || app.fps_den <= 0) {
        app.fps_num = kTestFps;
        app.fps_den = 1;
      }
    }
  }
  if (!app.meta)
    return;
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  // Frame numbers count from the start of the stream, so frame N here is frame N of the
  // input (and of MOT ground truth).
  GstClockTime stream_time = pts;
  if (GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
    const GstSegment *segment = nullptr;
    gst_event_parse_segment(ev, &segment);
    if (segment && segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID(pts))
      stream_time = gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts);
    gst_event_unref(ev);
  }
  nlohmann::json line;
  line["pts"] = pts;
  // The generated input's PTS are exact (frame N at (N-1)/30 s). A file's first PTS carries
  // the muxer's offset: there the first frame is frame 1.
  if (app.first_stream_time == GST_CLOCK_TIME_NONE)
    app.first_stream_time = app.scene ? 0 : stream_time;
  const double frame_s = static_cast<double>(app.fps_den) / app.fps_num;
  line["frame"] =
      GST_CLOCK_TIME_IS_VALID(stream_time) && stream_time >= app.first_stream_time
          ? std::llround(static_cast<double>(stream_time - app.first_stream_time) / 1e9 / frame_s) +
                1
          : static_cast<long long>(n);
  if (const auto inference = keepup::contract::read_inference(buf))
    line["fresh"] = inference->fresh;
  nlohmann::json objects = nlohmann::json::array();
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    nlohmann::json o;
    o["label"] = g_quark_to_string(roi->roi_type);
    o["box"] = {roi->x, roi->y, roi->w, roi->h};
    if (const auto d = keepup::contract::read_detection(roi)) {
      if (d->confidence)
        o["confidence"] = std::round(*d->confidence * 1000) / 1000;
      if (d->class_id)
        o["class_id"] = *d->class_id;
    }
    if (const auto t = keepup::contract::read_tracking(roi)) {
      if (t->track_id)
        o["id"] = *t->track_id;
      if (t->speed_kmh)
        o["speed_kmh"] = std::round(*t->speed_kmh * 10) / 10;
      if (t->speed_uncertainty_kmh)
        o["speed_uncertainty_kmh"] = std::round(*t->speed_uncertainty_kmh * 10) / 10;
      o["predicted"] = t->predicted;
      if (!t->state.empty())
        o["state"] = t->state;
    }
    objects.push_back(o);
  }
  line["objects"] = objects;
  // Labels come from the user's model or labels file: bytes that are not UTF-8 are replaced
  // rather than thrown on.
  std::fprintf(app.meta, "%s\n",
               line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void progress(App &app) {
  const gint64 now = g_get_monotonic_time();
  const guint64 frames = app.frames_out;
  const double dt = static_cast<double>(now - app.last_progress_us) / 1e6;
  const double fps = dt > 0 ? static_cast<double>(frames - app.frames_at_last_progress) / dt : 0;
  app.frames_at_last_progress = frames;
  app.last_progress_us = now;
  std::printf(
      "[%6.1f s] frames %" G_GUINT64_FORMAT " (%.1f fps) tracks %u active / %" G_GUINT64_FORMAT
      " total, inference %.1f ms, dropped upstream %" G_GUINT64_FORMAT "\n",
      elapsed(app), frames, fps, stat_of<guint>(app, "track", "active-tracks"),
      stat_of<guint64>(app, "track", "total-tracks"),
      stat_of<double>(app, "det", "inference-ms-mean"), stat_of<guint64>(app, "dq", "dropped"));
  std::fflush(stdout);
}

void send_eos(App &app) {
  if (app.eos_sent)
    return;
  app.eos_sent = true;
  app.stop_feeding = true;
  app.eos_watchdog = keepup::apps::send_eos_with_watchdog(app.pipeline, app.loop, &app.failed, 60,
                                                          "keepup-analyze");
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data) {
  auto &app = *static_cast<App *>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    std::fprintf(stderr, "keepup-analyze: error from %s: %s\n%s\n",
                 GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message, dbg ? dbg : "");
    if (app.error.empty())
      app.error =
          std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))).append(": ").append(err->message);
    g_clear_error(&err);
    g_free(dbg);
    app.failed = true;
    app.stop_feeding = true;
    g_main_loop_quit(app.loop);
    break;
  }
  case GST_MESSAGE_WARNING: { // e.g. metapublish: Redis went away (once per outage)
    GError *err = nullptr;
    gst_message_parse_warning(msg, &err, nullptr);
    std::fprintf(stderr, "keepup-analyze: warning from %s: %s\n",
                 GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err ? err->message : "");
    g_clear_error(&err);
    break;
  }
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (s && gst_structure_has_name(s, "metapublish-recovered")) {
      guint64 down_ns = 0, dropped = 0;
      gst_structure_get_uint64(s, "down-ns", &down_ns);
      gst_structure_get_uint64(s, "dropped", &dropped);
      std::fprintf(stderr,
                   "keepup-analyze: %s: publishing again after %.1f s away, %" G_GUINT64_FORMAT
                   " records dropped meanwhile\n",
                   GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), static_cast<double>(down_ns) / 1e9,
                   dropped);
    }
    if (app.events) {
      const std::string line = keepup::trackevents::event_json_line(s);
      if (!line.empty())
        std::fprintf(app.events, "%s\n", line.c_str());
    }
    if (s && gst_structure_has_name(s, "objecttrack-line-crossed")) {
      int dir = 0;
      gst_structure_get_int(s, "direction", &dir);
      auto &c = app.line_counts[gst_structure_get_string(s, "line")];
      ++(dir > 0 ? c.first : c.second);
    }
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(app.loop);
    break;
  default:
    break;
  }
  return TRUE;
}

// A number for the launch line: GLib's formatter ignores the locale, std::to_string does not
// ("0,250000" under de_DE, which gst_parse_launch refuses).
std::string launch_number(double v) {
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_formatd(buf, sizeof(buf), "%.6f", v);
}

// The camera name metapublish files the records under: the input's file name without its
// extension ("test" for the generated scene).
std::string publish_stream(const Options &o) {
  gchar *base = g_path_get_basename(o.input.c_str());
  std::string name = base ? base : "input";
  g_free(base);
  if (const auto dot = name.rfind('.'); dot != std::string::npos && dot > 0)
    name.erase(dot);
  for (char &c : name)
    if (c == '"' || c == '\\' || c == ' ')
      c = '_';
  return name;
}

std::string build_launch(App &app) {
  const Options &o = app.opt;
  std::string d;
  if (o.input == "test") {
    d = "appsrc name=src format=time is-live=" + std::string(o.live ? "true" : "false") +
        " block=true max-bytes=" + std::to_string(o.width * o.height * 3 * 4) +
        " caps=video/x-raw,format=BGR,width=" + std::to_string(o.width) +
        ",height=" + std::to_string(o.height) + ",framerate=" + std::to_string(kTestFps) + "/1 ";
  } else {
    gchar *uri = gst_uri_is_valid(o.input.c_str()) ? g_strdup(o.input.c_str())
                                                   : gst_filename_to_uri(o.input.c_str(), nullptr);
    d = std::string("uridecodebin uri=\"") + (uri ? uri : "") + "\" ! videoconvert ";
    g_free(uri);
  }
  if (o.raw) // the input itself, e.g. to make a clip for pipelines/analytics.launch
    return d +
           "! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast "
           "key-int-max=30 ! "
           "h264parse name=rawparse ! "
           "mpegtsmux ! tsrecordsink name=rec location=\"" +
           o.output + "\"";
  // The dropqueue only ever drops behind a live source (live-only): files lose nothing.
  d += "! dropqueue name=dq ";
  if (o.drop > 0)
    d += "! identity drop-probability=" + launch_number(o.drop) + " ";
  d += "! yolodetect name=det model=\"" + o.model + "\" interval=" + std::to_string(o.interval) +
       " async=" + (o.async ? "true" : "false") + " threads=" + std::to_string(o.threads) +
       " conf-threshold=" + launch_number(o.conf) + " ";
  d += "! objecttrack name=track";
  if (!o.publish.empty())
    d += " stream-name=\"" + publish_stream(o) + "\"";
  if (!o.events.empty() || !o.publish.empty())
    d += " post-track-messages=true";
  if (!o.calibration.empty())
    d += " calibration=\"" + o.calibration + "\"";
  else if (o.meters_per_pixel > 0)
    d += " meters-per-pixel=" + launch_number(o.meters_per_pixel);
  if (!o.roi.empty())
    d += " roi=\"" + o.roi + "\"";
  if (!o.lines.empty())
    d += " lines=\"" + o.lines + "\"";
  if (const auto target = keepup::metapublish::parse_target(o.publish, nullptr))
    d += std::string(" ! metapublish name=publish method=") +
         (target->method == keepup::metapublish::Method::redis ? "redis" : "file") +
         " location=\"" + target->location + "\" stream=\"" + publish_stream(o) + "\"";
  d += " ! detectoverlay name=overlay ! videoconvert ";
  if (o.show)
    d += "! autovideosink";
  else if (o.output == "-")
    d += "! fakesink sync=" + std::string(o.live ? "true" : "false");
  else
    d += "! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast "
         "key-int-max=60 ! "
         "h264parse ! "
         "mpegtsmux ! tsrecordsink name=rec location=\"" +
         o.output + "\"";
  return d;
}

// Prints "keepup-analyze: <message>" and keeps the message for a job's result.
int fail(keepup::analyze::RunReport *report, int status, const std::string &message) {
  std::fprintf(stderr, "keepup-analyze: %s\n", message.c_str());
  if (report)
    report->error = message;
  return status;
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // The user's locale, for GStreamer's translated messages and the progress lines. Machine
  // output does not follow it: JSON lines through nlohmann, launch-line numbers through
  // g_ascii_formatd, the ground truth on a C-numeric thread.
  std::setlocale(LC_ALL, "");
  gst_init(&argc, &argv);
  if (keepup::analyze::fleet_command(argc, argv))
    return keepup::analyze::fleet_main(argc, argv);
  return keepup::analyze::run(std::vector<std::string>(argv + 1, argv + argc), {}, nullptr);
}

namespace {
bool parse_args(const std::vector<std::string> &args, Options &o) {
  std::vector<std::string> arg_store = args;
  std::vector<char *> argv = {const_cast<char *>("keepup-analyze")};
  for (auto &a : arg_store)
    argv.push_back(a.data());
  return parse(static_cast<int>(argv.size()), argv.data(), o);
}
} // namespace

std::optional<keepup::analyze::Command>
keepup::analyze::check_command(const std::vector<std::string> &args) {
  Options o;
  if (!parse_args(args, o))
    return std::nullopt;
  Command c{o.input, args};
  c.options.erase(c.options.begin() + (o.input_arg - 1));
  return c;
}

int keepup::analyze::run(const std::vector<std::string> &args, const RunHooks &hooks,
                         RunReport *report) {
  App app;
  if (!parse_args(args, app.opt))
    return fail(report, 2, "bad options (see above)");
  Options &o = app.opt;
  if (o.model.empty())
    o.model = default_model();
  if (!keepup::file_exists(o.model))
    return fail(report, 1,
                std::string("model ").append(o.model).append(" not found (--model FILE)"));
  if (o.input != "test" && !gst_uri_is_valid(o.input.c_str()) && !keepup::file_exists(o.input))
    return fail(report, 1, std::string("input ").append(o.input).append(": no such file"));
  if (o.input == "test") {
    app.scene = std::make_unique<keepup::scene::TrafficScene>(
        keepup::scene::SceneOptions{o.width, o.height, o.seed, 1.0F, 2.0F});
    if (o.calibration.empty() && o.meters_per_pixel <= 0)
      o.meters_per_pixel = app.scene->metres_per_pixel(); // the scene's own scale
    if (o.lines.empty())
      o.lines = "gate:" + std::to_string(o.width / 2) + ",0," + std::to_string(o.width / 2) + "," +
                std::to_string(o.height);
  } else if (!o.gt.empty()) {
    return fail(report, 2, "--gt is for the generated test input only");
  }
  if (!o.meta.empty() && !(app.meta = std::fopen(o.meta.c_str(), "w")))
    return fail(
        report, 1,
        std::string("cannot write ").append(o.meta).append(": ").append(std::strerror(errno)));
  if (o.events == "-") { // the events own stdout; progress and summary move to stderr
    app.events = fdopen(dup(STDOUT_FILENO), "w");
    dup2(STDERR_FILENO, STDOUT_FILENO);
  } else if (!o.events.empty()) {
    app.events = std::fopen(o.events.c_str(), "w");
  }
  if (!o.events.empty() && !app.events)
    return fail(
        report, 1,
        std::string("cannot write ").append(o.events).append(": ").append(std::strerror(errno)));
  if (!o.gt.empty()) {
    app.gt.open(o.gt, std::ios::trunc);
    if (!app.gt)
      return fail(report, 1, std::string("cannot write ").append(o.gt));
  }

  const std::string launch = build_launch(app);
  if (!o.quiet)
    std::printf("pipeline: %s\n", launch.c_str());
  GError *err = nullptr;
  app.pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!app.pipeline || err) {
    const std::string why = err ? err->message : "cannot build the pipeline";
    g_clear_error(&err);
    if (app.pipeline)
      gst_object_unref(app.pipeline);
    return fail(report, 1, why);
  }
  if (GstElement *overlay = by_name(app, "overlay")) {
    GstPad *pad = gst_element_get_static_pad(overlay, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_tracked, &app, nullptr);
    gst_object_unref(pad);
    gst_object_unref(overlay);
  } else if (GstElement *rec = by_name(app, "rawparse")) {
    // --raw: count the encoded frames (mpegtsmux pushes buffer lists of TS packets, so the
    // sink's pad is no place to count frames)
    GstPad *pad = gst_element_get_static_pad(rec, "src");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer d) {
          ++static_cast<App *>(d)->frames_out;
          return GST_PAD_PROBE_OK;
        },
        &app, nullptr);
    gst_object_unref(pad);
    gst_object_unref(rec);
  }
  app.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(app.pipeline);
  gst_bus_add_watch(bus, on_bus, &app);
  std::vector<guint> sources; // removed before `app` goes: a job's run returns to the worker
  for (int sig : {SIGINT, SIGTERM})
    if (hooks.handle_signals)
      sources.push_back(g_unix_signal_add(
          sig,
          [](gpointer d) -> gboolean {
            send_eos(*static_cast<App *>(d));
            return G_SOURCE_CONTINUE;
          },
          &app));
  struct Abandon {
    App *app;
    const RunHooks *hooks;
  } abandon{&app, &hooks};
  if (hooks.abandon)
    sources.push_back(g_timeout_add(
        100,
        [](gpointer d) -> gboolean {
          auto *a = static_cast<Abandon *>(d);
          if (!a->hooks->abandon())
            return G_SOURCE_CONTINUE;
          a->app->abandoned = true;
          a->app->stop_feeding = true;
          g_main_loop_quit(a->app->loop);
          return G_SOURCE_REMOVE;
        },
        &abandon));
  if (!o.quiet)
    sources.push_back(g_timeout_add_seconds(
        1,
        [](gpointer d) -> gboolean {
          progress(*static_cast<App *>(d));
          return G_SOURCE_CONTINUE;
        },
        &app));
  if (o.input != "test" && o.seconds > 0)
    sources.push_back(g_timeout_add_seconds(
        static_cast<guint>(o.seconds),
        [](gpointer d) -> gboolean {
          send_eos(*static_cast<App *>(d));
          return G_SOURCE_REMOVE;
        },
        &app));
  auto remove_sources = [&sources] {
    for (guint id : sources)
      if (GSource *s = g_main_context_find_source_by_id(nullptr, id))
        g_source_destroy(s);
  };

  // What a run leaves behind is gone when it returns: a worker runs the next job in the same
  // process and main context.
  auto release = [&] {
    remove_sources();
    if (app.eos_watchdog)
      if (GSource *s = g_main_context_find_source_by_id(nullptr, app.eos_watchdog))
        g_source_destroy(s);
    gst_bus_remove_watch(bus);
    gst_object_unref(bus);
    if (app.meta)
      std::fclose(app.meta);
    if (app.events)
      std::fclose(app.events);
    app.meta = app.events = nullptr;
  };

  app.start_us = app.last_progress_us = g_get_monotonic_time();
  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    // The error message on the bus says why.
    GstBus *b = gst_element_get_bus(app.pipeline);
    if (GstMessage *m = gst_bus_pop_filtered(b, GST_MESSAGE_ERROR)) {
      on_bus(b, m, &app);
      gst_message_unref(m);
    } else {
      app.error = "the pipeline does not start";
      std::fprintf(stderr, "keepup-analyze: %s\n", app.error.c_str());
    }
    gst_object_unref(b);
    gst_element_set_state(app.pipeline, GST_STATE_NULL);
    gst_object_unref(app.pipeline);
    release();
    g_main_loop_unref(app.loop);
    if (report)
      report->error = app.error;
    return 1;
  }
  if (app.scene)
    app.feeder = std::thread(feed, &app);
  g_main_loop_run(app.loop);

  const double seconds = elapsed(app);
  // Figures before tearing down: the stats are zeros once stopped.
  const auto frames = app.frames_out.load();
  const auto total_tracks = stat_of<guint64>(app, "track", "total-tracks");
  const auto suspects = stat_of<guint64>(app, "track", "id-switch-suspects");
  const auto inferences = stat_of<guint64>(app, "det", "inferences");
  const auto infer_ms = stat_of<double>(app, "det", "inference-ms-mean");
  const auto infer_p95 = stat_of<double>(app, "det", "inference-ms-p95");
  const auto dropped = stat_of<guint64>(app, "dq", "dropped");
  app.stop_feeding = true;
  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  if (app.feeder.joinable())
    app.feeder.join();
  gst_object_unref(app.pipeline);
  release();
  g_main_loop_unref(app.loop);
  if (report) {
    report->abandoned = app.abandoned;
    report->frames = frames;
    report->tracks = total_tracks;
    report->line_counts = {app.line_counts.begin(), app.line_counts.end()};
    report->output = !o.show && o.output != "-" ? o.output : "";
    report->error = app.error;
    report->seconds = seconds;
  }

  std::printf("\n== keepup-analyze: summary ==\n");
  std::printf("%" G_GUINT64_FORMAT " frames in %.1f s (%.1f fps); %" G_GUINT64_FORMAT
              " inferences, %.1f ms mean, %.1f ms p95\n",
              frames, seconds, seconds > 0 ? static_cast<double>(frames) / seconds : 0.0,
              inferences, infer_ms, infer_p95);
  std::printf("tracks: %" G_GUINT64_FORMAT " (id-switch suspects %" G_GUINT64_FORMAT
              "); frames dropped by dropqueue: %" G_GUINT64_FORMAT "\n",
              total_tracks, suspects, dropped);
  for (const auto &[line, c] : app.line_counts)
    std::printf("line %s: %" G_GUINT64_FORMAT " forward, %" G_GUINT64_FORMAT " backward\n",
                line.c_str(), c.first, c.second);
  if (!o.show && o.output != "-")
    std::printf("recording: %s\n", o.output.c_str());
  if (!o.meta.empty())
    std::printf("tracks per frame: %s\n", o.meta.c_str());
  if (!o.events.empty() && o.events != "-")
    std::printf("events: %s\n", o.events.c_str());
  if (!o.gt.empty())
    std::printf("ground truth: %s (keepup-mot-eval %s %s)\n", o.gt.c_str(), o.gt.c_str(),
                o.meta.empty() ? "<--meta file>" : o.meta.c_str());
  return app.failed ? 1 : 0;
}
