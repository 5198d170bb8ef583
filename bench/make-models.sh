#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Generates the random-weight YOLOv8n / YOLO11n / YOLOv5n models keepup-bench-detect times
# (real model size, Ultralytics module structure, exported the way `yolo export` does).
# Needs Debian's python3-torch, python3-onnx and python3-numpy; nothing is downloaded.
#   bash bench/make-models.sh [OUT_DIR]     (default build/bench-models)
set -euo pipefail
out=${1:-build/bench-models}
here=$(cd "$(dirname "$0")/.." && pwd)
py=/usr/bin/python3
if ! $py -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "make-models: needs python3-torch python3-onnx python3-numpy (apt-get install -y ...)" >&2
  exit 1
fi
mkdir -p "$out"
for arch in v8n 11n v5n; do
  case $arch in v8n) name=yolov8n; opset=17 ;; 11n) name=yolo11n; opset=17 ;; v5n) name=yolov5n; opset=12 ;; esac
  for size in 320 640; do
    file="$out/$name-random-$size.onnx"
    [ -f "$file" ] && continue
    $py "$here/models/tools/export_yolo_arch.py" --arch "$arch" --size "$size" --opset "$opset" \
      --out "$file" 2>&1 | grep -v -i warning | grep -v '^ ' || true
  done
done
ls -la "$out"
