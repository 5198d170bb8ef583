#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo, recorder part: start keepup-record, publish N seconds with keepup-whip-publish over
# loopback, stop the server (SIGTERM finalizes the file), then print the recording's path,
# its frame count and the stagelatency summary the server printed on exit.
# Exits non-zero when the server does not start, the publisher fails, or the recording is
# missing or holds no decodable frame.
#   bash pipelines/record/demo.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
out="$build/record-demo"
# The first port from 18089 on that nobody listens on (RECORD_DEMO_PORT to choose one).
port=${RECORD_DEMO_PORT:-}
if [ -z "$port" ]; then
  for candidate in $(seq 18089 18189); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      port=$candidate
      break
    fi
  done
fi
rm -rf "$out"
mkdir -p "$out"
GST_TRACERS="stagelatency(interval=0)" "$build/bin/keepup-record" --listen "127.0.0.1:$port" \
  --output-dir "$out" --ice-address 127.0.0.1 >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
up=0
for _ in $(seq 100); do
  kill -0 "$server" 2>/dev/null || break
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    up=1
    break
  fi
  sleep 0.1
done
if [ "$up" != 1 ]; then
  echo "demo.sh: keepup-record is not listening on 127.0.0.1:$port" >&2
  cat "$out/server.log" >&2
  exit 1
fi
"$build/bin/keepup-whip-publish" "http://127.0.0.1:$port/whip/demo" --seconds "$seconds" \
  --ice-address 127.0.0.1
kill -TERM "$server"
wait "$server"
trap - EXIT
file=$(find "$out" -maxdepth 1 -name 'demo-*.ts' -not -name '*.recording.ts' | sort | head -n 1)
if [ -z "$file" ]; then
  echo "demo.sh: no recording in $out" >&2
  cat "$out/server.log" >&2
  exit 1
fi
frames=$(gst-launch-1.0 -v filesrc location="$file" ! tsdemux ! h264parse ! avdec_h264 ! \
  fakesink silent=false 2>/dev/null | grep -c "chain" || true)
echo
echo "== keepup-record log =="
grep -v '^\s*$' "$out/server.log" | grep -v 'GST_TRACER\|^0:' | sed -n '1,200p'
echo
echo "recording: $file ($frames frames)"
if [ "$frames" -lt 1 ]; then
  echo "demo.sh: $file holds no decodable video frame" >&2
  exit 1
fi
