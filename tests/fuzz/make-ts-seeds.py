#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the TS seed corpora (corpus/ts_recover/, corpus/ts_aligner/): small streams built
packet by packet (PAT, PMT, PES with PTS, PCR, random access, m2ts prefixes) and damaged
copies (garbage before sync, lost sync, a cut tail, an incomplete PES), plus one real
mpegtsmux + x264enc recording when gst-launch-1.0 is installed. ts_aligner seeds carry one
leading byte: bit 0 selects the 192-byte stride, the rest seeds the buffer sizes.

    python3 tests/fuzz/make-ts-seeds.py      # rewrites the seeds; commit the result
"""
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def packet(pid, payload=b"", pusi=False, cc=0, adaptation=None):
    """One 188-byte packet; adaptation is the adaptation field body (after its length)."""
    flags = 0x10 if payload or adaptation is None else 0
    head = bytearray([0x47, (0x40 if pusi else 0) | (pid >> 8), pid & 0xFF, cc & 0x0F])
    body = bytearray()
    if adaptation is not None:
        head[3] |= 0x20
        room = 188 - 4 - 1 - len(payload)
        adaptation = bytes(adaptation) + b"\xff" * (room - len(adaptation))
        body += bytes([len(adaptation)]) + adaptation
    elif len(payload) < 184:
        head[3] |= 0x20
        fill = 184 - len(payload) - 1
        body += bytes([fill]) + (bytes([0x00]) + b"\xff" * (fill - 1) if fill else b"")
    head[3] |= flags
    out = bytes(head + body + payload)
    assert len(out) == 188, len(out)
    return out


def psi(table_id, body):
    section = bytes([table_id]) + (0xB000 | (len(body) + 4)).to_bytes(2, "big") + body
    return b"\x00" + section + b"\x00\x00\x00\x00"  # pointer field, dummy CRC


PAT = packet(0, psi(0x00, b"\x00\x01\xc1\x00\x00" + b"\x00\x01\xf0\x00"), pusi=True)
PMT = packet(0x1000, psi(0x02, b"\x00\x01\xc1\x00\x00\xe1\x00\xf0\x00" + b"\x1b\xe1\x00\xf0\x00"),
             pusi=True)


def pts_bytes(pts):
    return bytes([0x21 | ((pts >> 29) & 0x0E), (pts >> 22) & 0xFF, 0x01 | ((pts >> 14) & 0xFE),
                  (pts >> 7) & 0xFF, 0x01 | ((pts << 1) & 0xFE)])


def pcr_field(base, random_access=False):
    flags = 0x10 | (0x40 if random_access else 0)
    return bytes([flags, (base >> 25) & 0xFF, (base >> 17) & 0xFF, (base >> 9) & 0xFF,
                  (base >> 1) & 0xFF, ((base & 1) << 7) | 0x7E, 0x00])


def video_frame(pts, size, cc, key=False, bounded=True):
    """A video PES of `size` payload bytes on PID 0x100, PCR in its first packet."""
    es = bytes([0, 0, 0, 1, 0x65 if key else 0x41]) + bytes((i * 7) & 0xFF for i in range(size))
    header = b"\x00\x00\x01\xe0" + ((len(es) + 8).to_bytes(2, "big") if bounded else b"\x00\x00")
    header += b"\x80\x80\x05" + pts_bytes(pts)
    data = header + es
    out = []
    first = True
    while data:
        if first:
            adaptation = pcr_field(pts - 3000, key)
            take = 188 - 4 - 1 - len(adaptation)
            out.append(packet(0x100, data[:take], pusi=True, cc=cc, adaptation=adaptation))
        else:
            take = 184
            out.append(packet(0x100, data[:take], cc=cc))
        data = data[take:]
        cc += 1
        first = False
    return b"".join(out), cc


def stream(frames=3, bounded=True):
    out, cc = PAT + PMT, 0
    for i in range(frames):
        frame, cc = video_frame(90000 + 3000 * i, 250 + 90 * i, cc, key=i == 0, bounded=bounded)
        out += frame
    return out


def m2ts(data):
    return b"".join(b"\x00\x00\x00\x00" + data[i:i + 188] for i in range(0, len(data), 188))


def real_recording(tmp):
    if not shutil.which("gst-launch-1.0"):
        return None
    path = os.path.join(tmp, "real.ts")
    cmd = ["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=3", "!",
           "video/x-raw,width=64,height=48,framerate=30/1", "!", "x264enc", "tune=zerolatency",
           "!", "mpegtsmux", "!", "filesink", "location=" + path]
    if subprocess.run(cmd, check=False).returncode != 0:
        return None
    with open(path, "rb") as f:
        return f.read()


def main():
    good = stream()
    # No .ts extension: the repository ignores *.ts (recordings).
    seeds = {
        "clean-3-frames": good,
        "unbounded-pes": stream(bounded=False),
        "garbage-before-sync": b"\x47junk\x00" * 9 + good,
        "lost-sync-mid": good[:188 * 4] + b"\x00" * 77 + good[188 * 4:],
        "cut-mid-packet": good[:-100],
        "cut-mid-pes": good[:188 * 5],
        "m2ts-192": m2ts(good),
        "m2ts-cut": m2ts(good)[:-50],
        "psi-only": PAT + PMT + PAT,
        "sync-bytes-only": b"\x47" + b"\x00" * 187 + b"\x47" + b"\x00" * 187 + b"\x47",
        "not-ts": b"this is not a transport stream\n" * 20,
        "pts-wrap": PAT + PMT + video_frame((1 << 33) - 1500, 300, 0, key=True)[0]
        + video_frame(1500, 300, 3)[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        real = real_recording(tmp)
    if real and len(real) < 10 * 1024:
        seeds["real-mpegtsmux"] = real
    for name, data in seeds.items():
        assert len(data) < 10 * 1024, (name, len(data))
    for target in ("ts_recover", "ts_aligner"):
        folder = os.path.join(HERE, "corpus", target)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            os.remove(os.path.join(folder, old))
        for i, (name, data) in enumerate(sorted(seeds.items())):
            if target == "ts_aligner":
                data = bytes([(i * 38) & 0xFE | (1 if name.startswith("m2ts") else 0)]) + data
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    print("wrote %d seeds per TS target" % len(seeds))


if __name__ == "__main__":
    main()
