// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tracer_params.hpp"

#include "parse_number.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

namespace keepup::stagelatency {

namespace {

// Upper bound of every number: large enough for any real setting (11 days in ms, 31 years
// in s, 1 PB in MB), small enough that the tracer's ns arithmetic cannot overflow int64.
constexpr double kMaxNumber = 1e9;

std::string join(const std::vector<std::string> &items) {
  std::string all;
  for (const auto &item : items) {
    if (!all.empty())
      all += ", ";
    all += item;
  }
  return all;
}

// 'text', built by appending: GCC 12's -Wrestrict misfires at -O3 on "'" + std::string&&.
std::string single_quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '\'';
  out += text;
  out += '\'';
  return out;
}

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// GstStructure field names: a letter, then letters, digits and -_+*:/.
bool valid_key(std::string_view key) {
  if (key.empty() || !std::isalpha(static_cast<unsigned char>(key[0])))
    return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("-_+*:/.").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string shortest(double v) {
  std::array<char, 32> buf{};
  const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return ec == std::errc() ? std::string(buf.data(), end) : std::string("0");
}

std::string quoted(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + '"';
}

} // namespace

ParamStatus apply_param(Params &p, std::string_view key, std::string_view text, std::string *why) {
  auto refuse = [&](const char *takes) {
    if (why)
      *why = std::string(key) + "='" + std::string(text) + "' (" + takes + ")";
    return ParamStatus::invalid_value;
  };
  const std::pair<const char *, double *> numbers[] = {
      {"slow-ms", &p.slow_ms},
      {"critical-ms", &p.critical_ms},
      {"gap-ms", &p.gap_ms},
      {"interval", &p.interval_s},
      {"memory-limit-mb", &p.memory_limit_mb},
      {"memory-growth-mb-per-min", &p.memory_growth_mb_per_min}};
  for (const auto &[name, target] : numbers) {
    if (key != name)
      continue;
    const std::optional<double> v = keepup::parse_decimal(text);
    if (!v || *v < 0 || *v > kMaxNumber)
      return refuse("a decimal number from 0 to 1000000000");
    *target = *v + 0.0; // -0 reads as 0
    return ParamStatus::applied;
  }
  if (key == "telemetry-frames") {
    const std::optional<double> v = keepup::parse_decimal(text);
    if (!v || *v < 0 || *v > UINT32_MAX || std::floor(*v) != *v)
      return refuse("a whole number from 0 to 4294967295");
    p.telemetry_frames = static_cast<uint32_t>(*v);
    return ParamStatus::applied;
  }
  std::string *target = key == "filter"       ? &p.filter
                        : key == "file"       ? &p.file
                        : key == "trace-file" ? &p.trace_file
                                              : nullptr;
  if (!target)
    return ParamStatus::unknown_key;
  if (text.find('\0') != std::string_view::npos)
    return refuse("a text without NUL bytes");
  *target = std::string(text);
  return ParamStatus::applied;
}

ParsedParams parse_params(std::string_view text) {
  ParsedParams out;
  std::vector<std::pair<std::string, std::string>> fields;
  auto fail = [&](std::string reason) {
    out.syntax_error = std::move(reason);
    return out;
  };
  const size_t n = text.size();
  size_t i = 0;
  auto skip_space = [&] {
    while (i < n && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
  };
  skip_space();
  while (i < n) {
    const size_t key_end = text.find_first_of("=,", i);
    if (key_end == std::string_view::npos || text[key_end] != '=')
      return fail(single_quoted(trim(text.substr(i, key_end - i))) + " has no '='");
    const std::string_view key = trim(text.substr(i, key_end - i));
    if (!valid_key(key))
      return fail(single_quoted(key) + " is not a parameter name");
    i = key_end + 1;
    skip_space();
    if (i < n && text[i] == '(') { // a GstStructure type cast: "(double)5", "(string)x"
      const size_t close = text.find(')', i);
      if (close == std::string_view::npos)
        return fail("unclosed '(' in the value of " + std::string(key));
      for (size_t c = i + 1; c < close; ++c)
        if (!std::isalnum(static_cast<unsigned char>(text[c])) && text[c] != '_')
          return fail("bad type cast in the value of " + std::string(key));
      i = close + 1;
      skip_space();
    }
    std::string value;
    if (i < n && text[i] == '"') {
      ++i;
      while (i < n && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < n)
          ++i;
        value += text[i++];
      }
      if (i >= n)
        return fail("unclosed quote in the value of " + std::string(key));
      ++i;
      skip_space();
      if (i < n && text[i] != ',')
        return fail("text after the quoted value of " + std::string(key));
    } else {
      const size_t end = std::min(text.find(',', i), n);
      value = std::string(trim(text.substr(i, end - i)));
      i = end;
    }
    fields.emplace_back(std::string(key), std::move(value));
    if (i < n) // at the ','
      ++i;
    skip_space();
  }
  for (const auto &[key, value] : fields) {
    std::string why;
    switch (apply_param(out.params, key, value, &why)) {
    case ParamStatus::applied:
      break;
    case ParamStatus::invalid_value:
      out.invalid.push_back(std::move(why));
      break;
    case ParamStatus::unknown_key:
      out.unknown.push_back(key);
      break;
    }
  }
  return out;
}

std::vector<std::string> ParsedParams::messages(std::string_view original) const {
  std::vector<std::string> lines;
  if (syntax_error)
    lines.push_back("cannot parse parameters '" + std::string(original) + "': " + *syntax_error +
                    " (expected key=value,...)");
  if (!invalid.empty())
    lines.push_back("ignoring invalid parameter value(s), keeping the defaults: " + join(invalid));
  if (!unknown.empty()) {
    std::string known;
    for (const char *k : kParamKeys)
      known += std::string(known.empty() ? "" : ", ") + k;
    lines.push_back("ignoring unknown parameter(s): " + join(unknown) + " (known: " + known + ")");
  }
  return lines;
}

std::string format_params(const Params &p) {
  return "slow-ms=" + shortest(p.slow_ms) + ",critical-ms=" + shortest(p.critical_ms) +
         ",gap-ms=" + shortest(p.gap_ms) + ",interval=" + shortest(p.interval_s) +
         ",filter=" + quoted(p.filter) + ",file=" + quoted(p.file) +
         ",trace-file=" + quoted(p.trace_file) + ",memory-limit-mb=" + shortest(p.memory_limit_mb) +
         ",memory-growth-mb-per-min=" + shortest(p.memory_growth_mb_per_min) +
         ",telemetry-frames=" + std::to_string(p.telemetry_frames);
}

} // namespace keepup::stagelatency
