// SPDX-License-Identifier: LGPL-2.1-or-later
// keepupanalytics: the analytics elements (yolodetect, objecttrack, detectoverlay,
// metapublish).
// Built only when OpenCV and ONNX are found.
#include <gst/gst.h>

#include "gstdetectoverlay.hpp"
#include "gstmetapublish.hpp"
#include "gstobjecttrack.hpp"
#include "gstyolodetect.hpp"

static gboolean plugin_init(GstPlugin *plugin) {
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER(yolodetect, plugin);
  ok |= GST_ELEMENT_REGISTER(objecttrack, plugin);
  ok |= GST_ELEMENT_REGISTER(detectoverlay, plugin);
  ok |= GST_ELEMENT_REGISTER(metapublish, plugin);
  return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepupanalytics,
                  "keepup analytics: OpenCV-DNN detection, tracking and overlay", plugin_init,
                  VERSION, GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
