// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DROP_QUEUE (gst_drop_queue_get_type())
G_DECLARE_FINAL_TYPE(GstDropQueue, gst_drop_queue, GST, DROP_QUEUE, GstElement)

#define GST_TYPE_DROP_QUEUE_LEAKY (gst_drop_queue_leaky_get_type())
GType gst_drop_queue_leaky_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(dropqueue);

G_END_DECLS
