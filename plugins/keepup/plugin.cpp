// SPDX-License-Identifier: LGPL-2.1-or-later
// keepup: the core plugin (no dependencies beyond GStreamer base/video).
#include "gstdropqueue.hpp"
#include "gsttsrecordsink.hpp"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(dropqueue, plugin);
  ok |= GST_ELEMENT_REGISTER(tsrecordsink, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepup,
                  "keepup: keep live pipelines real-time (dropqueue, tsrecordsink)", plugin_init,
                  VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
