// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_META_PUBLISH (gst_meta_publish_get_type())
G_DECLARE_FINAL_TYPE(GstMetaPublish, gst_meta_publish, GST, META_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(metapublish);

G_END_DECLS
