// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/base/gstbasesink.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TS_RECORD_SINK (gst_ts_record_sink_get_type())
G_DECLARE_FINAL_TYPE(GstTsRecordSink, gst_ts_record_sink, GST, TS_RECORD_SINK, GstBaseSink)

GType gst_ts_record_sink_sync_mode_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(tsrecordsink);

G_END_DECLS
