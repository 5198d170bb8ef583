// SPDX-License-Identifier: LGPL-2.1-or-later
// FUZZ_CHECK: an invariant of a fuzz target. A broken one aborts, which libFuzzer reports as a
// crash with the input that caused it (and replay_main as a failed test).
#pragma once

#include <cstdio>
#include <cstdlib>

namespace keepup::fuzz {

[[noreturn]] inline void invariant_broken(const char *what, const char *file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

} // namespace keepup::fuzz

#define FUZZ_CHECK(cond)                                                                           \
  ((cond) ? static_cast<void>(0) : keepup::fuzz::invariant_broken(#cond, __FILE__, __LINE__))
