// SPDX-License-Identifier: LGPL-2.1-or-later
// Small helpers shared by the benchmarks.
#pragma once

#include <sys/resource.h>

namespace keepup::bench {

// User + system CPU seconds of this process, all threads.
inline double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

} // namespace keepup::bench
