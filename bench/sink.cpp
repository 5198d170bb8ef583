// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-bench-sink: throughput and CPU of writing MPEG-TS to disk with filesink and with
// tsrecordsink in each sync mode. A few seconds of real muxer output (H.264 in TS) is
// repeated up to --mb megabytes and pushed from appsrc in --buffer-size buffers (1316 =
// 7 packets, what mpegtsmux hands out for UDP alignment). Variants alternate between
// rounds; each run deletes its file and the page cache is flushed (sync) between runs.
//
// Two times per run: "write" until the sink has handled EOS (filesink: data in the page
// cache; tsrecordsink: drained, synced per its mode, renamed), and "durable" including an
// fdatasync of the result by the benchmark afterwards, so filesink's missing sync is paid
// too. Ratios are against filesink measured in the same run.
//
//   keepup-bench-sink [--mb 2048] [--rounds 2] [--buffer-size 1316] [--dir DIR]
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "bench_util.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

struct Config {
  size_t mb = 2048;
  int rounds = 2;
  size_t buffer_size = 1316;
  std::string dir = ".";
};

struct Totals {
  double write_s = 0, durable_s = 0, cpu_s = 0;
  int runs = 0;
};

const std::vector<std::pair<std::string, std::string>> kVariants = {
    {"filesink", "filesink"},
    {"ts-none", "tsrecordsink sync-mode=none min-free-bytes=0"},
    {"ts-flush", "tsrecordsink sync-mode=flush min-free-bytes=0"},
    {"ts-fsync", "tsrecordsink sync-mode=fsync min-free-bytes=0"},
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<uint8_t> sample_ts() {
  std::vector<uint8_t> out;
  GstElement *p = gst_parse_launch(
      "videotestsrc num-buffers=150 pattern=snow ! video/x-raw,width=640,height=360 ! "
      "x264enc bitrate=8000 speed-preset=ultrafast key-int-max=30 ! mpegtsmux ! "
      "appsink name=sink sync=false",
      nullptr);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstSample *s;
  g_signal_emit_by_name(sink, "pull-sample", &s);
  while (s) {
    GstMapInfo map;
    gst_buffer_map(gst_sample_get_buffer(s), &map, GST_MAP_READ);
    out.insert(out.end(), map.data, map.data + map.size);
    gst_buffer_unmap(gst_sample_get_buffer(s), &map);
    gst_sample_unref(s);
    g_signal_emit_by_name(sink, "pull-sample", &s);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(p);
  return out;
}

bool run_one(const Config &c, const std::vector<uint8_t> &ts, const std::string &sink_desc,
             double &write_s, double &durable_s, double &cpu) {
  const std::string path = c.dir + "/keepup-bench-sink.ts";
  std::remove(path.c_str());
  const std::string desc =
      "appsrc name=src format=bytes caps=\"video/mpegts,systemstream=(boolean)true,"
      "packetsize=(int)188\" max-bytes=" +
      std::to_string(64 << 20) + " block=true ! " + sink_desc + " location=" + path;
  GError *error = nullptr;
  GstElement *p = gst_parse_launch(desc.c_str(), &error);
  if (!p || error) {
    std::fprintf(stderr, "pipeline: %s\n", error ? error->message : "?");
    return false;
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(p), "src");
  gst_element_set_state(p, GST_STATE_PLAYING);
  const size_t total = c.mb << 20;
  // Buffers are made before timing starts: the benchmark measures the sinks, not malloc.
  const size_t chunk = c.buffer_size - c.buffer_size % 188;
  std::vector<GstBuffer *> ring;
  for (size_t off = 0; off + chunk <= ts.size(); off += chunk)
    ring.push_back(gst_buffer_new_memdup(ts.data() + off, chunk));
  const double cpu0 = keepup::bench::process_cpu_seconds(), t0 = now_s();
  size_t pushed = 0, i = 0;
  while (pushed < total) {
    gst_app_src_push_buffer(GST_APP_SRC(src), gst_buffer_ref(ring[i++ % ring.size()]));
    pushed += chunk;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  GstBus *bus = gst_element_get_bus(p);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 600 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref(m);
  gst_element_set_state(p, GST_STATE_NULL); // filesink closes (fclose) here
  write_s = now_s() - t0;
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fdatasync(fd);
    ::close(fd);
  }
  durable_s = now_s() - t0;
  cpu = keepup::bench::process_cpu_seconds() - cpu0;
  for (auto *b : ring)
    gst_buffer_unref(b);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(p);
  std::remove(path.c_str());
  ::sync();
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool v = i + 1 < argc;
    if (a == "--mb" && v)
      c.mb = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--rounds" && v)
      c.rounds = std::atoi(argv[++i]);
    else if (a == "--buffer-size" && v)
      c.buffer_size = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--dir" && v)
      c.dir = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--mb 2048] [--rounds 2] [--buffer-size 1316] [--dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (c.mb == 0 || c.rounds < 1 || c.buffer_size < 188) {
    std::fprintf(stderr, "need --mb > 0, --rounds >= 1, --buffer-size >= 188\n");
    return 2;
  }
  const std::vector<uint8_t> ts = sample_ts();
  std::printf("sink benchmark: %zu MB of H.264-in-TS per run in %zu-byte buffers, %d round(s), "
              "dir %s\n",
              c.mb, c.buffer_size - c.buffer_size % 188, c.rounds, c.dir.c_str());
  std::fflush(stdout);
  std::map<std::string, Totals> totals;
  for (int round = 0; round < c.rounds; ++round) {
    auto order = kVariants;
    if (round % 2 == 1)
      std::reverse(order.begin(), order.end());
    for (const auto &[name, desc] : order) {
      double w = 0, d = 0, cpu = 0;
      std::fprintf(stderr, "  %s (round %d)...\n", name.c_str(), round + 1);
      if (!run_one(c, ts, desc, w, d, cpu)) {
        std::fprintf(stderr, "%s failed\n", name.c_str());
        return 1;
      }
      auto &t = totals[name];
      t.write_s += w;
      t.durable_s += d;
      t.cpu_s += cpu;
      ++t.runs;
    }
  }
  const Totals &a = totals["filesink"];
  const double mb = static_cast<double>(c.mb);
  std::printf("\n%-9s %10s %12s %8s %12s %13s %10s\n", "variant", "write MB/s", "durable MB/s",
              "cpu s", "write/anchor", "durable/anchor", "cpu/anchor");
  for (const auto &[name, desc] : kVariants) {
    const Totals &t = totals[name];
    const double n = t.runs;
    std::printf("%-9s %10.0f %12.0f %8.2f %12.2f %13.2f %10.2f\n", name.c_str(),
                mb / (t.write_s / n), mb / (t.durable_s / n), t.cpu_s / n,
                (a.write_s / a.runs) / (t.write_s / n), (a.durable_s / a.runs) / (t.durable_s / n),
                (t.cpu_s / n) / (a.cpu_s / a.runs));
  }
  const Totals &f = totals["ts-flush"], &s = totals["ts-fsync"];
  const double flush_ratio = (a.durable_s / a.runs) / (f.durable_s / f.runs);
  const double fsync_cost = (s.durable_s / s.runs) / (f.durable_s / f.runs);
  std::printf("\n(throughput ratios: >1 is faster than filesink; cpu ratio: <1 is cheaper)\n");
  std::printf("goal: flush mode >= 1.0x filesink (durable MB/s): %.2fx -> %s\n", flush_ratio,
              flush_ratio >= 1.0 ? "met" : "NOT met");
  std::printf("goal: fsync mode costs <= 1.2x flush mode (durable time): %.2fx -> %s\n", fsync_cost,
              fsync_cost <= 1.2 ? "met" : "NOT met");
  return 0;
}
