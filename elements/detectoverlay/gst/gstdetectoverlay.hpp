// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_DETECT_OVERLAY (gst_detect_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstDetectOverlay, gst_detect_overlay, GST, DETECT_OVERLAY, GstVideoFilter)

GType gst_detect_overlay_color_by_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(detectoverlay);

G_END_DECLS
