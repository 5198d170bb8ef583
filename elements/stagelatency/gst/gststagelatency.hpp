// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_STAGE_LATENCY_TRACER (gst_stage_latency_tracer_get_type())
G_DECLARE_FINAL_TYPE(GstStageLatencyTracer, gst_stage_latency_tracer, GST, STAGE_LATENCY_TRACER,
                     GstTracer)

gboolean keepup_stagelatency_register(GstPlugin *plugin);

G_END_DECLS
