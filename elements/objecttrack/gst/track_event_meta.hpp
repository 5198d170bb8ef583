// SPDX-License-Identifier: LGPL-2.1-or-later
// objecttrack's events in band, for elements downstream (metapublish): an element cannot read
// the bus, so the event structures objecttrack posts as element messages also travel with
// the data.
//   - on the frame they happened on: a `KeepupTrackEventsMeta` (GstCustomMeta) whose
//     `events` field is an array of the message structures, in posting order;
//   - at EOS, where the tracks still alive end without a frame: a serialized custom
//     downstream event `keepup-track-events` with the same `events` field, sent just
//     before EOS.
// The structures are copies of the messages' (same names and fields, schema v1); the bus
// messages are unchanged. Header-only: objecttrack writes, metapublish reads.
#pragma once

#include <vector>

#include <gst/gst.h>

#include "keepup_metas.hpp"

namespace keepup::trackevents {

inline constexpr const char *kEventsMeta = "KeepupTrackEventsMeta";
inline constexpr const char *kEventsEvent = "keepup-track-events";
inline constexpr const char *kEventsField = "events";

inline void register_events_meta() {
  static gsize done = 0;
  if (g_once_init_enter(&done)) {
    static const gchar *tags[] = {nullptr};
    if (!gst_meta_get_info(kEventsMeta))
      gst_meta_register_custom(kEventsMeta, tags, keepup::gstmeta::copy_custom_meta,
                               const_cast<char *>(kEventsMeta), nullptr);
    g_once_init_leave(&done, 1);
  }
}

// The events of one frame (or of EOS), collected while they are posted.
class EventBatch {
public:
  EventBatch() { g_value_init(&events_, GST_TYPE_ARRAY); }
  ~EventBatch() { g_value_unset(&events_); }
  EventBatch(const EventBatch &) = delete;
  EventBatch &operator=(const EventBatch &) = delete;

  void add(const GstStructure *s) {
    GValue item = G_VALUE_INIT;
    g_value_init(&item, GST_TYPE_STRUCTURE);
    g_value_set_boxed(&item, s); // copies
    gst_value_array_append_and_take_value(&events_, &item);
  }
  bool empty() const { return gst_value_array_get_size(&events_) == 0; }

  // Onto a writable frame; nothing when there were no events.
  void attach(GstBuffer *buf) const {
    if (empty())
      return;
    register_events_meta();
    if (GstCustomMeta *meta = gst_buffer_add_custom_meta(buf, kEventsMeta))
      gst_structure_set_value(gst_custom_meta_get_structure(meta), kEventsField, &events_);
  }
  // The custom downstream event carrying them (nullptr when there were none).
  GstEvent *to_event() const {
    if (empty())
      return nullptr;
    GstStructure *s = gst_structure_new_empty(kEventsEvent);
    gst_structure_set_value(s, kEventsField, &events_);
    return gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, s);
  }

private:
  GValue events_ = G_VALUE_INIT;
};

namespace detail {
inline std::vector<const GstStructure *> events_in(const GstStructure *holder) {
  std::vector<const GstStructure *> out;
  const GValue *array = holder ? gst_structure_get_value(holder, kEventsField) : nullptr;
  if (!array || !GST_VALUE_HOLDS_ARRAY(array))
    return out;
  for (guint i = 0; i < gst_value_array_get_size(array); ++i) {
    const GValue *v = gst_value_array_get_value(array, i);
    if (GST_VALUE_HOLDS_STRUCTURE(v))
      out.push_back(gst_value_get_structure(v));
  }
  return out;
}
} // namespace detail

// The frame's event structures in posting order (borrowed from the buffer's meta).
inline std::vector<const GstStructure *> events_of(GstBuffer *buf) {
  register_events_meta();
  GstCustomMeta *meta = gst_buffer_get_custom_meta(buf, kEventsMeta);
  return detail::events_in(meta ? gst_custom_meta_get_structure(meta) : nullptr);
}

// The event structures of a `keepup-track-events` event (borrowed from it), else none.
inline std::vector<const GstStructure *> events_of(GstEvent *event) {
  const GstStructure *s = gst_event_get_structure(event);
  if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM || !s ||
      !gst_structure_has_name(s, kEventsEvent))
    return {};
  return detail::events_in(s);
}

} // namespace keepup::trackevents
