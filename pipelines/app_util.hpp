// SPDX-License-Identifier: LGPL-2.1-or-later
// Small pieces the apps in pipelines/ share.
#pragma once

#include <gst/gst.h>

#include <cstdio>
#include <exception>
#include <string>

namespace keepup::apps {

// Sends EOS into the pipeline and arms a watchdog: a pipeline that cannot drain within
// `seconds` is reported on stderr, `*failed` is set and the loop quits, instead of waiting
// forever. Returns the watchdog's source id (default context), for a caller that goes on
// after the loop and must remove it.
inline guint send_eos_with_watchdog(GstElement *pipeline, GMainLoop *loop, bool *failed,
                                    guint seconds, const char *who) {
  struct Watchdog {
    GMainLoop *loop;
    bool *failed;
    guint seconds;
    std::string who;
  };
  gst_element_send_event(pipeline, gst_event_new_eos());
  return g_timeout_add_seconds_full(
      G_PRIORITY_DEFAULT, seconds,
      [](gpointer data) -> gboolean {
        auto *w = static_cast<Watchdog *>(data);
        std::fprintf(stderr, "%s: no EOS %u s after it was sent\n", w->who.c_str(), w->seconds);
        *w->failed = true;
        g_main_loop_quit(w->loop);
        return G_SOURCE_REMOVE;
      },
      new Watchdog{loop, failed, seconds, who},
      [](gpointer data) { delete static_cast<Watchdog *>(data); });
}

// For code running on a streaming thread or a thread of the app's own (pad probes, feeders),
// where an exception must not escape into C: turns it into an ERROR message on the
// pipeline's bus, so the main loop reports it and stops like for any element error.
inline void post_error(GstElement *pipeline, const char *who, const std::exception &e) {
  GError *err = g_error_new(GST_CORE_ERROR, GST_CORE_ERROR_FAILED, "%s: %s", who, e.what());
  gst_element_post_message(pipeline,
                           gst_message_new_error(GST_OBJECT(pipeline), err, "exception in app"));
  g_error_free(err);
}

} // namespace keepup::apps
