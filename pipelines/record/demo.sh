#!/ usr / bin / env bash
#make demo, recorder part : start keepup - record, publish 10 s with keepup - whip - publish over
#loopback, stop the server(SIGTERM finalizes the file), then print the recording's path,
#its frame count and the stagelatency summary the server printed on exit.
#bash pipelines / record / demo.sh BUILD_DIR[SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
out="$build/record-demo"
port=18089
rm -rf "$out"
mkdir -p "$out"
GST_TRACERS="stagelatency(interval=0)" "$build/bin/keepup-record" --listen "127.0.0.1:$port" \
  --output-dir "$out" --ice-address 127.0.0.1 >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100);
do
(exec 3 < > "/dev/tcp/127.0.0.1/$port")2 >
    / dev /
            null &&break sleep 0.1 done "$build/bin/keepup-whip-publish"
                                        "http://127.0.0.1:$port/whip/demo" --seconds
            "$seconds" --ice
        - address 127.0.0.1 kill - TERM "$server" wait "$server" trap
        - EXIT file = $(ls "$out" / demo - *.ts | head - 1) frames =
    $(gst - launch - 1.0 -
          v filesrc location = "$file" !tsdemux !h264parse !avdec_h264 !fakesink silent =
          false 2 > / dev / null | grep - c "chain" || true) echo echo
        "== keepup-record log ==" grep
        - v "^\s*$"
            "$out/server.log" |
    grep - v "GST_TRACER\|^0:" | sed - n '1,200p' echo echo "recording: $file ($frames frames)"
