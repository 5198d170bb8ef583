// keepuptracers: the stagelatency tracer lives here; it registers no tracer yet.
#include <gst/gst.h>

static gboolean plugin_init(GstPlugin *) {
  return TRUE;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepuptracers,
                  "keepup tracers: per-stage latency and gap attribution", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
