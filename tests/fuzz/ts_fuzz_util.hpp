// SPDX-License-Identifier: LGPL-2.1-or-later
// Checks shared by the TS fuzz targets.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.hpp"
#include "ts_packets.hpp"

namespace keepup::fuzz {

// `out` is whole units of `unit` bytes, each with the sync byte where the stride puts it,
// and each a copy of `in` at a position after the previous one: nothing invented, nothing
// reordered.
inline void check_packets_from(const std::vector<uint8_t> &out, const std::vector<uint8_t> &in,
                               size_t unit) {
  FUZZ_CHECK(unit == ts::kPacket || unit == ts::kM2tsPacket);
  FUZZ_CHECK(out.size() % unit == 0);
  auto from = in.begin();
  for (size_t at = 0; at < out.size(); at += unit) {
    FUZZ_CHECK(out[at + ts::sync_offset(unit)] == ts::kSyncByte);
    const auto packet = out.begin() + static_cast<std::ptrdiff_t>(at);
    from = std::search(from, in.end(), packet, packet + static_cast<std::ptrdiff_t>(unit));
    FUZZ_CHECK(from != in.end());
    from += static_cast<std::ptrdiff_t>(unit);
  }
}

} // namespace keepup::fuzz
