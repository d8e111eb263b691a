#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Brings the test registry ($GST_REGISTRY) up to date outside valgrind, then runs the command line
# and exits with its status. A process that finds the registry missing or stale scans every
# installed plugin in-process (GST_REGISTRY_FORK=no), and several of those plugins leak when
# loaded: the memory check is about our elements, so the scan happens here, before it starts,
# whichever test of the suite happens to run first.
#   with_registry.sh COMMAND [ARG ...]
set -u
if ! gst-inspect-1.0 hespfacecrop >/dev/null 2>&1; then
  echo "with_registry.sh: gst-inspect-1.0 cannot find hespfacecrop (GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-})"
  exit 1
fi
exec "$@"
