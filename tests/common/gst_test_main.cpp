// SPDX-License-Identifier: LGPL-2.1-or-later
// GoogleTest main for tests that need GStreamer. It makes every run hermetic, whether
// started by ctest or by hand: our plugins from the build tree only, GStreamer's own from
// a folder of links that leaves out any installed keepup copy, a private registry, and
// GLib warnings and criticals fatal (what G_DEBUG=fatal_warnings does).
#include <gst/gst.h>
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  g_setenv("GST_PLUGIN_PATH_1_0", KEEPUP_TEST_PLUGIN_DIR, TRUE);
  g_setenv("GST_PLUGIN_PATH", KEEPUP_TEST_PLUGIN_DIR, TRUE);
  g_setenv("GST_PLUGIN_SYSTEM_PATH_1_0", KEEPUP_TEST_SYSTEM_PLUGIN_DIR, TRUE);
  g_setenv("GST_REGISTRY_1_0", KEEPUP_TEST_REGISTRY, TRUE);
  g_setenv("GST_REGISTRY_FORK", "no", TRUE);
  g_setenv("KEEPUP_BUILD_DIR", KEEPUP_TEST_BUILD_DIR, TRUE);
  g_setenv("G_DEBUG", "fatal_warnings", TRUE); // for child processes (gst-launch-1.0)
  g_log_set_always_fatal(
      static_cast<GLogLevelFlags>(G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
  ::testing::InitGoogleTest(&argc, argv);
  gst_init(&argc, &argv);
  // No gst_deinit(): after a failed assertion a streaming task may still be alive, and
  // gst_deinit() would wait for it forever instead of reporting the failure.
  return RUN_ALL_TESTS();
}
