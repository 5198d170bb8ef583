#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""keepup from Python (PyGObject): a live recorder and an analytics chain on one main loop.

The recorder is built element by element through the GStreamer API:
    videotestsrc is-live=true ! video/x-raw,WxH,30fps ! dropqueue ! x264enc ! h264parse
        ! mpegtsmux ! tsrecordsink location=OUTPUT
It prints every `dropqueue-stats` element message and, once a second, the dropqueue's `stats`
property (a GstStructure). With --clip, an analytics chain from a launch description runs
beside it and prints every `objecttrack-line-crossed` message:
    filesrc ! tsdemux ! h264parse ! avdec_h264 ! videoconvert ! yolodetect ! objecttrack
        ! detectoverlay ! fakesink
Ctrl-C (SIGINT), SIGTERM or --seconds end it cleanly: EOS into the recorder, so tsrecordsink
finalizes the file, then exit 0. Any pipeline error exits 1 with the error's message.

    python3 pipelines/python/keepup_pipeline.py --output rec.ts --clip traffic.ts \\
        --model models/keepup-traffic-320.onnx --lines gate:640,0,640,720

Needs python3-gi, gir1.2-gstreamer-1.0 and gir1.2-gst-plugins-base-1.0, and the keepup plugins
(installed, or GST_PLUGIN_PATH=build/plugins).
"""
import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def say(*parts):
    print(*parts, flush=True)


def fields(structure, names):
    """Formats the named fields of a GstStructure as name=value pairs."""
    out = []
    for name in names:
        if structure.has_field(name):
            value = structure.get_value(name)
            out.append(f"{name}={value:.4f}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(out)


STATS_FIELDS = ["in", "out", "dropped", "dropped-overflow", "dropped-age", "current-level-buffers",
                "drop-ratio", "health"]


class App:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.exit_code = 0
        self.stopping = False
        self.recorder = self.build_recorder()
        self.analytics = self.build_analytics() if args.clip else None

    def make(self, factory, name=None, **props):
        element = Gst.ElementFactory.make(factory, name)
        if element is None:
            raise RuntimeError(f"no element '{factory}': is the plugin installed "
                               f"(GST_PLUGIN_PATH=build/plugins)?")
        for key, value in props.items():
            element.set_property(key.replace("_", "-"), value)
        return element

    def build_recorder(self):
        a = self.args
        pipe = Gst.Pipeline.new("recorder")
        src = self.make("videotestsrc", is_live=True, pattern="ball")
        caps = self.make("capsfilter", caps=Gst.Caps.from_string(
            f"video/x-raw,width={a.width},height={a.height},framerate=30/1"))
        self.queue = self.make("dropqueue", "dq", max_size_buffers=a.queue_buffers,
                               stats_interval=Gst.SECOND)
        enc = self.make("x264enc", tune="zerolatency", speed_preset=a.preset, key_int_max=30)
        parse = self.make("h264parse")
        mux = self.make("mpegtsmux")
        sink = self.make("tsrecordsink", "rec", location=a.output)
        chain = [src, caps, self.queue, enc, parse, mux, sink]
        for element in chain:
            pipe.add(element)
        for up, down in zip(chain, chain[1:]):
            if not up.link(down):
                raise RuntimeError(f"cannot link {up.get_name()} to {down.get_name()}")
        self.watch(pipe)
        return pipe

    def build_analytics(self):
        a = self.args
        desc = (f'filesrc location="{a.clip}" ! tsdemux ! h264parse ! avdec_h264 ! videoconvert '
                f'! yolodetect model="{a.model}" ! objecttrack name=track meters-per-pixel=0.045 '
                f'lines="{a.lines}" ! detectoverlay ! fakesink sync=false')
        pipe = Gst.parse_launch(desc)
        pipe.set_name("analytics")
        self.watch(pipe)
        return pipe

    def watch(self, pipe):
        bus = pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self.on_message, pipe)

    def on_message(self, _bus, msg, pipe):
        t = msg.type
        if t == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            if s is None:
                return
            name = s.get_name()
            if name == "dropqueue-stats":
                say("dropqueue-stats", fields(s, STATS_FIELDS))
            elif name == "objecttrack-line-crossed":
                say("line-crossed", fields(s, ["line", "track-id", "label", "direction",
                                               "speed-kmh"]))
        elif t == Gst.MessageType.WARNING:
            err, _debug = msg.parse_warning()
            say(f"warning from {msg.src.get_name()}: {err.message}")
        elif t == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            print(f"error from {msg.src.get_name()} in {pipe.get_name()}: {err.message}\n{debug}",
                  file=sys.stderr, flush=True)
            self.exit_code = 1
            self.shutdown()
        elif t == Gst.MessageType.EOS:
            if pipe is self.analytics:
                self.analytics_done()
            else:
                self.recorder.set_state(Gst.State.NULL)
                self.report_recording()
                self.loop.quit()

    def analytics_done(self):
        track = self.analytics.get_by_name("track")
        stats = track.get_property("stats")  # a GstStructure, with a nested one for the lines
        lines = stats.get_value("lines")
        say("analytics done:", fields(stats, ["frames", "total-tracks", "active-tracks"]),
            lines.to_string() if lines is not None else "")
        self.analytics.set_state(Gst.State.NULL)
        self.analytics = None

    def print_stats(self):
        stats = self.queue.get_property("stats")
        say("stats property:", fields(stats, STATS_FIELDS))
        return GLib.SOURCE_CONTINUE

    def report_recording(self):
        stats = self.queue.get_property("stats")  # zeros now that it stopped
        path = self.args.output
        size = os.path.getsize(path) if os.path.exists(path) else -1
        say(f"recording finished: {path} ({size} bytes); dropqueue after stop:",
            fields(stats, ["in", "out", "dropped"]))

    def shutdown(self, why=None):
        if self.stopping:
            return GLib.SOURCE_REMOVE
        self.stopping = True
        if why:
            say(f"stopping ({why})")
        if self.analytics is not None:
            self.analytics.set_state(Gst.State.NULL)
            self.analytics = None
        if self.exit_code != 0:
            self.recorder.set_state(Gst.State.NULL)
            self.loop.quit()
        else:
            # EOS lets tsrecordsink fsync and rename the file; the EOS message ends the loop.
            self.recorder.send_event(Gst.Event.new_eos())
            GLib.timeout_add_seconds(10, self.eos_timeout)
        return GLib.SOURCE_REMOVE

    def eos_timeout(self):
        print("no EOS within 10 s; stopping hard", file=sys.stderr, flush=True)
        self.exit_code = 1
        self.recorder.set_state(Gst.State.NULL)
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def run(self):
        for signum, label in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self.shutdown, label)
        if self.args.seconds > 0:
            GLib.timeout_add(int(self.args.seconds * 1000), self.shutdown, "time is up")
        GLib.timeout_add_seconds(1, self.print_stats)
        for pipe in (self.recorder, self.analytics):
            if pipe is not None and pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
                print(f"{pipe.get_name()}: cannot start", file=sys.stderr)
                return 1
        say(f"running: recording to {self.args.output}"
            + (f", analysing {self.args.clip}" if self.args.clip else "")
            + "; Ctrl-C stops")
        self.loop.run()
        return self.exit_code


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default="keepup-python.ts", help="recording (MPEG-TS)")
    ap.add_argument("--seconds", type=float, default=0, help="stop after N seconds (0: Ctrl-C)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--preset", default="veryfast", help="x264enc speed-preset")
    ap.add_argument("--queue-buffers", type=int, default=2, help="dropqueue max-size-buffers")
    ap.add_argument("--clip", help="a video file for the analytics chain (e.g. made by "
                    "'keepup-analyze test --raw --output clip.ts')")
    ap.add_argument("--model", default="/usr/share/keepup/models/keepup-traffic-320.onnx")
    ap.add_argument("--lines", default="gate:640,0,640,720", help="objecttrack counting lines")
    args = ap.parse_args()
    Gst.init(None)
    try:
        app = App(args)
    except (RuntimeError, GLib.Error) as e:
        print(f"keepup_pipeline: {e}", file=sys.stderr)
        return 1
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
