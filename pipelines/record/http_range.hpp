// SPDX-License-Identifier: LGPL-2.1-or-later
// The HTTP Range header (RFC 9110 section 14) for serving recordings: one byte range, or the
// whole file. Plain C++, unit-tested and fuzzed (tests/fuzz/http_range).
#pragma once

#include <cstdint>
#include <string>

namespace keepup::whip {

struct RangeRequest {
  enum class Kind {
    kWhole,         // no Range header, or a unit other than bytes: 200 with the whole file
    kPartial,       // 206 with bytes first..last (inclusive) and Content-Range
    kUnsatisfiable, // 416 with Content-Range: bytes */size and `error`
  };
  Kind kind = Kind::kWhole;
  std::uint64_t first = 0, last = 0; // inclusive, when kPartial
  std::string error;
};

// `header` is the Range value or nullptr. Accepted: "bytes=a-b", "bytes=a-", "bytes=-n"
// (whitespace around the range allowed, unit case-insensitive). More than one range (we send no
// multipart replies), a malformed bytes range, a first byte at or past the end, or a zero
// suffix are kUnsatisfiable; a last byte past the end is cut to the end (RFC 9110 14.1.2).
RangeRequest parse_range(const char *header, std::uint64_t size);

// "bytes 0-99/1000" for a kPartial request; "bytes */1000" otherwise.
std::string content_range(const RangeRequest &r, std::uint64_t size);

} // namespace keepup::whip
