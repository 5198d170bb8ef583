// SPDX-License-Identifier: LGPL-2.1-or-later
// Where the stagelatency tracer's machine-readable output goes: a JSON-lines file (one
// compact value per line, flushed, several writing threads) and a Chrome trace-event file
// (written once, streamed event by event so a long trace is never a whole document in
// memory). Values are serialized by nlohmann::json (report.hpp: dump_line), never printf.
#pragma once

#include "report.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace keepup::stagelatency {

class JsonLinesFile {
public:
  JsonLinesFile() = default;
  JsonLinesFile(const JsonLinesFile &) = delete;
  JsonLinesFile &operator=(const JsonLinesFile &) = delete;
  ~JsonLinesFile() { close(); }

  // Truncates or creates `path`; false with `error` set when it cannot.
  bool open(const std::string &path, std::string &error);
  bool is_open();
  void write(const Json &value); // one line; nothing when not open
  void close();

private:
  std::mutex lock_;
  std::FILE *file_ = nullptr;
};

// {"displayTimeUnit":"ms","traceEvents":[<event>,\n<event>...]}
class ChromeTraceFile {
public:
  ChromeTraceFile() = default;
  ChromeTraceFile(const ChromeTraceFile &) = delete;
  ChromeTraceFile &operator=(const ChromeTraceFile &) = delete;
  ~ChromeTraceFile() { finish(); }

  bool open(const std::string &path, std::string &error);
  void add(const Json &event); // a chrome_event()
  void finish();               // closes the document and the file

private:
  std::FILE *file_ = nullptr;
  bool first_ = true;
};

} // namespace keepup::stagelatency
