// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-overload: memory and CPU of a live 1080p30 source feeding an encoder that
// cannot keep up, with three buffers in between:
//   unbounded  queue max-size-buffers=0 max-size-bytes=0 max-size-time=0
//   leaky      queue leaky=downstream max-size-buffers=2 (the anchor)
//   dropqueue  dropqueue (defaults: 2 buffers, leaky=downstream)
// Each variant runs in a child process of its own so RSS figures do not mix. Prints a table
// with ratios against the anchor measured in the same run.
//
//   keepup-bench-overload [--seconds 60] [--warmup 10] [--rounds 1] [--preset medium]
//                         [--variants unbounded,leaky,dropqueue]
#include <gst/gst.h>

#include "bench_util.hpp"
#include "least_squares.hpp"
#include "process_stats.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Config {
  int seconds = 60;
  int warmup = 10;
  int rounds = 1;
  std::string preset = "medium";
  std::vector<std::string> variants = {"unbounded", "leaky", "dropqueue"};
  std::string child; // run one variant and print its RESULT line
};

struct Result {
  double rss10_mb = 0, rss_end_mb = 0, growth_mb_min = 0, cpu_s = 0;
  double in = 0, out = 0, dropped = 0;
  int runs = 0;
};

const char *element_for(const std::string &variant) {
  if (variant == "unbounded")
    return "queue max-size-buffers=0 max-size-bytes=0 max-size-time=0";
  if (variant == "leaky")
    return "queue leaky=downstream max-size-buffers=2 max-size-bytes=0 max-size-time=0";
  if (variant == "dropqueue")
    return "dropqueue stats-interval=0";
  return nullptr;
}

struct Counter {
  guint64 buffers = 0;
};

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *, gpointer data) {
  g_atomic_pointer_add(&static_cast<Counter *>(data)->buffers, 1);
  return GST_PAD_PROBE_OK;
}

int run_child(const Config &c) {
  const char *x = element_for(c.child);
  if (!x) {
    std::fprintf(stderr, "unknown variant %s\n", c.child.c_str());
    return 2;
  }
  gchar *desc = g_strdup_printf("videotestsrc is-live=true pattern=snow ! "
                                "video/x-raw,width=1920,height=1080,framerate=30/1 ! %s name=x ! "
                                "x264enc speed-preset=%s ! fakesink",
                                x, c.preset.c_str());
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch(desc, &error);
  g_free(desc);
  if (!pipeline || error) {
    std::fprintf(stderr, "cannot build pipeline: %s\n", error ? error->message : "?");
    return 1;
  }
  GstElement *xe = gst_bin_get_by_name(GST_BIN(pipeline), "x");
  Counter in, out;
  GstPad *sink = gst_element_get_static_pad(xe, "sink");
  GstPad *src = gst_element_get_static_pad(xe, "src");
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &in, nullptr);
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &out, nullptr);

  const double cpu0 = keepup::bench::process_cpu_seconds();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  std::vector<std::pair<double, double>> after_warmup;
  double rss10 = 0;
  const gint64 start = g_get_monotonic_time();
  for (int second = 1; second <= c.seconds; ++second) {
    const gint64 deadline = start + static_cast<gint64>(second) * G_USEC_PER_SEC;
    const gint64 wait_us = std::max<gint64>(0, deadline - g_get_monotonic_time());
    if (GstMessage *m = gst_bus_timed_pop_filtered(bus, static_cast<GstClockTime>(wait_us) * 1000,
                                                   GST_MESSAGE_ERROR)) {
      GError *err = nullptr;
      gst_message_parse_error(m, &err, nullptr);
      std::fprintf(stderr, "pipeline error: %s\n", err->message);
      return 1;
    }
    const double rss = keepup::process_rss_mb();
    if (second == std::min(10, c.seconds))
      rss10 = rss;
    if (second >= c.warmup)
      after_warmup.emplace_back(static_cast<double>(second), rss);
  }
  const double rss_end = keepup::process_rss_mb();
  guint level = 0;
  g_object_get(xe, "current-level-buffers", &level, nullptr);
  const guint64 n_in = in.buffers, n_out = out.buffers;
  const double cpu = keepup::bench::process_cpu_seconds() - cpu0;
  // No EOS drain: the unbounded queue would need minutes to encode its backlog.
  gst_element_set_state(pipeline, GST_STATE_NULL);
  std::printf(
      "RESULT variant=%s rss10_mb=%.1f rss_end_mb=%.1f growth_mb_min=%.2f in=%" G_GUINT64_FORMAT
      " out=%" G_GUINT64_FORMAT " dropped=%" G_GUINT64_FORMAT " cpu_s=%.2f\n",
      c.child.c_str(), rss10, rss_end, keepup::least_squares_slope(after_warmup) * 60.0, n_in,
      n_out, n_in - n_out - level, cpu);
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(xe);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return 0;
}

bool parse_result(const std::string &line, Result &r) {
  if (line.rfind("RESULT ", 0) != 0)
    return false;
  std::istringstream in(line.substr(7));
  std::string kv;
  std::map<std::string, double> v;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq) != "variant")
      v[kv.substr(0, eq)] = std::atof(kv.c_str() + eq + 1);
  }
  r.rss10_mb += v["rss10_mb"];
  r.rss_end_mb += v["rss_end_mb"];
  r.growth_mb_min += v["growth_mb_min"];
  r.in += v["in"];
  r.out += v["out"];
  r.dropped += v["dropped"];
  r.cpu_s += v["cpu_s"];
  ++r.runs;
  return true;
}

int run_parent(const Config &c, const char *self) {
  std::map<std::string, Result> results;
  std::printf("overload benchmark: live 1080p30 snow -> X -> x264enc speed-preset=%s -> fakesink,"
              " %d s per run, %d round(s), growth measured after %d s\n",
              c.preset.c_str(), c.seconds, c.rounds, c.warmup);
  std::fflush(stdout);
  for (int round = 0; round < c.rounds; ++round) {
    // Alternate the order between rounds so drift (thermal, page cache) hits all alike.
    std::vector<std::string> order = c.variants;
    if (round % 2 == 1)
      std::reverse(order.begin(), order.end());
    for (const auto &variant : order) {
      std::string cmd = std::string("'") + self + "' --child " + variant + " --seconds " +
                        std::to_string(c.seconds) + " --warmup " + std::to_string(c.warmup) +
                        " --preset " + c.preset;
      std::fprintf(stderr, "  running %s (round %d)...\n", variant.c_str(), round + 1);
      FILE *p = popen(cmd.c_str(), "r");
      if (!p) {
        std::fprintf(stderr, "cannot start %s\n", cmd.c_str());
        return 1;
      }
      char buf[1024];
      bool ok = false;
      while (std::fgets(buf, sizeof buf, p))
        ok |= parse_result(buf, results[variant]);
      if (pclose(p) != 0 || !ok) {
        std::fprintf(stderr, "variant %s failed\n", variant.c_str());
        return 1;
      }
    }
  }
  const std::string anchor = "leaky";
  const Result *a = results.count(anchor) ? &results[anchor] : nullptr;
  std::printf("\n%-10s %9s %10s %12s %7s %7s %8s %7s %9s\n", "variant", "rss@10s", "rss@end",
              "growth", "in", "out", "dropped", "cpu s", "cpu/anchor");
  std::printf("%-10s %9s %10s %12s %7s %7s %8s %7s %9s\n", "", "MB", "MB", "MB/min", "", "", "", "",
              "(leaky)");
  for (const auto &variant : c.variants) {
    const Result &r = results[variant];
    const double n = r.runs;
    const double cpu_ratio = a && a->cpu_s > 0 ? (r.cpu_s / n) / (a->cpu_s / a->runs) : 0;
    std::printf("%-10s %9.0f %10.0f %12.1f %7.0f %7.0f %8.0f %7.1f %9.2f\n", variant.c_str(),
                r.rss10_mb / n, r.rss_end_mb / n, r.growth_mb_min / n, r.in / n, r.out / n,
                r.dropped / n, r.cpu_s / n, cpu_ratio);
  }
  if (results.count("dropqueue") && a) {
    const Result &d = results["dropqueue"];
    const double growth = d.growth_mb_min / d.runs;
    const double cpu_ratio = (d.cpu_s / d.runs) / (a->cpu_s / a->runs);
    std::printf("\ngoal: dropqueue RSS growth <= 1 MB/min: %.2f -> %s\n", growth,
                growth <= 1.0 ? "met" : "NOT met");
    std::printf("goal: dropqueue CPU within 10%% of leaky queue: %.2fx -> %s\n", cpu_ratio,
                cpu_ratio <= 1.10 ? "met" : "NOT met");
  }
  return 0;
}

std::vector<std::string> split(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--seconds" && has_value)
      c.seconds = std::atoi(argv[++i]);
    else if (a == "--warmup" && has_value)
      c.warmup = std::atoi(argv[++i]);
    else if (a == "--rounds" && has_value)
      c.rounds = std::atoi(argv[++i]);
    else if (a == "--preset" && has_value)
      c.preset = argv[++i];
    else if (a == "--variants" && has_value)
      c.variants = split(argv[++i]);
    else if (a == "--child" && has_value)
      c.child = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: %s [--seconds 60] [--warmup 10] [--rounds 1] [--preset medium] "
                   "[--variants unbounded,leaky,dropqueue]\n",
                   argv[0]);
      return 2;
    }
  }
  if (c.seconds < 2 || c.rounds < 1 || c.warmup < 1 || c.warmup >= c.seconds) {
    std::fprintf(stderr, "need --seconds >= 2, --rounds >= 1 and 1 <= --warmup < --seconds\n");
    return 2;
  }
  for (const auto &v : c.variants)
    if (!element_for(v)) {
      std::fprintf(stderr, "unknown variant '%s' (unbounded, leaky, dropqueue)\n", v.c_str());
      return 2;
    }
  if (!c.child.empty())
    return run_child(c);
  // Children are this very binary, wherever it was started from.
  gchar *self = g_file_read_link("/proc/self/exe", nullptr);
  const int rc = run_parent(c, self ? self : argv[0]);
  g_free(self);
  return rc;
}
