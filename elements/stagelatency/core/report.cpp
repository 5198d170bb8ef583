// SPDX-License-Identifier: LGPL-2.1-or-later
#include "report.hpp"

#include <cstdio>

namespace keepup::stagelatency {

const char *kind_name(StageKind kind) {
  switch (kind) {
  case StageKind::queue:
    return "queue";
  case StageKind::sink:
    return "sink";
  case StageKind::processing:
    break;
  }
  return "processing";
}

StageRow stage_row(std::string element, std::string factory, StageKind kind,
                   const Histogram &exclusive, const Histogram &residence) {
  StageRow r;
  r.element = std::move(element);
  r.factory = std::move(factory);
  r.kind = kind;
  r.buffers = exclusive.count();
  r.total_ns = exclusive.sum();
  r.p50_ns = exclusive.percentile(0.5);
  r.p95_ns = exclusive.percentile(0.95);
  r.p99_ns = exclusive.percentile(0.99);
  r.max_ns = exclusive.max();
  r.residence_p50_ns = residence.percentile(0.5);
  r.residence_p95_ns = residence.percentile(0.95);
  return r;
}

namespace {

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}
double mean_ms(const StageRow &r) {
  return r.buffers ? ms(r.total_ns) / static_cast<double>(r.buffers) : 0;
}
double share(const StageRow &r, double wall_s) {
  return wall_s > 0 ? static_cast<double>(r.total_ns) / 1e9 / wall_s : 0;
}

} // namespace

Json to_json(const Summary &s) {
  Json stages = Json::array();
  for (const StageRow &r : s.rows) {
    Json j;
    j["element"] = r.element;
    j["factory"] = r.factory;
    j["kind"] = kind_name(r.kind);
    j["buffers"] = r.buffers;
    j["fps"] = r.fps;
    j["mean_ms"] = mean_ms(r);
    j["p50_ms"] = ms(r.p50_ns);
    j["p95_ms"] = ms(r.p95_ns);
    j["p99_ms"] = ms(r.p99_ns);
    j["max_ms"] = ms(r.max_ns);
    j["total_s"] = static_cast<double>(r.total_ns) / 1e9;
    j["share"] = share(r, s.wall_s);
    j["max_gap_ms"] = static_cast<double>(r.max_gap_ns) / 1e6;
    j["gaps"] = r.gaps;
    if (r.kind == StageKind::queue) {
      j["residence_p50_ms"] = ms(r.residence_p50_ns);
      j["residence_p95_ms"] = ms(r.residence_p95_ns);
    }
    if (r.dropqueue)
      j["dropqueue"] = {
          {"in", r.dropqueue->in}, {"out", r.dropqueue->out}, {"dropped", r.dropqueue->dropped}};
    stages.push_back(std::move(j));
  }
  Json out;
  out["type"] = "summary";
  out["final"] = s.final;
  out["t"] = s.wall_s;
  out["rss_mb"] = s.rss_mb;
  out["stages"] = std::move(stages);
  return out;
}

std::string to_table(const Summary &s) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "stagelatency %s summary after %.1f s (RSS %.0f MB, peak %.0f MB, growth %.1f "
                "MB/min)\n",
                s.final ? "final" : "periodic", s.wall_s, s.rss_mb, s.peak_rss_mb,
                s.growth_mb_per_min);
  out += buf;
  std::snprintf(buf, sizeof buf, "  %-24s %8s %7s %8s %8s %8s %8s %8s %6s %9s %9s %8s  %s\n",
                "stage", "buffers", "fps", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms",
                "share", "res p50", "res p95", "max gap", "notes");
  out += buf;
  for (const StageRow &r : s.rows) {
    std::string notes = r.kind == StageKind::queue  ? "queue (time = waiting)"
                        : r.kind == StageKind::sink ? "sink (time = waiting/sync)"
                                                    : "";
    if (r.dropqueue) {
      std::snprintf(buf, sizeof buf, "; in %llu out %llu dropped %llu",
                    static_cast<unsigned long long>(r.dropqueue->in),
                    static_cast<unsigned long long>(r.dropqueue->out),
                    static_cast<unsigned long long>(r.dropqueue->dropped));
      notes += buf;
    }
    char res50[32] = "-", res95[32] = "-";
    if (r.kind == StageKind::queue) {
      std::snprintf(res50, sizeof res50, "%.2f", ms(r.residence_p50_ns));
      std::snprintf(res95, sizeof res95, "%.2f", ms(r.residence_p95_ns));
    }
    std::snprintf(buf, sizeof buf,
                  "  %-24s %8llu %7.1f %8.2f %8.2f %8.2f %8.2f %8.2f %5.1f%% %9s %9s %8.1f  ",
                  r.element.c_str(), static_cast<unsigned long long>(r.buffers), r.fps, mean_ms(r),
                  ms(r.p50_ns), ms(r.p95_ns), ms(r.p99_ns), ms(r.max_ns), share(r, s.wall_s) * 100,
                  res50, res95, static_cast<double>(r.max_gap_ns) / 1e6);
    out += buf; // a name longer than the buffer is cut, the notes never are
    out += notes + "\n";
  }
  return out;
}

Json gap_event(double t, const std::string &pad, int64_t gap_ns, const Attribution &a,
               const std::vector<StageInfo> &stages) {
  auto name = [&](uint32_t id) { return id < stages.size() ? stages[id].name : std::string(); };
  Json list = Json::array();
  for (const auto &[id, ns] : a.stages) {
    const bool blocking = id < stages.size() && stages[id].blocking;
    list.push_back(Json{{"element", name(id)},
                        {"kind", blocking ? "blocked" : "processing"},
                        {"s", static_cast<double>(ns) / 1e9}});
  }
  Json j;
  j["type"] = "gap";
  j["t"] = t;
  j["pad"] = pad;
  j["gap_s"] = static_cast<double>(gap_ns) / 1e9;
  j["stages"] = std::move(list);
  j["idle_s"] = static_cast<double>(a.idle_ns) / 1e9;
  j["src"] = name(a.idle_source);
  j["complete"] = a.complete;
  return j;
}

Json slow_event(double t, const std::string &element, double ms_value, bool critical) {
  return Json{
      {"type", critical ? "critical" : "slow"}, {"t", t}, {"element", element}, {"ms", ms_value}};
}

Json telemetry_event(const std::string &line) {
  return Json{{"type", "telemetry"}, {"line", line}};
}

Json memory_event(double t, double rss_mb, double growth) {
  return Json{{"type", "memory"}, {"t", t}, {"rss_mb", rss_mb}, {"growth_mb_per_min", growth}};
}

Json memory_limit_event(double t, double rss_mb) {
  return Json{{"type", "memory-warning"}, {"reason", "limit"}, {"t", t}, {"rss_mb", rss_mb}};
}

Json memory_growth_event(double t, double rss_mb, double growth) {
  return Json{{"type", "memory-warning"},
              {"reason", "growth"},
              {"t", t},
              {"rss_mb", rss_mb},
              {"growth_mb_per_min", growth}};
}

Json drops_event(double t, const std::string &element, const DropCounts &c) {
  return Json{{"type", "drops"}, {"t", t},       {"element", element},
              {"in", c.in},      {"out", c.out}, {"dropped", c.dropped}};
}

std::string format_telemetry_line(uint32_t frame, const std::string &sink, int64_t gap_ns,
                                  const Attribution &a, const std::vector<StageInfo> &stages) {
  std::string line = "[TELEMETRY] Frame " + std::to_string(frame) + " at " + sink + ":";
  char buf[96];
  for (const auto &[id, ns] : a.stages) {
    line += " " + (id < stages.size() ? stages[id].name : std::string("?"));
    std::snprintf(buf, sizeof buf, "=%.1fms", static_cast<double>(ns) / 1e6);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, " idle=%.1fms TOTAL=%.1fms", static_cast<double>(a.idle_ns) / 1e6,
                static_cast<double>(gap_ns) / 1e6);
  return line + buf;
}

Json chrome_event(const std::string &name, uint64_t tid, double ts_us, double dur_us) {
  return Json{{"name", name}, {"cat", "stage"}, {"ph", "X"},    {"pid", 1},
              {"tid", tid},   {"ts", ts_us},    {"dur", dur_us}};
}

std::string dump_line(const Json &j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace keepup::stagelatency
