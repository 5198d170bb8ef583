// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup-record's request checks (whip_core: valid_stream_name, authorized, recording_name).
// Input: line 1 the configured token, line 2 the Authorization header, line 3 the stream name
// from the URL (missing lines are empty).
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "whip_core.hpp"

namespace whip = keepup::whip;

namespace {

std::string next_line(const std::string &text, std::size_t &pos) {
  if (pos >= text.size())
    return {};
  const std::size_t end = std::min(text.find('\n', pos), text.size());
  std::string line = text.substr(pos, end - pos);
  pos = end + 1;
  return line;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// The documented rule ("Bearer <token>", scheme case-insensitive, trailing white space
// ignored, the rest equal to the token), stated as a match rather than whip_core's
// trim-and-compare: the header is the scheme, then the token byte for byte, then only white
// space. A token that itself ends in white space can never match (the core trims it away).
bool expected_authorized(const char *header, const std::string &token) {
  if (token.empty())
    return true;
  if (!header || std::isspace(static_cast<unsigned char>(token.back())))
    return false;
  const std::string h = header;
  const std::string scheme = "bearer ";
  if (h.size() < scheme.size() + token.size())
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i])
      return false;
  if (h.compare(scheme.size(), token.size(), token) != 0)
    return false;
  return std::all_of(h.begin() + static_cast<std::ptrdiff_t>(scheme.size() + token.size()), h.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::size_t pos = 0;
  const std::string token = next_line(text, pos);
  const std::string header = next_line(text, pos);
  const std::string name = next_line(text, pos);

  // Stream names become file names: [A-Za-z0-9_-]{1,64}, nothing else.
  const bool valid = whip::valid_stream_name(name);
  FUZZ_CHECK(valid == (!name.empty() && name.size() <= 64 &&
                       std::all_of(name.begin(), name.end(), is_name_char)));
  if (valid) {
    long long seconds = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i)
      seconds = static_cast<long long>((static_cast<unsigned long long>(seconds) << 8) | data[i]);
    const std::string file = whip::recording_name(name, seconds);
    FUZZ_CHECK(file.rfind(name + "-", 0) == 0);
    FUZZ_CHECK(file.size() > name.size() + 4 && file.substr(file.size() - 3) == ".ts");
    FUZZ_CHECK(file.find('/') == std::string::npos);
  }

  FUZZ_CHECK(whip::authorized(header.c_str(), token) == expected_authorized(header.c_str(), token));
  FUZZ_CHECK(whip::authorized(nullptr, token) == token.empty());
  FUZZ_CHECK(whip::authorized(header.c_str(), ""));
  // The token as a client sends it is accepted; one byte more or less is not.
  const bool plain = token.find('\0') == std::string::npos && !token.empty() &&
                     !std::isspace(static_cast<unsigned char>(token.back()));
  if (plain) {
    FUZZ_CHECK(whip::authorized(("Bearer " + token).c_str(), token));
    FUZZ_CHECK(whip::authorized(("bEARER " + token + "\r\n").c_str(), token));
    FUZZ_CHECK(!whip::authorized(("Bearer " + token + "x").c_str(), token));
    FUZZ_CHECK(!whip::authorized(("Bearer " + token.substr(0, token.size() - 1)).c_str(), token));
    FUZZ_CHECK(!whip::authorized(("Basic " + token).c_str(), token));
  }
  return 0;
}
