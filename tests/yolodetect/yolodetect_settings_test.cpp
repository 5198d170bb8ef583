// SPDX-License-Identifier: LGPL-2.1-or-later
// yolodetect's property defaults: each one is the core Settings' default (one source), and
// that default is still the documented value (the move to Settings changed no behaviour).
#include <gst/gst.h>
#include <gtest/gtest.h>

#include "param_defaults.hpp"
#include "yolo_settings.hpp"

using namespace keepup::test;

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
