// SPDX-License-Identifier: LGPL-2.1-or-later
// detectoverlay's core: colours, YUV values, label text, trails and frame rate.
#include <gtest/gtest.h>

#include <set>

#include "overlay_core.hpp"

using namespace keepup::overlay;

TEST(OverlayCore, NeighbouringIdsGetDifferentStableColours) {
  std::set<std::tuple<int, int, int>> seen;
  for (std::uint64_t id = 1; id <= 20; ++id) {
    const Rgb c = palette(id);
    EXPECT_EQ(c, palette(id)) << "stable";
    seen.insert({c.r, c.g, c.b});
    const Rgb next = palette(id + 1);
    const int distance = std::abs(c.r - next.r) + std::abs(c.g - next.g) + std::abs(c.b - next.b);
    EXPECT_GT(distance, 60) << id;
  }
  EXPECT_EQ(seen.size(), 20U);
}

TEST(OverlayCore, Bt601LimitedRangeYuv) {
  const Yuv black = to_yuv({0, 0, 0}), white = to_yuv({255, 255, 255});
  EXPECT_EQ(black.y, 16);
  EXPECT_EQ(white.y, 235);
  EXPECT_EQ(white.u, 128);
  EXPECT_EQ(white.v, 128);
  const Yuv red = to_yuv({255, 0, 0});
  EXPECT_NEAR(red.y, 82, 1);
  EXPECT_NEAR(red.u, 90, 1);
  EXPECT_NEAR(red.v, 240, 1);
}

TEST(OverlayCore, LabelTextHasOnlyWhatIsKnownAndWanted) {
  LabelParts p{"car", 0.874, 12, 43.4, false};
  EXPECT_EQ(label_text(p, true, true, true), "car 0.87 #12 43 km/h");
  EXPECT_EQ(label_text(p, false, true, false), "car #12");
  p.speed_kmh.reset();
  p.predicted = true;
  EXPECT_EQ(label_text(p, true, true, true), "car 0.87 #12 ~");
}

TEST(OverlayCore, SpeedShowsItsUncertaintyWhenKnown) {
  LabelParts p{"car", std::nullopt, 3, 52.4, false, 2.2};
  EXPECT_EQ(label_text(p, true, true, true), "car #3 52 \u00b1 3 km/h")
      << "the uncertainty is rounded up";
  p.speed_uncertainty_kmh = 3.0;
  EXPECT_EQ(label_text(p, false, false, true), "car 52 \u00b1 3 km/h");
  p.speed_uncertainty_kmh.reset();
  EXPECT_EQ(label_text(p, false, false, true), "car 52 km/h");
  p.speed_uncertainty_kmh = 3.0;
  EXPECT_EQ(label_text(p, true, true, false), "car #3") << "show-speed off hides both";
  p.speed_kmh.reset();
  EXPECT_EQ(label_text(p, true, true, true), "car #3") << "no speed, no uncertainty";
}

TEST(OverlayCore, ZoneTextHasTheCountAndClassesWhenSeveral) {
  EXPECT_EQ(zone_text("lot", {}), "lot 0");
  EXPECT_EQ(zone_text("lot", {{"car", 2}}), "lot 2");
  EXPECT_EQ(zone_text("lot", {{"car", 2}, {"bike", 1}}), "lot 3: bike 1, car 2");
  EXPECT_EQ(zone_text("lot", {{"car", 0}, {"bike", 1}}), "lot 1: bike 1, car 0");
}

TEST(OverlayCore, TrailsKeepTheLastPointsAndForgetOldTracks) {
  Trails t(3, 1000);
  for (int i = 0; i < 5; ++i)
    t.add(7, {static_cast<double>(i), 0}, i * 10);
  ASSERT_NE(t.get(7), nullptr);
  ASSERT_EQ(t.get(7)->size(), 3U);
  EXPECT_EQ(t.get(7)->front().x, 2.0);
  t.add(8, {0, 0}, 900);
  t.prune(1500); // track 7 last seen at 40: gone; 8 at 900: kept
  EXPECT_EQ(t.get(7), nullptr);
  EXPECT_NE(t.get(8), nullptr);
}

TEST(OverlayCore, FpsFromTimestamps) {
  FpsMeter m;
  for (int i = 0; i <= 60; ++i)
    m.add(static_cast<std::int64_t>(i) * 33'333'333);
  EXPECT_NEAR(m.fps(), 30.0, 0.1);
  m.add(0); // time went back: start over
  EXPECT_EQ(m.fps(), 0.0);
}
