// SPDX-License-Identifier: LGPL-2.1-or-later
// main() of the GStreamer tests: gst_init before any test.
#include <gst/gst.h>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  gst_deinit();
  return rc;
}
