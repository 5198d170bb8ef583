// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's and detectoverlay's property defaults: each one is the core Settings' default
// (one source), and that default is still the documented value (the move to Settings changed
// no behaviour).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <string>

#include "overlay_core.hpp"
#include "yolo_settings.hpp"

namespace {

GParamSpec *spec(GstElement *e, const char *name) {
  GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
  EXPECT_NE(p, nullptr) << name;
  return p;
}

double default_double(GstElement *e, const char *name) {
  return G_PARAM_SPEC_DOUBLE(spec(e, name))->default_value;
}
int default_int(GstElement *e, const char *name) {
  return G_PARAM_SPEC_INT(spec(e, name))->default_value;
}
unsigned default_uint(GstElement *e, const char *name) {
  return G_PARAM_SPEC_UINT(spec(e, name))->default_value;
}
bool default_bool(GstElement *e, const char *name) {
  return G_PARAM_SPEC_BOOLEAN(spec(e, name))->default_value;
}
int default_enum(GstElement *e, const char *name) {
  return G_PARAM_SPEC_ENUM(spec(e, name))->default_value;
}

} // namespace

TEST(AnalyticsSettings, YoloDetectDefaultsAreTheCoreSettings) {
  namespace yolo = keepup::yolo;
  GstElement *e = gst_element_factory_make("yolodetect", nullptr);
  ASSERT_NE(e, nullptr);
  const yolo::Settings &d = yolo::kDefaults;
  EXPECT_EQ(default_int(e, "input-size"), d.model.input_size);
  EXPECT_EQ(default_double(e, "conf-threshold"), d.decode.conf_threshold);
  EXPECT_EQ(default_double(e, "nms-threshold"), d.decode.nms_threshold);
  EXPECT_EQ(default_int(e, "max-detections"), d.decode.max_detections);
  EXPECT_EQ(default_enum(e, "layout"), static_cast<int>(d.model.layout));
  EXPECT_EQ(default_uint(e, "interval"), d.schedule.interval);
  EXPECT_EQ(default_bool(e, "async"), d.schedule.async);
  EXPECT_EQ(default_int(e, "threads"), d.schedule.threads);
  EXPECT_EQ(default_enum(e, "model-fixups"), static_cast<int>(d.model.fixups));
  EXPECT_EQ(G_PARAM_SPEC_STRING(spec(e, "model"))->default_value, nullptr);
  // The documented values (elements/yolodetect/README.md).
  EXPECT_EQ(d.model.input_size, 0);
  EXPECT_EQ(d.decode.conf_threshold, 0.25);
  EXPECT_EQ(d.decode.nms_threshold, 0.45);
  EXPECT_EQ(d.decode.max_detections, 300);
  EXPECT_EQ(d.model.layout, yolo::Layout::automatic);
  EXPECT_EQ(d.schedule.interval, 1U);
  EXPECT_FALSE(d.schedule.async);
  EXPECT_EQ(d.schedule.threads, 0);
  EXPECT_EQ(d.model.fixups, yolo::Fixups::automatic);
  EXPECT_TRUE(d.model.model.empty() && d.model.labels.empty() && d.model.classes.empty());
  EXPECT_TRUE(d.decode.keep_class.empty());
  // A property set is what get returns: the settings hold the value as given.
  g_object_set(e, "conf-threshold", 0.7, "nms-threshold", 0.3, nullptr);
  double conf = 0, nms = 0;
  g_object_get(e, "conf-threshold", &conf, "nms-threshold", &nms, nullptr);
  EXPECT_EQ(conf, 0.7);
  EXPECT_EQ(nms, 0.3);
  gst_object_unref(e);
}

TEST(AnalyticsSettings, DetectOverlayDefaultsAreTheCoreSettings) {
  namespace ov = keepup::overlay;
  GstElement *e = gst_element_factory_make("detectoverlay", nullptr);
  ASSERT_NE(e, nullptr);
  const ov::Settings &d = ov::kDefaults;
  const std::pair<const char *, bool> switches[] = {
      {"show-boxes", d.boxes}, {"show-labels", d.labels}, {"show-confidence", d.confidence},
      {"show-ids", d.ids},     {"show-speed", d.speed},   {"show-trails", d.trails},
      {"show-roi", d.roi},     {"show-lines", d.lines},   {"show-hud", d.hud}};
  for (const auto &[name, value] : switches) {
    EXPECT_EQ(default_bool(e, name), value) << name;
    EXPECT_TRUE(value) << name << ": every layer is on by default";
  }
  EXPECT_EQ(default_uint(e, "trail-length"), d.trail_length);
  EXPECT_EQ(default_enum(e, "color-by"), static_cast<int>(d.color_by));
  EXPECT_EQ(default_int(e, "thickness"), d.thickness);
  EXPECT_EQ(default_double(e, "font-scale"), d.font_scale);
  // The documented values (elements/detectoverlay/README.md).
  EXPECT_EQ(d.trail_length, 30U);
  EXPECT_EQ(d.color_by, ov::ColorBy::track);
  EXPECT_EQ(d.thickness, 2);
  EXPECT_EQ(d.font_scale, 0.5);
  gst_object_unref(e);
}
