// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-metapublish: what metapublish costs and sustains into a local redis-server
// (started here on a free loopback port, persistence off).
//   1. CPU at a fixed event rate (default 10000 events/s for 10 s): appsrc frames carrying
//      objecttrack-style line-crossed events in band (KeepupTrackEventsMeta), through
//        none       appsrc ! fakesink                       (the anchor: the frames alone)
//        file       ... ! metapublish method=file (a temp file) ! ...
//        redis      ... ! metapublish method=redis ! ...
//      This process's CPU (all threads: streaming and publisher) per variant, the anchor's
//      subtracted, as % of one core per 1000 events/s (target <= 1 %), and redis-server's own.
//   2. Sustained rate: --burst events pushed as fast as appsrc takes them, timed until the
//      last one is in Redis (EOS waits for the publisher); drops must be 0.
//
//   keepup-bench-metapublish [--seconds 10] [--rate 10000] [--events-per-frame 10]
//                            [--burst 200000] [--rounds 1]
#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "bench_util.hpp"
#include "redis_server.hpp"
#include "track_event_meta.hpp"

namespace {

struct Config {
  int seconds = 10;
  int rate = 10000;
  int per_frame = 10;
  int burst = 200000;
  int rounds = 1;
};

struct Run {
  double seconds = 0, cpu_s = 0, redis_cpu_s = 0;
  guint64 events = 0, published = 0, dropped = 0;
};

// user + system seconds of another process (/proc/<pid>/stat fields 14 and 15).
double process_cpu_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15)
      ticks += std::atof(field.c_str());
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

pid_t redis_pid(int port) {
  // The fixture does not expose its pid: find the redis-server listening on our port.
  const std::string needle = ":" + std::to_string(port);
  for (const auto &entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream cmd(entry.path() / "cmdline");
    std::string line((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (line.find("redis-server") != std::string::npos && line.find(needle) != std::string::npos)
      return static_cast<pid_t>(std::atoi(name.c_str()));
  }
  return 0;
}

// A frame carrying `n` line-crossed events as objecttrack attaches them.
GstBuffer *frame_with_events(guint64 index, int n) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, 16, nullptr);
  GST_BUFFER_PTS(buf) = index * GST_MSECOND;
  keepup::trackevents::EventBatch batch;
  for (int i = 0; i < n; ++i) {
    GstStructure *s = gst_structure_new(
        "objecttrack-line-crossed", "v", G_TYPE_UINT, 1U, "type", G_TYPE_STRING, "line-crossed",
        "stream", G_TYPE_STRING, "cam1", "wall-time", G_TYPE_STRING, "2026-12-04T16:55:01.123Z",
        "pts", G_TYPE_UINT64, GST_BUFFER_PTS(buf), "track-id", G_TYPE_UINT64,
        static_cast<guint64>(index * 16 + static_cast<guint64>(i)), "label", G_TYPE_STRING, "car",
        "class-id", G_TYPE_INT, 0, "line", G_TYPE_STRING, "gate", "direction", G_TYPE_INT, 1,
        "speed-kmh", G_TYPE_DOUBLE, 42.5, "speed-uncertainty-kmh", G_TYPE_DOUBLE, 1.5, nullptr);
    batch.add(s);
    gst_structure_free(s);
  }
  batch.attach(buf);
  return buf;
}

guint64 stat_of(GstElement *mp, const char *field) {
  guint64 v = 0;
  if (!mp)
    return 0;
  GstStructure *s = nullptr;
  g_object_get(mp, "stats", &s, nullptr);
  if (s) {
    gst_structure_get_uint64(s, field, &v);
    gst_structure_free(s);
  }
  return v;
}

// Runs one variant: `rate` events/s for `seconds` (rate 0: `total` events at once), to EOS.
bool run_variant(const std::string &publish, int rate, int seconds, int per_frame, guint64 total,
                 pid_t redis, Run &out) {
  const std::string desc = "appsrc name=src format=time max-bytes=0 block=true ! " +
                           (publish.empty() ? std::string() : publish + " name=mp ! ") +
                           "fakesink sync=false";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc.c_str(), &error);
  if (!pipeline || error) {
    std::fprintf(stderr, "cannot build %s: %s\n", desc.c_str(), error ? error->message : "?");
    return false;
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement *mp = gst_bin_get_by_name(GST_BIN(pipeline), "mp");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const guint64 frames =
      rate > 0 ? static_cast<guint64>(rate) * static_cast<guint64>(seconds) / per_frame
               : total / static_cast<guint64>(per_frame);
  const double frame_us = rate > 0 ? 1e6 * per_frame / rate : 0;
  const double cpu0 = keepup::bench::process_cpu_seconds();
  const double redis0 = redis ? process_cpu_of(redis) : 0;
  const gint64 t0 = g_get_monotonic_time();
  for (guint64 n = 0; n < frames; ++n) {
    if (frame_us > 0) {
      const gint64 due = t0 + static_cast<gint64>(static_cast<double>(n) * frame_us);
      const gint64 now = g_get_monotonic_time();
      if (due > now)
        g_usleep(static_cast<gulong>(due - now));
    }
    if (gst_app_src_push_buffer(GST_APP_SRC(src), frame_with_events(n, per_frame)) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 600 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref(m);
  out.seconds = static_cast<double>(g_get_monotonic_time() - t0) / 1e6;
  out.cpu_s = keepup::bench::process_cpu_seconds() - cpu0;
  out.redis_cpu_s = redis ? process_cpu_of(redis) - redis0 : 0;
  out.events = frames * static_cast<guint64>(per_frame);
  out.published = mp ? stat_of(mp, "published") : out.events;
  out.dropped = stat_of(mp, "dropped");
  gst_element_set_state(pipeline, GST_STATE_NULL);
  if (mp)
    gst_object_unref(mp);
  gst_object_unref(src);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  if (!ok)
    std::fprintf(stderr, "%s: no EOS (error or timeout)\n", desc.c_str());
  return ok;
}

bool parse_args(int argc, char **argv, Config &c) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (v <= 0) {
      std::fprintf(stderr, "%s takes a positive number\n", a.c_str());
      return false;
    }
    if (a == "--seconds")
      c.seconds = v;
    else if (a == "--rate")
      c.rate = v;
    else if (a == "--events-per-frame")
      c.per_frame = v;
    else if (a == "--burst")
      c.burst = v;
    else if (a == "--rounds")
      c.rounds = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: keepup-bench-metapublish [--seconds N] [--rate EV/S] "
                         "[--events-per-frame N] [--burst N] [--rounds N]\n");
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Config c;
  if (!parse_args(argc, argv, c))
    return 2;
  keepup::test::RedisServer server;
  if (keepup::test::RedisServer::binary().empty() || !server.start()) {
    std::fprintf(stderr, "keepup-bench-metapublish: cannot start redis-server\n");
    return 1;
  }
  const pid_t redis = redis_pid(server.port());
  gchar *tmp = nullptr;
  const gint fd = g_file_open_tmp("bench-metapublish-XXXXXX.jsonl", &tmp, nullptr);
  if (fd >= 0)
    close(fd);
  const std::string file = tmp ? tmp : "/tmp/bench-metapublish.jsonl";
  g_free(tmp);
  const std::string common = " stream=bench frames=none max-pending=1000000 flush-timeout=600000";
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"none", ""},
      {"file", "metapublish method=file location=" + file + common},
      {"redis", "metapublish method=redis location=" + server.uri() + common}};

  std::printf("metapublish benchmark: %d events/s (%d per frame) for %d s, %d round(s); "
              "redis-server %s\n",
              c.rate, c.per_frame, c.seconds, c.rounds, server.uri().c_str());
  std::map<std::string, Run> sum;
  for (int round = 0; round < c.rounds; ++round) {
    std::vector<std::pair<std::string, std::string>> order = variants;
    if (round % 2 == 1)
      std::reverse(order.begin(), order.end());
    for (const auto &[name, publish] : order) {
      std::fprintf(stderr, "  %s at %d events/s (round %d)...\n", name.c_str(), c.rate, round + 1);
      Run r;
      if (!run_variant(publish, c.rate, c.seconds, c.per_frame, 0, redis, r))
        return 1;
      Run &s = sum[name];
      s.seconds += r.seconds;
      s.cpu_s += r.cpu_s;
      s.redis_cpu_s += r.redis_cpu_s;
      s.events += r.events;
      s.published += r.published;
      s.dropped += r.dropped;
    }
  }
  const Run &anchor = sum["none"];
  const double anchor_cpu_pct = 100.0 * anchor.cpu_s / anchor.seconds;
  std::printf("\n%-7s %10s %10s %8s %9s %14s %11s %9s\n", "variant", "events/s", "published",
              "dropped", "cpu %", "cpu-anchor %", "%/1k ev/s", "redis %");
  for (const auto &[name, publish] : variants) {
    const Run &r = sum[name];
    const double rate = static_cast<double>(r.events) / r.seconds;
    const double cpu_pct = 100.0 * r.cpu_s / r.seconds;
    const double extra = cpu_pct - anchor_cpu_pct;
    std::printf("%-7s %10.0f %10" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT
                " %9.2f %14.2f %11.3f %9.2f\n",
                name.c_str(), rate, r.published, r.dropped, cpu_pct, extra,
                name == "none" ? 0.0 : extra / (rate / 1000.0), 100.0 * r.redis_cpu_s / r.seconds);
  }
  const Run &redis_run = sum["redis"];
  const double per_1k = (100.0 * redis_run.cpu_s / redis_run.seconds - anchor_cpu_pct) /
                        (static_cast<double>(redis_run.events) / redis_run.seconds / 1000.0);
  std::printf(
      "\nredis: %.3f %% of one core per 1000 events/s above the anchor (target <= 1 %%): %s\n",
      per_1k, per_1k <= 1.0 ? "met" : "NOT met");

  std::fprintf(stderr, "  burst of %d events into redis...\n", c.burst);
  Run burst;
  if (!run_variant(variants[2].second, 0, 0, c.per_frame, static_cast<guint64>(c.burst), redis,
                   burst))
    return 1;
  std::printf("sustained: %" G_GUINT64_FORMAT " events into redis in %.2f s = %.0f events/s "
              "(published %" G_GUINT64_FORMAT ", dropped %" G_GUINT64_FORMAT
              "; process CPU %.0f %%, redis-server %.0f %% of one core)\n",
              burst.events, burst.seconds, static_cast<double>(burst.published) / burst.seconds,
              burst.published, burst.dropped, 100.0 * burst.cpu_s / burst.seconds,
              100.0 * burst.redis_cpu_s / burst.seconds);
  g_remove(file.c_str());
  return 0;
}
