// SPDX-License-Identifier: LGPL-2.1-or-later
// What the stagelatency tracer reports, as values and as text, without GStreamer: the events
// of its JSON-lines file (gap, slow/critical, telemetry, memory, memory-warning, drops), the
// summary (one row per stage) as a JSON line and as the aligned table on stderr, and the
// Chrome trace events.
//
// Every machine-readable number goes through nlohmann::json, whose serializer does not look
// at the C locale: gst-launch-1.0 calls setlocale(LC_ALL, ""), and printf / std::to_string
// would write 0,5 under de_DE. Keys keep the order they are set in (ordered_json), so the
// lines read as before: "type" first. The table is for people and keeps the locale's
// decimal separator.
#pragma once

#include "stage_profiler.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keepup::stagelatency {

using Json = nlohmann::ordered_json;

enum class StageKind { processing, queue, sink };
const char *kind_name(StageKind kind); // "processing", "queue", "sink"

struct DropCounts {
  uint64_t in = 0, out = 0, dropped = 0;
};

// One stage of a summary, from its merged histograms.
struct StageRow {
  std::string element, factory;
  StageKind kind = StageKind::processing;
  uint64_t buffers = 0;
  double fps = 0;
  uint64_t total_ns = 0, p50_ns = 0, p95_ns = 0, p99_ns = 0, max_ns = 0;
  uint64_t residence_p50_ns = 0, residence_p95_ns = 0; // queue-like stages only
  int64_t max_gap_ns = 0;
  uint64_t gaps = 0;
  std::optional<DropCounts> dropqueue; // a dropqueue's last stats
};

// Fills a row's counts from a stage's merged histograms.
StageRow stage_row(std::string element, std::string factory, StageKind kind,
                   const Histogram &exclusive, const Histogram &residence);

struct Summary {
  bool final = false;
  double wall_s = 0;
  double rss_mb = 0, peak_rss_mb = 0, growth_mb_per_min = 0;
  std::vector<StageRow> rows; // slowest (largest total) first
};

Json to_json(const Summary &s);         // {"type":"summary","final":..,"t":..,"stages":[..]}
std::string to_table(const Summary &s); // the stderr table, one line per stage, '\n' ended

// JSON-lines events. `t` is seconds since the tracer started.
Json gap_event(double t, const std::string &pad, int64_t gap_ns, const Attribution &a,
               const std::vector<StageInfo> &stages);
Json slow_event(double t, const std::string &element, double ms, bool critical);
Json telemetry_event(const std::string &line);
Json memory_event(double t, double rss_mb, double growth_mb_per_min);
Json memory_limit_event(double t, double rss_mb);
Json memory_growth_event(double t, double rss_mb, double growth_mb_per_min);
Json drops_event(double t, const std::string &element, const DropCounts &counts);

// "[TELEMETRY] Frame 3 at fakesink0: x264enc0=41.2ms idle=1.1ms TOTAL=42.6ms" (for people).
std::string format_telemetry_line(uint32_t frame, const std::string &sink, int64_t gap_ns,
                                  const Attribution &a, const std::vector<StageInfo> &stages);

// One complete ("X") slice of the Chrome trace-event format, times in microseconds.
Json chrome_event(const std::string &name, uint64_t tid, double ts_us, double dur_us);

// One JSON value per line, compact. Invalid UTF-8 in names is replaced, never thrown.
std::string dump_line(const Json &j);

} // namespace keepup::stagelatency
