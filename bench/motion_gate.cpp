// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-motion: what yolodetect's motion gate saves and what it costs, on the real chain
// (generated traffic -> yolodetect with the bundled model -> objecttrack), scored against the
// scene's ground truth. Every frame is rendered once and pushed through two pipelines in
// lockstep, alternating which goes first: ungated (the anchor) and motion-gate=true.
//
// Part 1, stop-and-go: traffic that stops for the middle half of the clip (a red light on every
// lane), then moves on. Inferences, network time, IDF1 / MOTA / ID switches, and ratios against
// the anchor. Goal (issue 13.5): >= 40 % fewer inferences with IDF1 within 0.02.
// Part 2, busy: the default scene (traffic never stops). The gate's own time (motion-ms-mean
// per decision) against the network time (inference-ms per inference) of the same run. Goal:
// the gate costs <= 2 % of the inference time.
// Exits 1 when a goal is not met, 2 on bad arguments, 3 when a pipeline fails.
//
//   keepup-bench-motion [--model PATH] [--seconds 20] [--busy-seconds 10] [--seed 7]
//                       [--size 1280x720] [--threads 1] [--gate-args "PROP=VALUE ..."]
// --gate-args: more yolodetect properties for the gated pipeline (motion-hold-time=...).
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "analytics_contract.hpp"
#include "mot_metrics.hpp"
#include "traffic_scene.hpp"

namespace {

using keepup::track::MotObject;
using keepup::track::MotResult;
using keepup::track::MotSequence;

constexpr int kFps = 30;

struct Config {
  std::string model = KEEPUP_BENCH_MODELS_DIR "/keepup-traffic-320.onnx";
  double seconds = 20, busy_seconds = 10;
  std::uint64_t seed = 7;
  int width = 1280, height = 720;
  int threads = 1;
  std::string gate_args; // more yolodetect properties for the gated pipeline
};

// What one pipeline did over one clip.
struct Outcome {
  std::uint64_t frames = 0, inferences = 0, skipped_static = 0, refreshes = 0;
  std::uint64_t stopped_frames = 0, stopped_inferences = 0; // inside the stop window
  double network_ms = 0; // sum of the inferred frames' inference-ms
  double gate_ms = 0;    // motion-ms-mean x decisions, per window of the stats' mean
  std::uint64_t gate_counted = 0;
  std::map<std::string, std::uint64_t> reasons; // the inference meta's motion-gate field
  MotSequence hyp;
  MotResult mot;
  MotResult phases[3]; // stop-and-go: before the stop, while still, after it
};

template <typename T> T stat(GstElement *e, const char *field) {
  GstStructure *s = nullptr;
  g_object_get(e, "stats", &s, nullptr);
  T v{};
  if (s) {
    const GValue *gv = gst_structure_get_value(s, field);
    if (gv && G_VALUE_HOLDS_UINT64(gv))
      v = static_cast<T>(g_value_get_uint64(gv));
    else if (gv && G_VALUE_HOLDS_DOUBLE(gv))
      v = static_cast<T>(g_value_get_double(gv));
    gst_structure_free(s);
  }
  return v;
}

// appsrc ! yolodetect ! objecttrack ! appsink, driven one frame at a time.
class Chain {
public:
  Chain(const Config &c, bool gated, double metres_per_pixel) {
    const std::string caps = "video/x-raw,format=BGR,width=" + std::to_string(c.width) +
                             ",height=" + std::to_string(c.height) +
                             ",framerate=" + std::to_string(kFps) + "/1";
    gchar *mpp = g_strdup_printf("%.6f", metres_per_pixel);
    const std::string desc =
        "appsrc name=src format=time caps=" + caps + " ! yolodetect name=det model=\"" + c.model +
        "\" threads=" + std::to_string(c.threads) +
        (gated ? " motion-gate=true " + c.gate_args : "") +
        " ! objecttrack name=track meters-per-pixel=" + mpp + " ! appsink name=sink sync=false";
    g_free(mpp);
    GError *err = nullptr;
    pipeline_ = gst_parse_launch(desc.c_str(), &err);
    if (!pipeline_) {
      const std::string what = err ? err->message : "parse error";
      g_clear_error(&err);
      throw std::runtime_error(what);
    }
    src_ = gst_bin_get_by_name(GST_BIN(pipeline_), "src");
    sink_ = gst_bin_get_by_name(GST_BIN(pipeline_), "sink");
    det_ = gst_bin_get_by_name(GST_BIN(pipeline_), "det");
    track_ = gst_bin_get_by_name(GST_BIN(pipeline_), "track");
    if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      fail("cannot start");
  }
  ~Chain() {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    for (GstElement *e : {src_, sink_, det_, track_})
      if (e)
        gst_object_unref(e);
    gst_object_unref(pipeline_);
  }
  Chain(const Chain &) = delete;
  Chain &operator=(const Chain &) = delete;

  // Pushes the frame (takes the reference) and returns what came out of the tracker.
  GstSample *process(GstBuffer *buf) {
    if (gst_app_src_push_buffer(GST_APP_SRC(src_), buf) != GST_FLOW_OK)
      fail("appsrc refused a frame");
    GstSample *out = gst_app_sink_try_pull_sample(GST_APP_SINK(sink_), 120 * GST_SECOND);
    if (!out)
      fail("no output frame");
    return out;
  }

  GstElement *detector() const { return det_; }
  GstElement *tracker() const { return track_; }

private:
  [[noreturn]] void fail(const std::string &what) {
    std::string detail;
    GstBus *bus = gst_element_get_bus(pipeline_);
    if (GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      GError *err = nullptr;
      gst_message_parse_error(msg, &err, nullptr);
      detail = std::string(": ") + err->message;
      g_clear_error(&err);
      gst_message_unref(msg);
    }
    gst_object_unref(bus);
    throw std::runtime_error(what + detail);
  }

  GstElement *pipeline_ = nullptr, *src_ = nullptr, *sink_ = nullptr, *det_ = nullptr,
             *track_ = nullptr;
};

// One output frame: the tracks (every ROI with a track id, lost ones included, as
// keepup-analyze writes them) and the detector's verdict.
void collect(GstSample *sample, std::int64_t frame_no, bool stopped, Outcome &o) {
  GstBuffer *buf = gst_sample_get_buffer(sample);
  auto &frame = o.hyp[frame_no];
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    const auto t = keepup::contract::read_tracking(roi);
    if (!t || !t->track_id)
      continue;
    MotObject h;
    h.id = static_cast<std::int64_t>(*t->track_id);
    h.box = {static_cast<double>(roi->x), static_cast<double>(roi->y),
             static_cast<double>(roi->x + roi->w), static_cast<double>(roi->y + roi->h)};
    frame.push_back(h);
  }
  ++o.frames;
  o.stopped_frames += stopped ? 1 : 0;
  if (const auto inf = keepup::contract::read_inference(buf)) {
    if (inf->fresh) {
      o.network_ms += inf->inference_ms;
      o.stopped_inferences += stopped ? 1 : 0;
    }
    if (!inf->motion_gate.empty())
      ++o.reasons[inf->motion_gate];
  }
}

// motion-ms-mean is the mean of the last 256 decisions: read it every 256 frames for the total.
void add_gate_time(GstElement *det, Outcome &o) {
  const std::uint64_t decisions = o.frames - o.gate_counted;
  if (decisions == 0)
    return;
  o.gate_ms += stat<double>(det, "motion-ms-mean") * static_cast<double>(decisions);
  o.gate_counted = o.frames;
}

struct ClipResult {
  Outcome plain, gated;
  double stop_from = 0, stop_until = 0;
};

ClipResult run_clip(const Config &c, double seconds, bool stop_and_go) {
  keepup::scene::SceneOptions so;
  so.width = c.width;
  so.height = c.height;
  so.seed = c.seed;
  so.zoom = 1.0F;
  so.noise = 2.0F; // keepup-analyze test's sensor noise
  ClipResult r;
  if (stop_and_go) { // the middle half of the clip
    so.stop_from = r.stop_from = seconds * 0.25;
    so.stop_until = r.stop_until = seconds * 0.75;
  }
  const keepup::scene::TrafficScene scene(so);
  Chain plain(c, false, scene.metres_per_pixel()), gated(c, true, scene.metres_per_pixel());

  MotSequence gt;
  std::map<std::uint64_t, std::int64_t> ids;
  cv::Mat bgr;
  std::vector<keepup::scene::GroundTruth> truth;
  const int frames = static_cast<int>(std::lround(seconds * kFps));
  for (int f = 0; f < frames; ++f) {
    const double t = static_cast<double>(f) / kFps;
    scene.render(t, bgr, truth);
    auto &g = gt[f + 1];
    for (const auto &obj : truth) {
      MotObject m;
      m.id = ids.emplace(obj.id, static_cast<std::int64_t>(ids.size() + 1)).first->second;
      m.box = {obj.box.x, obj.box.y, obj.box.x + obj.box.width, obj.box.y + obj.box.height};
      m.ignore = obj.visible_fraction < 0.5F; // as keepup-analyze's ground truth marks them
      g.push_back(m);
    }
    GstBuffer *buf = gst_buffer_new_memdup(bgr.data, bgr.total() * bgr.elemSize());
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(static_cast<guint64>(f), GST_SECOND, kFps);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(1, GST_SECOND, kFps);
    const bool stopped = stop_and_go && t >= r.stop_from && t < r.stop_until;
    // Alternate which pipeline goes first, so caches and machine noise hit both alike.
    for (int k = 0; k < 2; ++k) {
      const bool gated_turn = (f % 2 == 0) == (k == 0);
      Chain &chain = gated_turn ? gated : plain;
      Outcome &o = gated_turn ? r.gated : r.plain;
      GstSample *out = chain.process(k == 0 ? gst_buffer_ref(buf) : buf);
      collect(out, f + 1, stopped, o);
      gst_sample_unref(out);
      if (gated_turn && o.frames % 256 == 0)
        add_gate_time(chain.detector(), o);
    }
  }
  for (const auto &[chain, o] : {std::pair{&plain, &r.plain}, std::pair{&gated, &r.gated}}) {
    GstElement *det = chain->detector();
    o->inferences = stat<std::uint64_t>(det, "inferences");
    o->skipped_static = stat<std::uint64_t>(det, "skipped-static");
    o->refreshes = stat<std::uint64_t>(det, "motion-refreshes");
    if (o == &r.gated)
      add_gate_time(det, *o);
    o->mot = keepup::track::evaluate(gt, o->hyp, 0.5, false);
    if (!stop_and_go)
      continue;
    // The phases apart (tracks and identities carry over, so IDF1 per phase means little).
    const std::int64_t edges[4] = {1, std::llround(r.stop_from * kFps) + 1,
                                   std::llround(r.stop_until * kFps) + 1, frames + 1};
    for (int p = 0; p < 3; ++p) {
      MotSequence g(gt.lower_bound(edges[p]), gt.lower_bound(edges[p + 1]));
      MotSequence h(o->hyp.lower_bound(edges[p]), o->hyp.lower_bound(edges[p + 1]));
      o->phases[p] = keepup::track::evaluate(g, h, 0.5, false);
    }
  }
  return r;
}

std::string reasons_text(const Outcome &o) {
  std::string s;
  for (const auto &[why, n] : o.reasons)
    s += (s.empty() ? "" : " ") + why + "=" + std::to_string(n);
  return s.empty() ? "-" : s;
}

void print_header() {
  std::printf("%-22s %7s %7s %9s %9s %8s %8s %7s %7s %6s %7s\n", "variant", "frames", "infer.",
              "infer/anc", "net ms", "gate ms", "time/anc", "IDF1", "MOTA", "IDsw", "dIDF1");
}

void print_row(const char *name, const Outcome &o, const Outcome &anchor) {
  const double time = o.network_ms + o.gate_ms;
  std::printf("%-22s %7llu %7llu %9.2f %9.0f %8.1f %8.3f %7.3f %7.3f %6lld %+7.3f\n", name,
              static_cast<unsigned long long>(o.frames),
              static_cast<unsigned long long>(o.inferences),
              static_cast<double>(o.inferences) / static_cast<double>(anchor.inferences),
              o.network_ms, o.gate_ms, time / anchor.network_ms, o.mot.idf1, o.mot.mota,
              static_cast<long long>(o.mot.id_switches), o.mot.idf1 - anchor.mot.idf1);
}

int usage() {
  std::fprintf(stderr, "usage: keepup-bench-motion [--model PATH] [--seconds 20] "
                       "[--busy-seconds 10] [--seed 7] [--size 1280x720] [--threads 1] "
                       "[--gate-args \"motion-hold-time=...\"]\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!v)
      return usage();
    ++i;
    if (a == "--model")
      c.model = v;
    else if (a == "--seconds")
      c.seconds = std::atof(v);
    else if (a == "--busy-seconds")
      c.busy_seconds = std::atof(v);
    else if (a == "--seed")
      c.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--size") {
      if (std::sscanf(v, "%dx%d", &c.width, &c.height) != 2)
        return usage();
    } else if (a == "--threads")
      c.threads = std::atoi(v);
    else if (a == "--gate-args")
      c.gate_args = v;
    else
      return usage();
  }
  if (c.seconds < 4 || c.busy_seconds < 1 || c.width < 64 || c.height < 64 || c.threads < 0) {
    std::fprintf(stderr, "keepup-bench-motion: --seconds >= 4, --busy-seconds >= 1, --size at "
                         "least 64x64, --threads >= 0\n");
    return 2;
  }
  if (!g_file_test(c.model.c_str(), G_FILE_TEST_EXISTS)) {
    std::fprintf(stderr, "keepup-bench-motion: no model %s (--model PATH)\n", c.model.c_str());
    return 2;
  }

  ClipResult stop, busy;
  try {
    std::printf("motion gate: generated traffic %dx%d at %d fps (seed %llu, noise 2) -> "
                "yolodetect (%s, threads=%d, sync) -> objecttrack; anchor: the same frames "
                "ungated, in lockstep\n",
                c.width, c.height, kFps, static_cast<unsigned long long>(c.seed), c.model.c_str(),
                c.threads);
    std::fflush(stdout);
    stop = run_clip(c, c.seconds, true);
    std::printf("\nstop-and-go: %.0f s, every vehicle stands still from %.1f s to %.1f s\n",
                c.seconds, stop.stop_from, stop.stop_until);
    print_header();
    print_row("ungated (anchor)", stop.plain, stop.plain);
    print_row("motion-gate=true", stop.gated, stop.plain);
    std::printf("  gated: %llu of %llu inferences while traffic stood still (%llu frames); "
                "skipped-static %llu, motion-refreshes %llu; decisions: %s\n",
                static_cast<unsigned long long>(stop.gated.stopped_inferences),
                static_cast<unsigned long long>(stop.gated.inferences),
                static_cast<unsigned long long>(stop.gated.stopped_frames),
                static_cast<unsigned long long>(stop.gated.skipped_static),
                static_cast<unsigned long long>(stop.gated.refreshes),
                reasons_text(stop.gated).c_str());
    for (const auto &[name, o] :
         {std::pair{"ungated", &stop.plain}, std::pair{"gated", &stop.gated}})
      std::printf("  %s MOTA / mean IoU: moving %.3f / %.3f, standing %.3f / %.3f, moving again "
                  "%.3f / %.3f\n",
                  name, o->phases[0].mota, o->phases[0].motp_iou, o->phases[1].mota,
                  o->phases[1].motp_iou, o->phases[2].mota, o->phases[2].motp_iou);
    std::fflush(stdout);

    busy = run_clip(c, c.busy_seconds, false);
    std::printf("\nbusy: %.0f s of the default scene (traffic never stops)\n", c.busy_seconds);
    print_header();
    print_row("ungated (anchor)", busy.plain, busy.plain);
    print_row("motion-gate=true", busy.gated, busy.plain);
    std::printf("  gated decisions: %s; gate %.3f ms per frame, network %.2f ms per "
                "inference\n",
                reasons_text(busy.gated).c_str(),
                busy.gated.gate_ms / static_cast<double>(busy.gated.frames),
                busy.gated.network_ms / static_cast<double>(busy.gated.inferences));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "keepup-bench-motion: %s\n", e.what());
    return 3;
  }

  const double saved =
      1.0 - static_cast<double>(stop.gated.inferences) / static_cast<double>(stop.plain.inferences);
  const double d_idf1 = stop.gated.mot.idf1 - stop.plain.mot.idf1;
  const double overhead = busy.gated.gate_ms / busy.gated.network_ms;
  const bool saved_ok = saved >= 0.40, idf1_ok = std::abs(d_idf1) <= 0.02,
             overhead_ok = overhead <= 0.02;
  std::printf("\ngoal: stop-and-go inferences >= 40 %% fewer: %.1f %% fewer -> %s\n", saved * 100,
              saved_ok ? "met" : "NOT met");
  std::printf("goal: stop-and-go IDF1 within 0.02 of ungated: %+.3f -> %s\n", d_idf1,
              idf1_ok ? "met" : "NOT met");
  std::printf("goal: busy scene, gate time <= 2 %% of inference time: %.2f %% -> %s\n",
              overhead * 100, overhead_ok ? "met" : "NOT met");
  std::printf("(busy, gated network + gate time vs ungated network time: %.3f; machine noise "
              "included)\n",
              (busy.gated.network_ms + busy.gated.gate_ms) / busy.plain.network_ms);
  return saved_ok && idf1_ok && overhead_ok ? 0 : 1;
}
