// SPDX-License-Identifier: LGPL-2.1-or-later
// Reading a property's ParamSpec default, for the "defaults are the core Settings" tests.
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>

namespace keepup::test {

inline GParamSpec *spec(GstElement *e, const char *name) {
  GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
  EXPECT_NE(p, nullptr) << name;
  return p;
}

inline double default_double(GstElement *e, const char *name) {
  return G_PARAM_SPEC_DOUBLE(spec(e, name))->default_value;
}
inline int default_int(GstElement *e, const char *name) {
  return G_PARAM_SPEC_INT(spec(e, name))->default_value;
}
inline unsigned default_uint(GstElement *e, const char *name) {
  return G_PARAM_SPEC_UINT(spec(e, name))->default_value;
}
inline bool default_bool(GstElement *e, const char *name) {
  return G_PARAM_SPEC_BOOLEAN(spec(e, name))->default_value;
}
inline int default_enum(GstElement *e, const char *name) {
  return G_PARAM_SPEC_ENUM(spec(e, name))->default_value;
}

} // namespace keepup::test
