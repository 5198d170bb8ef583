// SPDX-License-Identifier: LGPL-2.1-or-later
// Small pieces the apps in pipelines/ share.
#pragma once

#include <gst/gst.h>

#include <cstdio>
#include <string>

namespace keepup::apps {

// Sends EOS into the pipeline and arms a watchdog: a pipeline that cannot drain within
// `seconds` is reported on stderr, `*failed` is set and the loop quits, instead of waiting
// forever.
inline void send_eos_with_watchdog(GstElement *pipeline, GMainLoop *loop, bool *failed,
                                   guint seconds, const char *who) {
  struct Watchdog {
    GMainLoop *loop;
    bool *failed;
    guint seconds;
    std::string who;
  };
  gst_element_send_event(pipeline, gst_event_new_eos());
  g_timeout_add_seconds_full(
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

} // namespace keepup::apps
