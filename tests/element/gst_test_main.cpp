// GoogleTest main for tests that need GStreamer initialised once per process.
#include <gst/gst.h>
#include <gtest/gtest.h>

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  gst_init(&argc, &argv);
  // No gst_deinit(): after a failed assertion a streaming task may still be alive, and
  // gst_deinit() would wait for it forever instead of reporting the failure.
  return RUN_ALL_TESTS();
}
