// SPDX-License-Identifier: LGPL-2.1-or-later
// No exception crosses a C callback (STYLE.md): vfuncs, pad functions, signal handlers and
// property accessors run their C++ body through one of these, so an escaping exception
// (allocation, std::string, a core's std::invalid_argument) becomes an element error with the
// domain/code the caller names, or a log line where there is no pipeline to tell.
#pragma once

#include <gst/gst.h>

#include <exception>

namespace keepup::gstutil {

inline void post_exception(GstElement *element, GQuark domain, gint code, const char *what,
                           const char *detail) {
  gst_element_message_full(element, GST_MESSAGE_ERROR, domain, code, g_strdup(what),
                           g_strdup(detail), __FILE__, GST_FUNCTION, __LINE__);
}

// body() or, when it throws, `on_error` after posting an error message on `element`.
template <typename R, typename F>
R guard(GstElement *element, GQuark domain, gint code, const char *what, R on_error,
        F &&body) noexcept {
  try {
    return body();
  } catch (const std::exception &e) {
    post_exception(element, domain, code, what, e.what());
  } catch (...) {
    post_exception(element, domain, code, what, "unknown exception");
  }
  return on_error;
}

// Property accessors and other callbacks outside the data flow: a logged error, in the
// caller's debug category (pass GST_CAT_DEFAULT: a macro expanded in this header would name
// GStreamer's default category, not the element's). `object` may be null.
template <typename F>
void guard_log(GstDebugCategory *category, GObject *object, const char *what, F &&body) noexcept {
  try {
    body();
  } catch (const std::exception &e) {
    GST_CAT_ERROR_OBJECT(category, object, "%s failed: %s", what, e.what());
  } catch (...) {
    GST_CAT_ERROR_OBJECT(category, object, "%s failed", what);
  }
}

} // namespace keepup::gstutil
