#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The loader on every Ultralytics-style architecture and opset: YOLOv8n, YOLO11n and YOLOv5n
# structures (small width, random weights) exported at opsets 12 and 17 with Debian's torch,
# then run by yolodetect with model-fixups=auto on one frame, and checked to fail with
# model-fixups=none where OpenCV 4.6 cannot read them. Needs python3-torch: exits 77
# (skipped) without it, as in CI, where the committed YOLO11 export covers the rewrites.
set -uo pipefail
py=/usr/bin/python3
if ! $py -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "SKIP: python3-torch / python3-onnx / python3-numpy not installed"
  exit 77
fi
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for arch in v8n 11n v5n; do
  for opset in 12 17; do
    model="$tmp/$arch-op$opset.onnx"
    if ! $py "$src/models/tools/export_yolo_arch.py" --arch $arch --opset $opset --width 0.0625 \
        --size 320 --out "$model" >"$tmp/export.log" 2>&1; then
      echo "FAIL: export $arch opset $opset"; tail -5 "$tmp/export.log"; fail=1; continue
    fi
    run() {
      gst-launch-1.0 -q videotestsrc num-buffers=2 ! video/x-raw,width=640,height=360 ! \
        yolodetect model="$model" model-fixups="$1" ! fakesink >"$tmp/run.log" 2>&1
    }
    if run auto; then
      echo "ok: $arch opset $opset runs with model-fixups=auto"
    else
      echo "FAIL: $arch opset $opset with model-fixups=auto"; tail -5 "$tmp/run.log"; fail=1
    fi
    if run none; then
      echo "    ($arch opset $opset also loads unfixed)"
    else
      echo "    ($arch opset $opset fails unfixed: $(grep -m1 -o 'error: .*' "$tmp/run.log" | cut -c1-120))"
    fi
  done
done
exit $fail
