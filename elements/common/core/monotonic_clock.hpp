// SPDX-License-Identifier: LGPL-2.1-or-later
// The one monotonic clock the cores and shells use for durations (stalls, write latency).
// Plain C++: injected into the cores as their clock, never read by them directly.
#pragma once

#include <chrono>
#include <cstdint>

namespace keepup {

// Nanoseconds on std::chrono::steady_clock: only differences mean anything.
inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace keepup
