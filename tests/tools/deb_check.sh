#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks the Debian package as a user would get it: unpacks it with dpkg-deb -x into a
# temporary root (nothing is installed on the machine), then from that root only:
# gst-inspect-1.0 of every plugin and feature (G_DEBUG=fatal_criticals), the apps' --help,
# keepup-ts-recover on a recording made by the packaged tsrecordsink, and keepup-analyze on
# the packaged model. Lists lintian's findings (informational; README lists what remains).
#   bash tests/tools/deb_check.sh gstreamer1.0-keepup_<version>_amd64.deb
set -euo pipefail
deb=${1:?usage: deb_check.sh PACKAGE.deb}
[ -f "$deb" ] || { echo "deb_check: no such file: $deb" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fail=0
check() { # description, command...
  local what=$1
  shift
  if "$@" >"$root/out.log" 2>&1; then
    echo "ok: $what"
  else
    echo "FAIL: $what"
    tail -20 "$root/out.log"
    fail=1
  fi
}

echo "== $(basename "$deb")"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb -x "$deb" "$root/pkg"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
plugindir="$root/pkg/usr/lib/$multiarch/gstreamer-1.0"
for f in libgstkeepup.so libgstkeepupanalytics.so libgstkeepuptracers.so; do
  check "plugin $f in /usr/lib/$multiarch/gstreamer-1.0" test -f "$plugindir/$f"
done
for app in keepup-ts-recover keepup-analyze keepup-record keepup-whip-publish keepup-trace-report \
  keepup-onnx-fix keepup-mot-eval keepup-overload-demo; do
  check "app /usr/bin/$app" test -x "$root/pkg/usr/bin/$app"
done
check "model in /usr/share/keepup/models" test -f "$root/pkg/usr/share/keepup/models/keepup-traffic-320.onnx"
check "copyright file" test -f "$root/pkg/usr/share/doc/gstreamer1.0-keepup/copyright"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgstreamer1.0-0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad libopencv-dnn406 libsoup-3.0-0 libnice10 gstreamer1.0-nice; do
  check "Depends names $lib" grep -q "$lib" <<<"$depends"
done

# Only the unpacked plugins, with the system's GStreamer plugins beside them, a private registry.
export GST_PLUGIN_PATH_1_0="$plugindir" GST_PLUGIN_PATH="$plugindir"
export GST_REGISTRY_1_0="$root/registry.bin" GST_REGISTRY_FORK=no
export PATH="$root/pkg/usr/bin:$PATH"
for plugin in keepup keepupanalytics keepuptracers; do
  out=$(G_DEBUG=fatal_criticals gst-inspect-1.0 "$plugin" 2>&1) || {
    echo "FAIL: gst-inspect-1.0 $plugin"
    echo "$out"
    fail=1
    continue
  }
  if grep -q "Filename *$plugindir" <<<"$out"; then
    echo "ok: $plugin loads from the unpacked package"
  else
    echo "FAIL: $plugin did not load from $plugindir"
    fail=1
  fi
done
for feature in dropqueue tsrecordsink yolodetect objecttrack detectoverlay stagelatency; do
  check "gst-inspect-1.0 $feature" env G_DEBUG=fatal_criticals gst-inspect-1.0 "$feature"
done
check "keepup-ts-recover --help" "$root/pkg/usr/bin/keepup-ts-recover" --help
check "keepup-record --help" "$root/pkg/usr/bin/keepup-record" --help
check "keepup-whip-publish --help" "$root/pkg/usr/bin/keepup-whip-publish" --help
check "keepup-analyze --help" "$root/pkg/usr/bin/keepup-analyze" --help

# A short recording through the packaged tsrecordsink, then the packaged recovery tool on it.
check "record with the packaged dropqueue and tsrecordsink" gst-launch-1.0 -e videotestsrc \
  num-buffers=60 ! x264enc tune=zerolatency ! mpegtsmux ! dropqueue ! \
  tsrecordsink location="$root/rec.ts"
check "recording exists" test -s "$root/rec.ts"
check "keepup-ts-recover reads it" "$root/pkg/usr/bin/keepup-ts-recover" "$root/rec.ts" \
  -o "$root/rec.recovered.ts"
check "keepup-analyze on the packaged model" "$root/pkg/usr/bin/keepup-analyze" test \
  --seconds 1 --size 640x360 --output "$root/analyze.ts" \
  --model "$root/pkg/usr/share/keepup/models/keepup-traffic-320.onnx"

if command -v lintian >/dev/null; then
  echo "== lintian (informational)"
  lintian --no-tag-display-limit "$deb" || true
else
  echo "== lintian not installed: skipped"
fi
[ "$fail" = 0 ] && echo "deb_check: all checks passed" || echo "deb_check: FAILED"
exit "$fail"
