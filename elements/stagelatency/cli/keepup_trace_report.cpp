// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-trace-report: turns a stagelatency JSON-lines file into one self-contained HTML page
// (inline SVG, no scripts, no network): per-stage time distributions, a timeline of gaps,
// slow frames, drops and RSS, and every gap with its attribution. Reading and rendering are
// in trace_report.hpp (unit-tested, fuzzed as trace_report_jsonl).
//
//   keepup-trace-report run.jsonl [-o report.html]
#include "trace_report.hpp"

#include <cstdio>
#include <fstream>
#include <string>

namespace tr = keepup::trace_report;

int main(int argc, char **argv) {
  std::string in, out = "report.html";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "-o" || a == "--output") && i + 1 < argc)
      out = argv[++i];
    else if (a == "-h" || a == "--help") {
      std::printf("usage: %s run.jsonl [-o report.html]\n", argv[0]);
      return 0;
    } else if (in.empty() && a[0] != '-')
      in = a;
    else {
      std::fprintf(stderr, "usage: %s run.jsonl [-o report.html]\n", argv[0]);
      return 2;
    }
  }
  if (in.empty()) {
    std::fprintf(stderr, "usage: %s run.jsonl [-o report.html]\n", argv[0]);
    return 2;
  }
  std::ifstream f(in);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", in.c_str());
    return 1;
  }
  tr::Report report;
  std::string text;
  int lineno = 0, bad = 0;
  while (std::getline(f, text)) {
    ++lineno;
    tr::Line line = tr::read_line(text);
    if (line.kind == tr::Line::Kind::record)
      report.add(line.record);
    else if (line.kind != tr::Line::Kind::blank && ++bad <= 3)
      std::fprintf(stderr, "%s:%d: %s, skipped\n", in.c_str(), lineno, line.reason.c_str());
  }
  if (bad > 3)
    std::fprintf(stderr, "%s: %d lines skipped in all\n", in.c_str(), bad);
  if (lineno == 0 || report.empty()) {
    std::fprintf(stderr, "%s holds no stagelatency records\n", in.c_str());
    return 1;
  }
  std::ofstream o(out);
  o << tr::render_html(report, in);
  if (!o) {
    std::fprintf(stderr, "cannot write %s\n", out.c_str());
    return 1;
  }
  std::printf("wrote %s (%zu stages, %zu gaps)\n", out.c_str(), report.stages().size(),
              report.gaps.size());
  return 0;
}
