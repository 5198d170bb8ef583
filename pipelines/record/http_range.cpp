// SPDX-License-Identifier: LGPL-2.1-or-later
#include "http_range.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace keepup::whip {

namespace {

std::string trim(const std::string &s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos)
    return {};
  const auto b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

// 1*DIGIT without overflow; false on anything else.
bool read_number(const std::string &s, std::uint64_t &out) {
  if (s.empty() || s.size() > 19)
    return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

RangeRequest unsatisfiable(std::string why) {
  RangeRequest r;
  r.kind = RangeRequest::Kind::kUnsatisfiable;
  r.error = std::move(why);
  return r;
}

} // namespace

RangeRequest parse_range(const char *header, std::uint64_t size) {
  if (!header)
    return {};
  const std::string h = trim(header);
  const auto eq = h.find('=');
  if (eq == std::string::npos)
    return unsatisfiable("Range '" + h.substr(0, 64) + "' is not <unit>=<ranges>");
  std::string unit = trim(h.substr(0, eq));
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (unit != "bytes")
    return {}; // RFC 9110: a server ignores range units it does not know
  const std::string spec = trim(h.substr(eq + 1));
  if (spec.find(',') != std::string::npos)
    return unsatisfiable("only one byte range per request is served");
  const auto dash = spec.find('-');
  if (dash == std::string::npos)
    return unsatisfiable("byte range '" + spec.substr(0, 64) + "' has no '-'");
  const std::string a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  RangeRequest r;
  r.kind = RangeRequest::Kind::kPartial;
  if (a.empty()) { // suffix: the last n bytes
    std::uint64_t n = 0;
    if (!read_number(b, n))
      return unsatisfiable("byte range '" + spec.substr(0, 64) + "' is malformed");
    if (n == 0 || size == 0)
      return unsatisfiable("an empty suffix range selects nothing");
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return r;
  }
  std::uint64_t first = 0;
  if (!read_number(a, first))
    return unsatisfiable("byte range '" + spec.substr(0, 64) + "' is malformed");
  std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
  if (!b.empty() && !read_number(b, last))
    return unsatisfiable("byte range '" + spec.substr(0, 64) + "' is malformed");
  if (last < first)
    return unsatisfiable("byte range '" + spec.substr(0, 64) + "' ends before it starts");
  if (first >= size)
    return unsatisfiable("byte range starts at " + std::to_string(first) + ", the file has " +
                         std::to_string(size) + " bytes");
  r.first = first;
  r.last = std::min(last, size - 1);
  return r;
}

std::string content_range(const RangeRequest &r, std::uint64_t size) {
  if (r.kind == RangeRequest::Kind::kPartial)
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
           std::to_string(size);
  return "bytes */" + std::to_string(size);
}

} // namespace keepup::whip
