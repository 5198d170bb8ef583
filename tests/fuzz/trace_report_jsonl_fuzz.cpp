// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-trace-report's JSON-lines reader and page (cli/trace_report.hpp: read_line,
// Report, render_html) on a whole input file. No exception may escape (the JSON library's
// type errors included); a line is a record, blank, or rejected with a reason; an accepted
// record reads back the same from its own dump; the page is complete and escapes every name.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "trace_report.hpp"

namespace tr = keepup::trace_report;

namespace {

bool finite_if_present(const tr::json &j, const char *key) {
  return !j.contains(key) || (j[key].is_number() && std::isfinite(j[key].get<double>()));
}

size_t count(const std::string &text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  tr::Report report;
  size_t records = 0, gaps = 0;
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    const tr::Line got = tr::read_line(line);
    const bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    FUZZ_CHECK((got.kind == tr::Line::Kind::blank) == blank);
    if (got.kind != tr::Line::Kind::record) {
      FUZZ_CHECK(got.record.is_null());
      FUZZ_CHECK(blank == got.reason.empty());
      continue;
    }
    const tr::json &j = got.record;
    FUZZ_CHECK(j.is_object());
    for (const char *k : {"t", "gap_s", "idle_s", "rss_mb", "dropped", "ms"})
      FUZZ_CHECK(finite_if_present(j, k));
    for (const char *k : {"type", "element", "pad", "src"})
      FUZZ_CHECK(!j.contains(k) || j[k].is_string());
    if (j.value("type", "") == "gap") {
      FUZZ_CHECK(j.contains("stages") && j["stages"].is_array());
      ++gaps;
    }
    // What the reader accepted (with a gap's default stages) reads back unchanged.
    const tr::Line again = tr::read_line(j.dump());
    FUZZ_CHECK(again.kind == tr::Line::Kind::record && again.record == j);
    report.add(j);
    ++records;
  }
  FUZZ_CHECK(report.records == records && report.gaps.size() == gaps);
  const std::string html = tr::render_html(report, "fuzz<input>.jsonl");
  FUZZ_CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  FUZZ_CHECK(html.size() >= 15 && html.compare(html.size() - 15, 15, "</body></html>\n") == 0);
  // Names from the file are escaped: the only tags are the page's own.
  FUZZ_CHECK(html.find("<script") == std::string::npos);
  FUZZ_CHECK(html.find("fuzz<input>") == std::string::npos);
  FUZZ_CHECK(count(html, "<html") == 1 && count(html, "<body") == 1);
  return 0;
}
