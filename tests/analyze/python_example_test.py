#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs pipelines/python/keepup_pipeline.py as a user would and checks what it printed.

A 6 s traffic clip is made with keepup-analyze (the generated scene), the example records a
live source through dropqueue + tsrecordsink and analyses the clip; once it has printed line
crossings and stats, SIGINT is sent. Checked: exit 0, dropqueue-stats messages and the stats
property printed with in == out + dropped + level, line crossings with a track id and label, the
analytics summary read from objecttrack's nested stats structure, "stopping (SIGINT)", and a
finished recording (not the temp file) that decodes to frames.
Needs the hermetic test environment (GST_PLUGIN_PATH_1_0 at the build tree) and
KEEPUP_BUILD_DIR. Exits 77 (skipped) when PyGObject is missing.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(SOURCE, "pipelines", "python", "keepup_pipeline.py")
BUILD = os.environ["KEEPUP_BUILD_DIR"]


def fail(why, output=""):
    print("FAIL:", why)
    if output:
        print("---- example output ----\n" + output)
    sys.exit(1)


def stats_of(line):
    return {k: v for k, v in re.findall(r"([a-z-]+)=(\S+)", line)}


def main():
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import gi; gi.require_version('Gst', '1.0');"
                        "from gi.repository import Gst"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        print("SKIP: python3-gi / gir1.2-gstreamer-1.0 not installed")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="keepup-python-")
    clip = os.path.join(work, "clip.ts")
    subprocess.run([os.path.join(BUILD, "bin", "keepup-analyze"), "test", "--raw", "--seconds",
                    "6", "--output", clip, "--quiet"], check=True, timeout=120)
    output_ts = os.path.join(work, "rec.ts")
    cmd = ["/usr/bin/python3", EXAMPLE, "--output", output_ts, "--clip", clip, "--model",
           os.path.join(SOURCE, "models", "keepup-traffic-320.onnx"), "--width", "640",
           "--height", "360", "--preset", "ultrafast"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    deadline = time.monotonic() + 90
    # Wait until the analytics chain finished and two stats messages came, then Ctrl-C.
    while time.monotonic() < deadline and proc.poll() is None:
        output = "".join(lines)
        if "analytics done" in output and output.count("dropqueue-stats") >= 2 \
                and "stats property" in output:
            break
        time.sleep(0.1)
    if proc.poll() is not None:
        reader.join()
        fail(f"the example exited early with {proc.returncode}", "".join(lines))
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        reader.join()
        fail("no exit within 30 s of SIGINT", "".join(lines))
    reader.join()
    output = "".join(lines)
    print(output)
    if proc.returncode != 0:
        fail(f"exit code {proc.returncode}", output)

    msgs = [stats_of(l) for l in output.splitlines() if l.startswith("dropqueue-stats ")]
    props = [stats_of(l) for l in output.splitlines() if l.startswith("stats property:")]
    if len(msgs) < 2 or not props:
        fail("expected >= 2 dropqueue-stats messages and the stats property", output)
    for s in msgs + props:
        if int(s["in"]) != int(s["out"]) + int(s["dropped"]) + int(s["current-level-buffers"]):
            fail(f"stats invariant broken: {s}", output)
    if int(msgs[-1]["in"]) <= int(msgs[0]["in"]):
        fail("dropqueue-stats 'in' does not grow", output)
    crossings = [stats_of(l) for l in output.splitlines() if l.startswith("line-crossed ")]
    if not crossings:
        fail("no objecttrack-line-crossed message printed", output)
    for c in crossings:
        if c.get("line") != "gate" or int(c.get("track-id", "0")) <= 0 or "label" not in c:
            fail(f"odd line crossing: {c}", output)
    done = [l for l in output.splitlines() if l.startswith("analytics done:")]
    if not done or not re.search(r"frames=(\d+)", done[0]) or "gate-forward" not in done[0]:
        fail("no analytics summary with frames and per-line counts", output)
    if int(re.search(r"frames=(\d+)", done[0]).group(1)) < 150:
        fail("the analytics chain saw fewer than 150 of the clip's 180 frames", output)
    if "stopping (SIGINT)" not in output or "recording finished:" not in output:
        fail("no clean stop on SIGINT", output)
    if not os.path.exists(output_ts) or os.path.getsize(output_ts) < 10000:
        fail("the recording is missing or tiny", output)
    if any(name.endswith(".recording.ts") for name in os.listdir(work)):
        fail("a temp file was left: the recording was not finished", output)
    decode = subprocess.run(
        ["gst-launch-1.0", "-v", "filesrc", f"location={output_ts}", "!", "tsdemux", "!",
         "h264parse", "!", "avdec_h264", "!", "fakesink", "silent=false"],
        capture_output=True, text=True, timeout=60)
    frames = decode.stdout.count("chain")
    if decode.returncode != 0 or frames < 30:
        fail(f"the recording decodes to {frames} frames (rc {decode.returncode})", output)
    print(f"PASS: {len(msgs)} stats messages, {len(crossings)} line crossings, "
          f"{frames} recorded frames")


if __name__ == "__main__":
    main()
