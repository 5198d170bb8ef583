// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-overload-demo: a live 1080p source feeding an encoder that cannot keep up, with a
// dropqueue in between, recorded through tsrecordsink. Prints the dropqueue stats every second and
// a summary at the end.
//
//   keepup-overload-demo [--seconds N] [--output FILE] [--launch "DESCRIPTION"]
//
// The default pipeline is pipelines/overload.launch, compiled in. GST_TRACERS works as with
// any GStreamer application.
#include "app_util.hpp"
#include "launch_lines.hpp"
#include "process_stats.hpp"

#include <gst/gst.h>
#include <glib-unix.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>

namespace {

struct Options {
  int seconds = 15;
  std::string output;
  std::string launch = keepup::pipelines::kOverloadLaunch;
};

struct App {
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  gint64 start_us = 0;
  bool eos_sent = false;
  bool failed = false;
  bool got_eos = false;
  GstStructure *final_stats = nullptr;
  double peak_rss_mb = 0;
};

void usage(const char *argv0) {
  std::fprintf(stderr,
               "usage: %s [--seconds N] [--output FILE] [--launch \"DESCRIPTION\"]\n"
               "  --seconds N   run time before EOS is sent (default 15)\n"
               "  --output FILE where the sink named 'out' records (default from the "
               "launch line)\n"
               "  --launch D    a gst-launch description with a dropqueue in it\n",
               argv0);
}

bool parse(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char *name) -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", name);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--seconds") {
      const char *v = value("--seconds");
      char *end = nullptr;
      if (!v || (o.seconds = static_cast<int>(std::strtol(v, &end, 10))) <= 0 || *end) {
        std::fprintf(stderr, "--seconds takes a positive whole number\n");
        return false;
      }
    } else if (a == "--output") {
      const char *v = value("--output");
      if (!v)
        return false;
      o.output = v;
    } else if (a == "--launch") {
      const char *v = value("--launch");
      if (!v)
        return false;
      o.launch = v;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0]);
      std::exit(0);
    } else {
      std::fprintf(stderr, "unknown argument: %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

guint64 u64(const GstStructure *s, const char *field) {
  guint64 v = 0;
  gst_structure_get_uint64(s, field, &v);
  return v;
}

double dbl(const GstStructure *s, const char *field) {
  double v = 0;
  gst_structure_get_double(s, field, &v);
  return v;
}

guint u32(const GstStructure *s, const char *field) {
  guint v = 0;
  gst_structure_get_uint(s, field, &v);
  return v;
}

double elapsed_s(const App &app) {
  return static_cast<double>(g_get_monotonic_time() - app.start_us) / 1e6;
}

void print_stats_line(App &app, const char *element, const GstStructure *s) {
  const double rss = keepup::process_rss_mb();
  app.peak_rss_mb = std::max(app.peak_rss_mb, rss);
  const char *health = gst_structure_get_string(s, "health");
  std::printf("[%6.1f s] %s in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
              " dropped %" G_GUINT64_FORMAT " (overflow %" G_GUINT64_FORMAT
              ", age %" G_GUINT64_FORMAT ", gop %" G_GUINT64_FORMAT
              ") level %u window-drop %.1f%% health %s rss %.0f MB\n",
              elapsed_s(app), element, u64(s, "in"), u64(s, "out"), u64(s, "dropped"),
              u64(s, "dropped-overflow"), u64(s, "dropped-age"), u64(s, "dropped-gop"),
              u32(s, "current-level-buffers"), dbl(s, "window-drop-ratio") * 100.0,
              health ? health : "?", rss);
  std::fflush(stdout);
}

GstElement *find_dropqueue(GstElement *pipeline) {
  GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipeline));
  GValue item = G_VALUE_INIT;
  GstElement *found = nullptr;
  while (!found && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto *el = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory *f = gst_element_get_factory(el);
    if (f && std::strcmp(GST_OBJECT_NAME(f), "dropqueue") == 0)
      found = GST_ELEMENT(gst_object_ref(el));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return found;
}

void send_eos(App &app) {
  if (app.eos_sent)
    return;
  app.eos_sent = true;
  std::printf("[%6.1f s] sending EOS, draining...\n", elapsed_s(app));
  keepup::apps::send_eos_with_watchdog(app.pipeline, app.loop, &app.failed, 30,
                                       "keepup-overload-demo");
}

gboolean on_bus(GstBus *, GstMessage *msg, gpointer data) {
  auto &app = *static_cast<App *>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    if (s && gst_structure_has_name(s, "dropqueue-stats"))
      print_stats_line(app, GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), s);
    else if (s && (gst_structure_has_name(s, "tsrecordsink-finished") ||
                   gst_structure_has_name(s, "tsrecordsink-recovered")))
      std::printf("[%6.1f s] %s: %s, %" G_GUINT64_FORMAT " bytes, %.1f s\n", elapsed_s(app),
                  gst_structure_get_name(s), gst_structure_get_string(s, "location"),
                  u64(s, "bytes"), static_cast<double>(u64(s, "duration")) / 1e9);
    break;
  }
  case GST_MESSAGE_WARNING:
  case GST_MESSAGE_INFO: {
    GError *err = nullptr;
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING)
      gst_message_parse_warning(msg, &err, nullptr);
    else
      gst_message_parse_info(msg, &err, nullptr);
    std::printf("[%6.1f s] %s: %s\n", elapsed_s(app),
                GST_MESSAGE_TYPE(msg) == GST_MESSAGE_WARNING ? "WARNING" : "info", err->message);
    g_clear_error(&err);
    break;
  }
  case GST_MESSAGE_ERROR: {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    std::fprintf(stderr, "error from %s: %s\n%s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                 err->message, dbg ? dbg : "");
    g_clear_error(&err);
    g_free(dbg);
    app.failed = true;
    g_main_loop_quit(app.loop);
    break;
  }
  case GST_MESSAGE_EOS: {
    app.got_eos = true;
    if (GstElement *q = find_dropqueue(app.pipeline)) {
      g_object_get(q, "stats", &app.final_stats, nullptr);
      gst_object_unref(q);
    }
    g_main_loop_quit(app.loop);
    break;
  }
  default:
    break;
  }
  return TRUE;
}

void print_summary(const App &app, const Options &o) {
  std::printf("\n== keepup overload demo: summary ==\n");
  std::printf("ran %.1f s; peak RSS %.0f MB\n", elapsed_s(app), app.peak_rss_mb);
  if (const GstStructure *s = app.final_stats) {
    std::printf("dropqueue: in %" G_GUINT64_FORMAT " out %" G_GUINT64_FORMAT
                " dropped %" G_GUINT64_FORMAT " (%.1f%%: overflow %" G_GUINT64_FORMAT
                ", age %" G_GUINT64_FORMAT ", gop %" G_GUINT64_FORMAT ")\n",
                u64(s, "in"), u64(s, "out"), u64(s, "dropped"), dbl(s, "drop-ratio") * 100.0,
                u64(s, "dropped-overflow"), u64(s, "dropped-age"), u64(s, "dropped-gop"));
    std::printf("           max level %u buffers, longest downstream block %.1f ms, "
                "avg residence %.1f ms\n",
                u32(s, "max-level-buffers-seen"),
                static_cast<double>(u64(s, "longest-downstream-block-ns")) / 1e6,
                static_cast<double>(u64(s, "avg-residence-ns")) / 1e6);
  }
  std::string path = o.output;
  if (path.empty()) {
    if (GstElement *out = gst_bin_get_by_name(GST_BIN(app.pipeline), "out")) {
      gchar *loc = nullptr;
      g_object_get(out, "location", &loc, nullptr);
      path = loc ? loc : "";
      g_free(loc);
      gst_object_unref(out);
    }
  }
  struct stat st {};
  if (!path.empty() && stat(path.c_str(), &st) == 0)
    std::printf("output: %s (%.1f MB)\n", path.c_str(),
                static_cast<double>(st.st_size) / (1024.0 * 1024.0));
}

} // namespace

int main(int argc, char **argv) {
  // Line-buffered even into a pipe, so our lines and the tracer's stderr keep their order.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  gst_init(&argc, &argv);
  Options o;
  if (!parse(argc, argv, o)) {
    usage(argv[0]);
    return 2;
  }
  GError *error = nullptr;
  App app;
  app.pipeline = gst_parse_launch(o.launch.c_str(), &error);
  if (!app.pipeline || error) {
    std::fprintf(stderr, "error: cannot build the pipeline: %s\n",
                 error ? error->message : "unknown");
    g_clear_error(&error);
    return 1;
  }
  if (!o.output.empty()) {
    GstElement *out = gst_bin_get_by_name(GST_BIN(app.pipeline), "out");
    if (!out) {
      std::fprintf(stderr, "error: --output needs a sink named 'out' in the pipeline\n");
      return 2;
    }
    g_object_set(out, "location", o.output.c_str(), nullptr);
    gst_object_unref(out);
  }
  std::printf("pipeline: %s\nrunning %d s (Ctrl-C stops early)\n", o.launch.c_str(), o.seconds);
  app.loop = g_main_loop_new(nullptr, FALSE);
  GstBus *bus = gst_element_get_bus(app.pipeline);
  gst_bus_add_watch(bus, on_bus, &app);
  gst_object_unref(bus);
  g_timeout_add_seconds(
      o.seconds,
      [](gpointer data) -> gboolean {
        send_eos(*static_cast<App *>(data));
        return G_SOURCE_REMOVE;
      },
      &app);
  g_unix_signal_add(
      SIGINT,
      [](gpointer data) -> gboolean {
        send_eos(*static_cast<App *>(data));
        return G_SOURCE_CONTINUE;
      },
      &app);

  app.start_us = g_get_monotonic_time();
  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    std::fprintf(stderr, "error: the pipeline refused to start\n");
    app.failed = true;
  } else {
    g_main_loop_run(app.loop);
  }
  if (app.got_eos)
    print_summary(app, o);
  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  if (app.final_stats)
    gst_structure_free(app.final_stats);
  gst_object_unref(app.pipeline);
  g_main_loop_unref(app.loop);
  return app.failed || !app.got_eos ? 1 : 0;
}
