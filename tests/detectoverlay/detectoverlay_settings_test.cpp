// SPDX-License-Identifier: LGPL-2.1-or-later
// detectoverlay's property defaults: each one is the core Settings' default (one source), and
// that default is still the documented value.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <utility>

#include "overlay_core.hpp"
#include "param_defaults.hpp"

using namespace keepup::test;

TEST(AnalyticsSettings, DetectOverlayDefaultsAreTheCoreSettings) {
  namespace ov = keepup::overlay;
  GstElement *e = gst_element_factory_make("detectoverlay", nullptr);
  ASSERT_NE(e, nullptr);
  const ov::Settings &d = ov::kDefaults;
  const std::pair<const char *, bool> switches[] = {
      {"show-boxes", d.boxes}, {"show-labels", d.labels}, {"show-confidence", d.confidence},
      {"show-ids", d.ids},     {"show-speed", d.speed},   {"show-trails", d.trails},
      {"show-roi", d.roi},     {"show-lines", d.lines},   {"show-zones", d.zones},
      {"show-hud", d.hud}};
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
