#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Inspects every keepup plugin and every feature it registers with G_DEBUG=fatal_criticals:
# any GLib critical aborts gst-inspect and fails this test. Expects the test environment
# (GST_PLUGIN_PATH_1_0 at the build tree) and KEEPUP_PLUGINS (space or ;-separated).
set -euo pipefail
export G_DEBUG=fatal_criticals
fail=0
checked=0
for plugin in ${KEEPUP_PLUGINS//;/ }; do
  if ! out=$(gst-inspect-1.0 "$plugin" 2>&1); then
    echo "FAIL: gst-inspect-1.0 $plugin"; echo "$out"; fail=1; continue
  fi
  if ! grep -q "Filename *${KEEPUP_BUILD_DIR}" <<<"$out"; then
    echo "FAIL: $plugin was not loaded from the build tree"; echo "$out" | head -20; fail=1
  fi
  checked=$((checked + 1))
  # Feature lines look like "  dropqueue: Drop queue" (elements) or
  # "  stagelatency (GstTracerFactory)" (tracers).
  features=$(awk '/^  [a-z0-9_-]+: /{sub(":", "", $1); print $1}
                  /^  [a-z0-9_-]+ \(Gst[A-Za-z]+Factory\)/{print $1}' <<<"$out")
  for feature in $features; do
    if ! gst-inspect-1.0 "$feature" >/dev/null 2>&1; then
      echo "FAIL: gst-inspect-1.0 $feature"; gst-inspect-1.0 "$feature" 2>&1 | tail -5; fail=1
    else
      echo "ok: $plugin/$feature"
    fi
    checked=$((checked + 1))
  done
done
[ "$checked" -gt 0 ] || { echo "FAIL: nothing inspected (KEEPUP_PLUGINS empty?)"; exit 1; }
echo "inspected $checked plugins and features"
exit $fail
