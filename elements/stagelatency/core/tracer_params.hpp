// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency tracer's `params` string (GST_TRACERS="stagelatency(slow-ms=50,file=x)"),
// read without GStreamer: key=value fields separated by commas, as GstStructure writes them
// (a value may be "quoted" with backslash escapes and may carry a (type) cast, which is
// ignored). Numbers are strict decimal (keepup::parse_decimal: "abc", "0x10", "1,5", "-1"
// and "inf" are refused). A refused value or an unknown key is a problem to report; the
// other fields still apply and a refused value keeps its default. A syntax error (unclosed
// quote, a field without '=') applies nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepup::stagelatency {

struct Params {
  double slow_ms = 50;
  double critical_ms = 100;
  double gap_ms = 1000;
  double interval_s = 0;
  std::string filter;
  std::string file;
  std::string trace_file;
  double memory_limit_mb = 0;
  double memory_growth_mb_per_min = 0;
  uint32_t telemetry_frames = 0;

  bool operator==(const Params &) const = default;
};

// The keys apply_param knows, in the order the documentation lists them.
inline constexpr const char *kParamKeys[] = {
    "slow-ms",         "critical-ms",     "gap-ms",
    "interval",        "filter",          "file",
    "trace-file",      "memory-limit-mb", "memory-growth-mb-per-min",
    "telemetry-frames"};

enum class ParamStatus {
  applied,
  unknown_key,   // `params` left as it was
  invalid_value, // `params` left as it was; `why` says what the key takes
};

// One key with its value text (quotes and casts already removed). On invalid_value, `why`
// (when given) gets "slow-ms='abc' (a number >= 0)".
ParamStatus apply_param(Params &params, std::string_view key, std::string_view text,
                        std::string *why = nullptr);

struct ParsedParams {
  Params params;
  std::optional<std::string> syntax_error; // set: nothing was applied
  std::vector<std::string> invalid;        // "slow-ms='abc' (a number >= 0)"
  std::vector<std::string> unknown;        // key names

  // The lines the tracer prints on stderr for these problems (none when all is well).
  std::vector<std::string> messages(std::string_view original) const;
};

ParsedParams parse_params(std::string_view text);

// Every field of `params` as a params string that parse_params reads back to the same
// values (numbers in shortest round-trip form, strings quoted), e.g. for logs and tests.
std::string format_params(const Params &params);

} // namespace keepup::stagelatency
