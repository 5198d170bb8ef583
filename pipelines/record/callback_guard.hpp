// SPDX-License-Identifier: LGPL-2.1-or-later
// No exception crosses a C callback (STYLE.md): keepup-record's and keepup-whip-publish's GLib
// sources, signal handlers, pad probes, promise callbacks and libsoup handlers run their C++
// body through guarded(), which turns an escaping exception into a log line and a fallback
// value instead of std::terminate.
#pragma once

#include <cstdio>
#include <exception>

namespace keepup::whip {

inline void report_exception(const char *where, const char *what) noexcept {
  std::fprintf(stderr, "%s: unexpected exception: %s\n", where, what);
  std::fflush(stderr);
}

template <typename R, typename F> R guarded(const char *where, R on_error, F &&body) noexcept {
  try {
    return body();
  } catch (const std::exception &e) {
    report_exception(where, e.what());
  } catch (...) {
    report_exception(where, "unknown");
  }
  return on_error;
}

template <typename F> void guarded(const char *where, F &&body) noexcept {
  try {
    body();
  } catch (const std::exception &e) {
    report_exception(where, e.what());
  } catch (...) {
    report_exception(where, "unknown");
  }
}

} // namespace keepup::whip
