// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_YOLO_DETECT (gst_yolo_detect_get_type())
G_DECLARE_FINAL_TYPE(GstYoloDetect, gst_yolo_detect, GST, YOLO_DETECT, GstVideoFilter)

GType gst_yolo_detect_layout_get_type(void);
GType gst_yolo_detect_fixups_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(yolodetect);

G_END_DECLS
