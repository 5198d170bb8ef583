// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-detect: what yolodetect costs and whether it keeps a live stream's rate.
//
// Part 1, inference: for each model found (the bundled traffic model, and random-weight
// YOLOv8n / YOLO11n / YOLOv5n at 320 and 640 made by bench/make-models.sh), 1 and 2 OpenCV
// threads: network ms/frame (yolodetect's inference-ms-mean over --frames 720p frames after a
// warm-up). Anchor: v8n at 320 with 1 thread, measured in the same run.
// Part 2, stream: a live 720p30 source -> yolodetect (v8n-size model) -> sink with sync, for
// --seconds: output frames per second, interval=1 sync vs async, against the same pipeline
// without yolodetect (the anchor).
//
//   keepup-bench-detect [--models DIR] [--frames 30] [--seconds 10] [--stream-model NAME]
#include <gst/gst.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Config {
  std::string models = "build/bench-models";
  std::string bundled = "models";
  int frames = 30;
  int seconds = 10;
  std::string stream_model = "yolov8n-random-320";
};

bool exists(const std::string &path) {
  return g_file_test(path.c_str(), G_FILE_TEST_EXISTS);
}

// Runs a launch line to EOS; returns the named element's stats (caller frees) or nullptr.
GstStructure *run_for_stats(const std::string &desc, std::string &error) {
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  if (!pipeline) {
    error = err ? err->message : "parse error";
    g_clear_error(&err);
    return nullptr;
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(
      bus, 600 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  GstStructure *stats = nullptr;
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error(msg, &err, nullptr);
    error = err->message;
    g_clear_error(&err);
  } else if (!msg) {
    error = "timeout";
  } else {
    GstElement *det = gst_bin_get_by_name(GST_BIN(pipeline), "det");
    if (det) {
      g_object_get(det, "stats", &stats, nullptr);
      gst_object_unref(det);
    }
  }
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return stats;
}

double inference_ms(const std::string &model, int threads, int frames, std::string &error) {
  // A warm-up run first: OpenCV allocates and tunes on its first forwards.
  for (int pass = 0; pass < 2; ++pass) {
    const int n = pass == 0 ? 3 : frames;
    const std::string desc =
        "videotestsrc num-buffers=" + std::to_string(n) +
        " pattern=ball ! video/x-raw,width=1280,height=720,format=BGR ! yolodetect name=det "
        "model=" +
        model + " threads=" + std::to_string(threads) + " ! fakesink";
    GstStructure *s = run_for_stats(desc, error);
    if (!s)
      return -1;
    double mean = 0;
    gst_structure_get_double(s, "inference-ms-mean", &mean);
    gst_structure_free(s);
    if (pass == 1)
      return mean;
  }
  return -1;
}

struct StreamResult {
  double fps = 0;
  guint64 inferences = 0, dropped = 0;
};

StreamResult stream_fps(const std::string &detector, int seconds, std::string &error) {
  const std::string desc =
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=1280,height=720,format=NV12,"
      "framerate=30/1 ! " +
      detector + " ! fakesink name=sink sync=true";
  GError *err = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &err);
  StreamResult r;
  if (!pipeline) {
    error = err ? err->message : "parse error";
    g_clear_error(&err);
    return r;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  guint64 count = 0;
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      +[](GstPad *, GstPadProbeInfo *, gpointer data) {
        ++*static_cast<guint64 *>(data);
        return GST_PAD_PROBE_OK;
      },
      &count, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  // Two seconds to settle (model load, first forwards), then the measured window.
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 2 * GST_SECOND, GST_MESSAGE_ERROR);
  const guint64 start_count = count;
  const auto t0 = std::chrono::steady_clock::now();
  if (!msg)
    msg = gst_bus_timed_pop_filtered(bus, static_cast<GstClockTime>(seconds) * GST_SECOND,
                                     GST_MESSAGE_ERROR);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (msg) {
    gst_message_parse_error(msg, &err, nullptr);
    error = err->message;
    g_clear_error(&err);
    gst_message_unref(msg);
  }
  r.fps = static_cast<double>(count - start_count) / elapsed;
  if (GstElement *det = gst_bin_get_by_name(GST_BIN(pipeline), "det")) {
    GstStructure *s = nullptr;
    g_object_get(det, "stats", &s, nullptr);
    gst_structure_get_uint64(s, "inferences", &r.inferences);
    gst_structure_get_uint64(s, "dropped-inferences", &r.dropped);
    gst_structure_free(s);
    gst_object_unref(det);
  }
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return r;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--models" && v) {
      cfg.models = argv[++i];
    } else if (a == "--bundled" && v) {
      cfg.bundled = argv[++i];
    } else if (a == "--frames" && v) {
      cfg.frames = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--seconds" && v) {
      cfg.seconds = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--stream-model" && v) {
      cfg.stream_model = argv[++i];
    } else {
      std::fprintf(stderr, "usage: keepup-bench-detect [--models DIR] [--bundled DIR] "
                           "[--frames N] [--seconds N] [--stream-model NAME]\n");
      return 2;
    }
  }

  struct Model {
    std::string name, path;
  };
  std::vector<Model> models;
  for (const char *size : {"320", "640"})
    models.push_back(
        {std::string("keepup-traffic-") + size, cfg.bundled + "/keepup-traffic-" + size + ".onnx"});
  for (const char *arch : {"yolov8n", "yolo11n", "yolov5n"})
    for (const char *size : {"320", "640"})
      models.push_back({std::string(arch) + "-random-" + size,
                        cfg.models + "/" + arch + "-random-" + size + ".onnx"});

  std::printf("inference (network only, 1280x720 BGR input, %d frames after warm-up)\n",
              cfg.frames);
  std::printf("%-22s %8s %10s %10s %10s\n", "model", "threads", "ms/frame", "fps", "ms/anchor");
  double anchor = -1;
  // The anchor first, so every later row can print its ratio.
  std::stable_sort(models.begin(), models.end(),
                   [](const Model &a, const Model &) { return a.name == "yolov8n-random-320"; });
  for (const auto &m : models) {
    if (!exists(m.path)) {
      std::printf("%-22s %8s %10s   (missing %s: run bench/make-models.sh)\n", m.name.c_str(), "-",
                  "-", m.path.c_str());
      continue;
    }
    for (int threads : {1, 2}) {
      std::string error;
      const double v = inference_ms(m.path, threads, cfg.frames, error);
      if (v < 0) {
        std::printf("%-22s %8d  failed: %s\n", m.name.c_str(), threads, error.c_str());
        continue;
      }
      if (m.name == "yolov8n-random-320" && threads == 1)
        anchor = v;
      char ratio[32] = "-";
      if (anchor > 0)
        std::snprintf(ratio, sizeof(ratio), "%.2f", v / anchor);
      std::printf("%-22s %8d %10.1f %10.1f %10s\n", m.name.c_str(), threads, v, 1000.0 / v, ratio);
      std::fflush(stdout);
    }
  }

  const std::string stream_path = cfg.stream_model.rfind("keepup-traffic", 0) == 0
                                      ? cfg.bundled + "/" + cfg.stream_model + ".onnx"
                                      : cfg.models + "/" + cfg.stream_model + ".onnx";
  std::printf("\nstream: live 1280x720 NV12 at 30 fps -> yolodetect (%s) -> sink sync=true, "
              "%d s\n",
              cfg.stream_model.c_str(), cfg.seconds);
  std::printf("%-34s %8s %10s %12s %10s\n", "variant", "out fps", "fps/anchor", "inferences",
              "dropped");
  if (!exists(stream_path)) {
    std::printf("(missing %s: run bench/make-models.sh)\n", stream_path.c_str());
    return 0;
  }
  struct Variant {
    std::string name, element;
  };
  const std::vector<Variant> variants = {
      {"no detector (anchor)", "identity"},
      {"yolodetect interval=1 sync", "yolodetect name=det model=" + stream_path},
      {"yolodetect interval=1 async=true", "yolodetect name=det async=true model=" + stream_path},
  };
  double anchor_fps = -1, async_fps = -1;
  for (const auto &v : variants) {
    std::string error;
    const StreamResult r = stream_fps(v.element, cfg.seconds, error);
    if (!error.empty()) {
      std::printf("%-34s failed: %s\n", v.name.c_str(), error.c_str());
      continue;
    }
    if (anchor_fps < 0)
      anchor_fps = r.fps;
    if (v.name.find("async") != std::string::npos)
      async_fps = r.fps;
    std::printf("%-34s %8.1f %10.2f %12llu %10llu\n", v.name.c_str(), r.fps, r.fps / anchor_fps,
                static_cast<unsigned long long>(r.inferences),
                static_cast<unsigned long long>(r.dropped));
    std::fflush(stdout);
  }
  if (async_fps > 0)
    std::printf("goal: async keeps 30 fps output at 720p with %s: %.1f fps (%.2f of the "
                "anchor) -> %s\n",
                cfg.stream_model.c_str(), async_fps, async_fps / anchor_fps,
                async_fps >= 0.97 * anchor_fps ? "met" : "not met");
  return 0;
}
