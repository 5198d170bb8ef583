// keepup: the core plugin (no dependencies beyond GStreamer base/video).
#include "gstdropqueue.hpp"

static gboolean plugin_init(GstPlugin *plugin) {
  return GST_ELEMENT_REGISTER(dropqueue, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepup,
                  "keepup: keep live pipelines real-time (dropqueue)", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
