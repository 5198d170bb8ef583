// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_OBJECT_TRACK (gst_object_track_get_type())
G_DECLARE_FINAL_TYPE(GstObjectTrack, gst_object_track, GST, OBJECT_TRACK, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(objecttrack);

G_END_DECLS
