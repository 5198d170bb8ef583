// SPDX-License-Identifier: LGPL-2.1-or-later
// GET /recordings/<name>'s Range header (http_range.cpp: parse_range, content_range).
// Input: first 4 bytes the file size (little endian), the rest the header value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "http_range.hpp"

namespace whip = keepup::whip;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::uint64_t file_size = 0;
  for (std::size_t i = 0; i < 4 && i < size; ++i)
    file_size |= static_cast<std::uint64_t>(data[i]) << (8 * i);
  const std::string header =
      size > 4 ? std::string(reinterpret_cast<const char *>(data) + 4, size - 4) : std::string();
  const auto r = whip::parse_range(header.c_str(), file_size);
  const std::string cr = whip::content_range(r, file_size);
  switch (r.kind) {
  case whip::RangeRequest::Kind::kPartial:
    // A served range is inside the file, non-empty, and says so in Content-Range.
    FUZZ_CHECK(r.first <= r.last && r.last < file_size);
    FUZZ_CHECK(cr == "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
                         std::to_string(file_size));
    FUZZ_CHECK(std::string(header.c_str()).find(',') == std::string::npos);
    break;
  case whip::RangeRequest::Kind::kUnsatisfiable:
    FUZZ_CHECK(!r.error.empty());
    FUZZ_CHECK(cr == "bytes */" + std::to_string(file_size));
    break;
  case whip::RangeRequest::Kind::kWhole:
    FUZZ_CHECK(r.error.empty());
    break;
  }
  FUZZ_CHECK(whip::parse_range(nullptr, file_size).kind == whip::RangeRequest::Kind::kWhole);
  return 0;
}
