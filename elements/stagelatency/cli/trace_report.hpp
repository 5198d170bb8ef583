// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-trace-report's reading and rendering, apart from its main() so that tests and the
// trace_report_jsonl fuzz target call them: read_line turns one line of a stagelatency
// JSON-lines file into a record or a rejection with its reason, Report gathers the records,
// render_html writes the page (inline SVG, no scripts, no network).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keepup::trace_report {

using nlohmann::json;

inline std::string esc(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

inline std::string fmt(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Horizontal bars on a log scale: p50 box to p95, whiskers to p99 and max.
inline std::string distribution_svg(const json &stages) {
  const int row = 26, left = 200, width = 900, plot = width - left - 20;
  double lo = 1e9, hi = 0;
  for (const auto &s : stages) {
    lo = std::min(lo, std::max(0.001, s.value("p50_ms", 0.0)));
    hi = std::max(hi, std::max(0.001, s.value("max_ms", 0.0)));
  }
  if (stages.empty() || hi <= 0)
    return "<p>No stage data.</p>";
  lo = std::pow(10, std::floor(std::log10(lo)));
  hi = std::pow(10, std::ceil(std::log10(hi)));
  if (hi <= lo)
    hi = lo * 10;
  auto x = [&](double ms) {
    const double v = std::clamp(ms, lo, hi);
    return left + plot * (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  };
  const int height = static_cast<int>(stages.size()) * row + 40;
  std::ostringstream o;
  o << "<svg width='" << width << "' height='" << height
    << "' font-family='sans-serif' font-size='12'>";
  for (double t = lo; t <= hi * 1.001; t *= 10) {
    o << "<line x1='" << x(t) << "' x2='" << x(t) << "' y1='10' y2='" << height - 25
      << "' stroke='#ddd'/><text x='" << x(t) << "' y='" << height - 10 << "' text-anchor='middle'>"
      << fmt(t, t < 1 ? 3 : 0) << " ms</text>";
  }
  int i = 0;
  for (const auto &s : stages) {
    const double y = 15 + i++ * row;
    const std::string kind = s.value("kind", "processing");
    const char *colour = kind == "processing" ? "#4a7fd4" : "#9aa5b1";
    o << "<text x='" << left - 8 << "' y='" << y + 13 << "' text-anchor='end'>"
      << esc(s.value("element", "?")) << "</text>";
    o << "<line x1='" << x(s.value("p95_ms", 0.0)) << "' x2='" << x(s.value("max_ms", 0.0))
      << "' y1='" << y + 9 << "' y2='" << y + 9 << "' stroke='#333'/>";
    o << "<rect x='" << x(s.value("p50_ms", 0.0)) << "' y='" << y + 2 << "' width='"
      << std::max(2.0, x(s.value("p95_ms", 0.0)) - x(s.value("p50_ms", 0.0)))
      << "' height='14' fill='" << colour << "'><title>" << esc(s.value("element", "")) << ": p50 "
      << fmt(s.value("p50_ms", 0.0)) << " ms, p95 " << fmt(s.value("p95_ms", 0.0)) << " ms, p99 "
      << fmt(s.value("p99_ms", 0.0)) << " ms, max " << fmt(s.value("max_ms", 0.0))
      << " ms</title></rect>";
    o << "<line x1='" << x(s.value("p99_ms", 0.0)) << "' x2='" << x(s.value("p99_ms", 0.0))
      << "' y1='" << y + 2 << "' y2='" << y + 16 << "' stroke='#c33' stroke-width='2'/>";
  }
  o << "</svg>";
  return o.str();
}

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

// A time axis with gap bars, slow-frame ticks, and lines for RSS and drops.
inline std::string timeline_svg(double t_end, const std::vector<json> &gaps,
                                const std::vector<json> &slow, const Series &rss,
                                const std::vector<Series> &drops) {
  const int width = 900, left = 60, plot = width - left - 20, lane = 90;
  const int height = lane * 3 + 60;
  if (t_end <= 0)
    t_end = 1;
  auto x = [&](double t) { return left + plot * std::clamp(t / t_end, 0.0, 1.0); };
  std::ostringstream o;
  o << "<svg width='" << width << "' height='" << height
    << "' font-family='sans-serif' font-size='12'>";
  const char *titles[] = {"gaps (s) and slow frames", "RSS (MB)", "dropped (total)"};
  for (int l = 0; l < 3; ++l) {
    const int top = 10 + l * (lane + 10);
    o << "<rect x='" << left << "' y='" << top << "' width='" << plot << "' height='" << lane
      << "' fill='#fafafa' stroke='#ccc'/><text x='" << left + 4 << "' y='" << top + 14 << "'>"
      << titles[l] << "</text>";
  }
  double max_gap = 0;
  for (const auto &g : gaps)
    max_gap = std::max(max_gap, g.value("gap_s", 0.0));
  for (const auto &g : gaps) {
    const double h = max_gap > 0 ? (lane - 20) * g.value("gap_s", 0.0) / max_gap : 0;
    o << "<rect x='" << x(g.value("t", 0.0)) - 2 << "' y='" << 10 + lane - h
      << "' width='4' height='" << h << "' fill='#d9534f'><title>" << esc(g.value("pad", ""))
      << ": " << fmt(g.value("gap_s", 0.0)) << " s</title></rect>";
  }
  for (const auto &s : slow)
    o << "<line x1='" << x(s.value("t", 0.0)) << "' x2='" << x(s.value("t", 0.0)) << "' y1='"
      << 10 + lane - 8 << "' y2='" << 10 + lane << "' stroke='#f0ad4e' stroke-width='2'><title>"
      << esc(s.value("element", "")) << " " << fmt(s.value("ms", 0.0), 1) << " ms</title></line>";
  auto polyline = [&](const Series &s, int top, double max_v, const char *colour) {
    if (s.points.empty() || max_v <= 0)
      return;
    o << "<polyline fill='none' stroke='" << colour << "' stroke-width='2' points='";
    for (const auto &[t, v] : s.points)
      o << x(t) << "," << top + lane - (lane - 20) * v / max_v << " ";
    o << "'><title>" << esc(s.name) << "</title></polyline>";
  };
  double max_rss = 0;
  for (const auto &[t, v] : rss.points)
    max_rss = std::max(max_rss, v);
  polyline(rss, 10 + lane + 10, max_rss, "#4a7fd4");
  o << "<text x='" << left - 4 << "' y='" << 10 + lane + 10 + 24 << "' text-anchor='end'>"
    << fmt(max_rss, 0) << "</text>";
  double max_drop = 0;
  for (const auto &d : drops)
    for (const auto &[t, v] : d.points)
      max_drop = std::max(max_drop, v);
  const char *colours[] = {"#5cb85c", "#8e44ad", "#e67e22", "#16a085"};
  for (size_t i = 0; i < drops.size(); ++i)
    polyline(drops[i], 10 + 2 * (lane + 10), max_drop, colours[i % 4]);
  o << "<text x='" << left - 4 << "' y='" << 10 + 2 * (lane + 10) + 24 << "' text-anchor='end'>"
    << fmt(max_drop, 0) << "</text>";
  for (int i = 0; i <= 10; ++i) {
    const double t = t_end * i / 10;
    o << "<text x='" << x(t) << "' y='" << height - 8 << "' text-anchor='middle'>" << fmt(t, 1)
      << " s</text>";
  }
  o << "</svg>";
  return o.str();
}

// The fields the report reads, with the JSON type each must have when present. A record
// with another type there (a line that is not an object, "t":"soon", stages not a list)
// would throw from json::value() while rendering: such lines are skipped instead. Numbers
// must be finite (1e400 reads as infinity).
inline bool fields_ok(const json &j, std::initializer_list<const char *> numbers,
                      std::initializer_list<const char *> strings) {
  if (!j.is_object())
    return false;
  for (const char *k : numbers)
    if (j.contains(k) && !(j[k].is_number() && std::isfinite(j[k].get<double>())))
      return false;
  for (const char *k : strings)
    if (j.contains(k) && !j[k].is_string())
      return false;
  return true;
}

inline bool stages_ok(const json &stages, std::initializer_list<const char *> numbers) {
  if (!stages.is_array())
    return false;
  for (const auto &s : stages)
    if (!fields_ok(s, numbers, {"element", "kind"}))
      return false;
  return true;
}

// Checks a record and gives a gap without "stages" an empty list. False: skip the line.
inline bool usable_record(json &j) {
  if (!fields_ok(j, {"t", "gap_s", "idle_s", "rss_mb", "dropped", "ms"},
                 {"type", "element", "pad", "src"}))
    return false;
  const std::string type = j.value("type", "");
  if (type == "summary" && j.contains("stages"))
    return stages_ok(j["stages"], {"buffers", "fps", "mean_ms", "p50_ms", "p95_ms", "p99_ms",
                                   "max_ms", "share", "max_gap_ms"});
  if (type == "gap") {
    if (!j.contains("stages"))
      j["stages"] = json::array();
    return stages_ok(j["stages"], {"s"});
  }
  return true;
}

// One line of the file.
struct Line {
  enum class Kind {
    record,     // `record` holds it, checked by usable_record
    blank,      // an empty line (or only spaces): nothing to read
    not_json,   // `reason` says what the JSON parser found
    not_record, // JSON, but not a stagelatency record (wrong field types)
  };
  Kind kind = Kind::blank;
  json record;
  std::string reason;
};

inline Line read_line(std::string_view text) {
  Line out;
  if (text.find_first_not_of(" \t\r") == std::string_view::npos)
    return out;
  try {
    out.record = json::parse(text);
  } catch (const json::exception &e) {
    out.kind = Line::Kind::not_json;
    out.reason = std::string("not JSON (") + e.what() + ")";
    out.record = json();
    return out;
  }
  if (!usable_record(out.record)) {
    out.kind = Line::Kind::not_record;
    out.reason = "not a stagelatency record (wrong field types)";
    out.record = json();
    return out;
  }
  out.kind = Line::Kind::record;
  return out;
}

// The records the page shows: the last summary, every gap and slow frame, RSS and drops.
struct Report {
  json last_summary;
  std::vector<json> gaps, slow;
  Series rss{"RSS", {}};
  std::map<std::string, Series> drops;
  double t_end = 0;
  size_t records = 0;

  // A record from read_line (Line::Kind::record).
  void add(const json &j) {
    ++records;
    const std::string type = j.value("type", "");
    t_end = std::max(t_end, j.value("t", 0.0));
    if (type == "summary")
      last_summary = j;
    else if (type == "gap")
      gaps.push_back(j);
    else if (type == "slow" || type == "critical")
      slow.push_back(j);
    else if (type == "memory")
      rss.points.emplace_back(j.value("t", 0.0), j.value("rss_mb", 0.0));
    else if (type == "drops") {
      auto &s = drops[j.value("element", "?")];
      s.name = j.value("element", "?");
      s.points.emplace_back(j.value("t", 0.0), j.value("dropped", 0.0));
    }
  }
  // Nothing a report could show.
  bool empty() const { return last_summary.is_null() && gaps.empty() && rss.points.empty(); }
  json stages() const {
    return last_summary.is_object() ? last_summary.value("stages", json::array()) : json::array();
  }
};

inline std::string render_html(const Report &r, const std::string &source) {
  const json stages = r.stages();
  std::vector<Series> drop_series;
  for (const auto &[name, s] : r.drops)
    drop_series.push_back(s);
  std::ostringstream h;
  h << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>stagelatency report</title>"
       "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:"
       "collapse}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
       "td:first-child,th:first-child{text-align:left}.gap{font-family:monospace}</style>"
       "</head><body><h1>stagelatency report</h1>";
  h << "<p>" << esc(source) << ": " << fmt(r.t_end, 1) << " s, " << stages.size() << " stages, "
    << r.gaps.size() << " gaps, " << r.slow.size() << " slow/critical frames";
  if (!r.rss.points.empty()) {
    double peak = 0;
    for (const auto &[t, v] : r.rss.points)
      peak = std::max(peak, v);
    h << ", peak RSS " << fmt(peak, 0) << " MB";
  }
  h << ".</p><h2>Stages, slowest first</h2><table><tr><th>stage</th><th>kind</th>"
       "<th>buffers</th><th>fps</th><th>mean ms</th><th>p50</th><th>p95</th><th>p99</th>"
       "<th>max</th><th>share</th><th>max gap ms</th></tr>";
  for (const auto &s : stages)
    h << "<tr><td>" << esc(s.value("element", "")) << "</td><td>" << esc(s.value("kind", ""))
      << "</td><td>" << fmt(s.value("buffers", 0.0), 0) << "</td><td>"
      << fmt(s.value("fps", 0.0), 1) << "</td><td>" << fmt(s.value("mean_ms", 0.0)) << "</td><td>"
      << fmt(s.value("p50_ms", 0.0)) << "</td><td>" << fmt(s.value("p95_ms", 0.0)) << "</td><td>"
      << fmt(s.value("p99_ms", 0.0)) << "</td><td>" << fmt(s.value("max_ms", 0.0)) << "</td><td>"
      << fmt(100 * s.value("share", 0.0), 1) << "%</td><td>" << fmt(s.value("max_gap_ms", 0.0), 1)
      << "</td></tr>";
  h << "</table><h2>Per-stage time distributions</h2><p>Exclusive time per buffer, log scale: "
       "box p50&ndash;p95, red tick p99, whisker to max. Grey: queues and sinks (waiting).</p>"
    << distribution_svg(stages) << "<h2>Timeline</h2>"
    << timeline_svg(r.t_end, r.gaps, r.slow, r.rss, drop_series) << "<h2>Gaps</h2>";
  if (r.gaps.empty())
    h << "<p>No gap over gap-ms.</p>";
  for (const auto &g : r.gaps) {
    h << "<p class='gap'>" << fmt(g.value("t", 0.0), 2) << " s: GAP " << fmt(g.value("gap_s", 0.0))
      << " s at " << esc(g.value("pad", "")) << " &mdash; ";
    for (const auto &s : g.value("stages", json::array()))
      h << esc(s.value("element", "")) << " " << esc(s.value("kind", "")) << " "
        << fmt(s.value("s", 0.0)) << " s, ";
    h << "upstream idle " << fmt(g.value("idle_s", 0.0)) << " s (src: " << esc(g.value("src", ""))
      << ")</p>";
  }
  h << "</body></html>\n";
  return h.str();
}

} // namespace keepup::trace_report
