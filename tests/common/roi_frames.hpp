// SPDX-License-Identifier: LGPL-2.1-or-later
// Frames as a detector leaves them for objecttrack (one ROI meta per detection with a
// `detection` param, optionally fresh=false on it, optionally yolodetect's inference meta),
// and what objecttrack wrote back (the `tracking` params). Shared by the objecttrack tests.
#pragma once

#include <gst/gst.h>
#include <gst/video/gstvideometa.h>

#include <string>
#include <vector>

#include "keepup_metas.hpp"

namespace keepup::test {

inline constexpr GstClockTime kRoiFrame = GST_SECOND / 30;

struct Roi {
  double x = 0, y = 0, w = 0, h = 0;
  const char *label = "car";
  int class_id = 0;
  int fresh = -1; // fresh on the detection param: -1 absent, 0 false, 1 true
};

// Frame n (PTS n / 30 s) of `size` bytes with one ROI meta per detection; `inference_fresh`
// >= 0 adds a KeepupInferenceMeta saying so.
inline GstBuffer *roi_frame(guint64 n, const std::vector<Roi> &rois, int inference_fresh = -1,
                            gsize size = 640 * 360 * 3) {
  GstBuffer *buf = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_memset(buf, 0, 90, size);
  GST_BUFFER_PTS(buf) = n * kRoiFrame;
  GST_BUFFER_DURATION(buf) = kRoiFrame;
  for (const Roi &r : rois) {
    auto *m = gst_buffer_add_video_region_of_interest_meta(
        buf, r.label, static_cast<guint>(r.x), static_cast<guint>(r.y), static_cast<guint>(r.w),
        static_cast<guint>(r.h));
    GstStructure *p =
        gst_structure_new("detection", "label", G_TYPE_STRING, r.label, "class-id", G_TYPE_INT,
                          r.class_id, "confidence", G_TYPE_DOUBLE, 0.9, nullptr);
    if (r.fresh >= 0)
      gst_structure_set(p, "fresh", G_TYPE_BOOLEAN, r.fresh ? TRUE : FALSE, nullptr);
    gst_video_region_of_interest_meta_add_param(m, p);
  }
  if (inference_fresh >= 0) {
    GstStructure *s = keepup::gstmeta::add(buf, keepup::gstmeta::kInference);
    gst_structure_set(s, "fresh", G_TYPE_BOOLEAN, inference_fresh ? TRUE : FALSE, nullptr);
  }
  return buf;
}

struct Tracked {
  guint x = 0, y = 0, w = 0, h = 0;
  guint64 id = 0;
  gboolean predicted = FALSE;
  std::string state;
  bool has_speed = false;
  double speed = 0, uncertainty = -1;
};

inline std::vector<Tracked> tracked(GstBuffer *buf) {
  std::vector<Tracked> out;
  gpointer state = nullptr;
  while (GstMeta *m = gst_buffer_iterate_meta_filtered(
             buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)) {
    auto *roi = reinterpret_cast<GstVideoRegionOfInterestMeta *>(m);
    Tracked t;
    t.x = roi->x;
    t.y = roi->y;
    t.w = roi->w;
    t.h = roi->h;
    if (GstStructure *s = gst_video_region_of_interest_meta_get_param(roi, "tracking")) {
      gst_structure_get_uint64(s, "track-id", &t.id);
      gst_structure_get_boolean(s, "predicted", &t.predicted);
      if (const gchar *st = gst_structure_get_string(s, "state"))
        t.state = st;
      t.has_speed = gst_structure_get_double(s, "speed-kmh", &t.speed);
      gst_structure_get_double(s, "speed-uncertainty-kmh", &t.uncertainty);
    }
    out.push_back(t);
  }
  return out;
}

} // namespace keepup::test
