// SPDX-License-Identifier: LGPL-2.1-or-later
// What this process uses, from /proc (Linux), for tools, benchmarks and the tracer.
#pragma once

#include <cstdio>
#include <unistd.h>

namespace keepup {

// Resident set size of this process in MiB; 0 when /proc cannot be read.
inline double process_rss_mb() {
  long pages = 0, resident = 0;
  if (FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

} // namespace keepup
