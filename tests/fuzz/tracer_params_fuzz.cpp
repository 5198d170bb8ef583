// SPDX-License-Identifier: LGPL-2.1-or-later
// The stagelatency tracer's params string (core/tracer_params: parse_params, apply_param,
// format_params), what GST_TRACERS="stagelatency(...)" hands the tracer.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "tracer_params.hpp"

namespace sl = keepup::stagelatency;

namespace {

bool known(std::string_view key) {
  for (const char *k : sl::kParamKeys)
    if (key == k)
      return true;
  return false;
}

bool number_ok(double v) {
  return std::isfinite(v) && v >= 0 && v <= 1e9 && !std::signbit(v);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  const sl::ParsedParams r = sl::parse_params(text); // any exception is a crash
  const sl::Params &p = r.params;
  const auto lines = r.messages(text);
  if (r.syntax_error) {
    FUZZ_CHECK(p == sl::Params{}); // nothing applied
    FUZZ_CHECK(!r.syntax_error->empty());
    FUZZ_CHECK(r.invalid.empty() && r.unknown.empty());
    FUZZ_CHECK(lines.size() == 1 && lines[0].rfind("cannot parse parameters '", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(lines.size() == (r.invalid.empty() ? 0u : 1u) + (r.unknown.empty() ? 0u : 1u));
  // Accepted values are in range: the tracer multiplies them into int64 ns without overflow.
  for (double v : {p.slow_ms, p.critical_ms, p.gap_ms, p.interval_s, p.memory_limit_mb,
                   p.memory_growth_mb_per_min})
    FUZZ_CHECK(number_ok(v));
  for (const std::string *s : {&p.filter, &p.file, &p.trace_file})
    FUZZ_CHECK(s->find('\0') == std::string::npos);
  for (const auto &key : r.unknown)
    FUZZ_CHECK(!known(key) && !key.empty());
  for (const auto &why : r.invalid) { // "<known key>='<text>' (<what it takes>)"
    const size_t eq = why.find("='");
    FUZZ_CHECK(eq != std::string::npos && known(why.substr(0, eq)));
    FUZZ_CHECK(why.back() == ')');
  }
  // What was accepted prints and reads back to the same values, with no problem.
  const std::string again = sl::format_params(p);
  const sl::ParsedParams reread = sl::parse_params(again);
  FUZZ_CHECK(!reread.syntax_error && reread.invalid.empty() && reread.unknown.empty());
  FUZZ_CHECK(reread.params == p);
  // apply_param leaves the params alone unless it says applied.
  sl::Params copy = p;
  const size_t eq = text.find('=');
  if (eq != std::string::npos) {
    const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
    std::string why;
    const sl::ParamStatus st = sl::apply_param(copy, key, value, &why);
    if (st != sl::ParamStatus::applied)
      FUZZ_CHECK(copy == p);
    FUZZ_CHECK((st == sl::ParamStatus::unknown_key) == !known(key));
    FUZZ_CHECK((st == sl::ParamStatus::invalid_value) == !why.empty());
  }
  return 0;
}
