// SPDX-License-Identifier: LGPL-2.1-or-later
// A tracer that hooks pad-push-pre/post (and the list variants) exactly like stagelatency and
// does nothing: what GStreamer's own hook dispatch costs, the floor under any such tracer.
// Built only for the benchmarks, into bench-plugins/, never installed.
#include <gst/gst.h>

struct GstNoopTracer {
  GstTracer parent;
};
struct GstNoopTracerClass {
  GstTracerClass parent_class;
};

G_DEFINE_TYPE(GstNoopTracer, gst_noop_tracer, GST_TYPE_TRACER)

static void noop_pre(GObject *, GstClockTime, GstPad *, gpointer) {}
static void noop_post(GObject *, GstClockTime, GstPad *, GstFlowReturn) {}

static void gst_noop_tracer_init(GstNoopTracer *self) {
  GstTracer *tracer = GST_TRACER(self);
  gst_tracing_register_hook(tracer, "pad-push-pre", G_CALLBACK(noop_pre));
  gst_tracing_register_hook(tracer, "pad-push-post", G_CALLBACK(noop_post));
  gst_tracing_register_hook(tracer, "pad-push-list-pre", G_CALLBACK(noop_pre));
  gst_tracing_register_hook(tracer, "pad-push-list-post", G_CALLBACK(noop_post));
}

static void gst_noop_tracer_class_init(GstNoopTracerClass *) {}

static gboolean plugin_init(GstPlugin *plugin) {
  return gst_tracer_register(plugin, "keepupnoop", gst_noop_tracer_get_type());
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, keepupbenchnoop,
                  "keepup benchmark helper: a tracer that does nothing", plugin_init, VERSION,
                  GST_LICENSE, GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
