// SPDX-License-Identifier: LGPL-2.1-or-later
// An objecttrack event message as one JSON line (schema v1, events-v1.schema.json): the
// structure's fields in order, `-` in names written `_` (track-id -> track_id), unsigned and
// signed integers, doubles, strings, booleans, arrays and nested structures as they are.
// nlohmann_json writes numbers the same way in every locale. Header-only: keepup-analyze
// and the tests include it.
#pragma once

#include <string>

#include <gst/gst.h>
#include <nlohmann/json.hpp>

namespace keepup::trackevents {

inline nlohmann::ordered_json structure_to_json(const GstStructure *s);

inline nlohmann::ordered_json value_to_json(const GValue *v) {
  const GType t = G_VALUE_TYPE(v);
  if (t == G_TYPE_UINT)
    return g_value_get_uint(v);
  if (t == G_TYPE_UINT64)
    return g_value_get_uint64(v);
  if (t == G_TYPE_INT)
    return g_value_get_int(v);
  if (t == G_TYPE_INT64)
    return g_value_get_int64(v);
  if (t == G_TYPE_DOUBLE)
    return g_value_get_double(v);
  if (t == G_TYPE_BOOLEAN)
    return static_cast<bool>(g_value_get_boolean(v));
  if (t == G_TYPE_STRING) {
    const gchar *str = g_value_get_string(v);
    return str ? std::string(str) : std::string();
  }
  if (t == GST_TYPE_ARRAY || t == GST_TYPE_LIST) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    const guint n = t == GST_TYPE_ARRAY ? gst_value_array_get_size(v) : gst_value_list_get_size(v);
    for (guint i = 0; i < n; ++i)
      a.push_back(value_to_json(t == GST_TYPE_ARRAY ? gst_value_array_get_value(v, i)
                                                    : gst_value_list_get_value(v, i)));
    return a;
  }
  if (t == GST_TYPE_STRUCTURE)
    return structure_to_json(gst_value_get_structure(v));
  gchar *text = gst_value_serialize(v);
  std::string out = text ? text : "";
  g_free(text);
  return out;
}

inline nlohmann::ordered_json structure_to_json(const GstStructure *s) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  if (!s)
    return o;
  const gint n = gst_structure_n_fields(s);
  for (gint i = 0; i < n; ++i) {
    const gchar *name = gst_structure_nth_field_name(s, static_cast<guint>(i));
    std::string key = name;
    for (char &ch : key)
      if (ch == '-')
        ch = '_';
    o[key] = value_to_json(gst_structure_get_value(s, name));
  }
  return o;
}

// The line for an objecttrack event message, or "" for any other structure. Bytes that are
// not UTF-8 (labels from a user's model) are replaced, never thrown on.
inline std::string event_json_line(const GstStructure *s) {
  if (!s || !g_str_has_prefix(gst_structure_get_name(s), "objecttrack-") ||
      !gst_structure_has_field_typed(s, "v", G_TYPE_UINT))
    return {};
  return structure_to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace keepup::trackevents
