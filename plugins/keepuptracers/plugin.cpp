// SPDX-License-Identifier: LGPL-2.1-or-later
// keepuptracers: the stagelatency tracer.
#include "gststagelatency.hpp"

static gboolean plugin_init(GstPlugin *plugin) {
  return keepup_stagelatency_register(plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepuptracers,
                  "keepup tracers: per-stage latency and gap attribution", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
