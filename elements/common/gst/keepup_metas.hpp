// SPDX-License-Identifier: LGPL-2.1-or-later
// Frame-level metas the analytics elements pass to each other, as GstCustomMeta (1.20+):
//   KeepupInferenceMeta  (yolodetect)   fresh, source-pts, inference-ms, detections
//   KeepupTrackingMeta   (objecttrack)  roi, lines, line counts, active tracks
// A detector that leaves no ROI metas on a frame still says whether it looked at it, so a
// tracker can tell "nothing there" from "not inferred on this frame".
#pragma once

#include <gst/gst.h>

namespace keepup::gstmeta {

inline constexpr const char *kInference = "KeepupInferenceMeta";
inline constexpr const char *kTracking = "KeepupTrackingMeta";

// Frame-level facts travel with the buffer through copies and scalings unchanged.
// user_data is the meta's registered name.
inline gboolean copy_custom_meta(GstBuffer *dest, GstCustomMeta *meta, GstBuffer *, GQuark,
                                 gpointer, gpointer name) {
  GstCustomMeta *copy = gst_buffer_add_custom_meta(dest, static_cast<const char *>(name));
  if (!copy)
    return FALSE;
  const GstStructure *src = gst_custom_meta_get_structure(meta);
  GstStructure *dst = gst_custom_meta_get_structure(copy);
  for (gint i = 0; i < gst_structure_n_fields(src); ++i) {
    const gchar *field = gst_structure_nth_field_name(src, static_cast<guint>(i));
    gst_structure_set_value(dst, field, gst_structure_get_value(src, field));
  }
  return TRUE;
}

inline void register_custom_metas() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    static const gchar *tags[] = {nullptr};
    for (const char *name : {kInference, kTracking})
      if (!gst_meta_get_info(name))
        gst_meta_register_custom(name, tags, copy_custom_meta, const_cast<char *>(name), nullptr);
    g_once_init_leave(&done, 1);
  }
}

// The meta's structure on a buffer, or nullptr.
inline GstStructure *find(GstBuffer *buf, const char *name) {
  register_custom_metas();
  GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, name);
  return meta ? gst_custom_meta_get_structure(meta) : nullptr;
}

// Adds the meta (buffer must be writable) and returns its structure to fill.
inline GstStructure *add(GstBuffer *buf, const char *name) {
  register_custom_metas();
  GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, name);
  return meta ? gst_custom_meta_get_structure(meta) : nullptr;
}

} // namespace keepup::gstmeta
