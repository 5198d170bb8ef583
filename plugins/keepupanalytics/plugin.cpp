// keepupanalytics: the OpenCV elements (yolodetect, objecttrack, detectoverlay) live here.
// Built only when OpenCV is found; it registers no element yet.
#include <gst/gst.h>

#include <opencv2/core/version.hpp>

GST_DEBUG_CATEGORY_STATIC(keepupanalytics_debug);

static gboolean plugin_init(GstPlugin *) {
  GST_DEBUG_CATEGORY_INIT(keepupanalytics_debug, "keepupanalytics", 0, "keepup analytics");
  GST_INFO("keepupanalytics built against OpenCV %s", CV_VERSION);
  return TRUE;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepupanalytics,
                  "keepup analytics: OpenCV-DNN detection, tracking and overlay", plugin_init,
                  VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
