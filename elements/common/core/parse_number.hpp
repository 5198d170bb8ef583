// SPDX-License-Identifier: LGPL-2.1-or-later
// Strict fields and numbers for property and parameter strings (plain C++). std::from_chars:
// no locale (strtod and std::stod read "0,5" under de_DE), no hex, no leading '+' or
// whitespace, no inf/nan, and the whole text must be the number.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace keepup {

// "12", "-3.5", "0.25", "1e3". Not "0x10", "1,5", " 2", "+2", "inf", "" or "2px".
inline std::optional<double> parse_decimal(std::string_view text) {
  const std::size_t digits_at = !text.empty() && text[0] == '-' ? 1 : 0;
  if (digits_at >= text.size() ||
      !(std::isdigit(static_cast<unsigned char>(text[digits_at])) || text[digits_at] == '.'))
    return std::nullopt; // rules out inf, nan and anything starting with a sign or space
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// Base-10 integers that fit a long long: "42", "-1". Not "0x2a", "4.0" or "99999999999999999999".
inline std::optional<long long> parse_integer(std::string_view text) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return v;
}

// The fields between `sep`, trimmed of spaces and tabs. nullopt when any field is empty
// (",,", a leading or trailing separator, an empty text): in a property string that is a
// typo, never "skip it".
inline std::optional<std::vector<std::string>> split_fields(std::string_view text, char sep) {
  std::vector<std::string> fields;
  for (std::size_t start = 0;;) {
    const std::size_t end = std::min(text.find(sep, start), text.size());
    const std::string_view field = text.substr(start, end - start);
    const std::size_t first = field.find_first_not_of(" \t");
    if (first == std::string_view::npos)
      return std::nullopt;
    fields.emplace_back(field.substr(first, field.find_last_not_of(" \t") - first + 1));
    if (end == text.size())
      return fields;
    start = end + 1;
  }
}

} // namespace keepup
