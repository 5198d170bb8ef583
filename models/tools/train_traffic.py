#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Train keepup's bundled traffic detector and export it as a YOLOv8-layout ONNX model.

    /usr/bin/python3 models/tools/train_traffic.py --gen build/bin/keepup-traffic-gen \
        --out models/keepup-traffic-320.onnx

Needs Debian's python3-torch, python3-onnx and python3-numpy (CPU only, no downloads). The
training images come from keepup-traffic-gen (the project's C++ scene renderer, letterboxed by
the same code yolodetect uses), so a frame at run time looks exactly like a training frame.
A fixed seed and a fixed iteration count make the run reproducible on one machine.

The network is a small YOLOv8-style detector: Conv/C2f/SPPF backbone, PAN neck, decoupled
head with DFL box regression at strides 8/16/32. Export output: [1, 4 + classes, anchors],
rows cx, cy, w, h (input pixels) then per-class sigmoid scores -- the Ultralytics v8 layout.
"""
import argparse
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["car", "truck", "bike"]
STRIDES = (8, 16, 32)
REG_MAX = 16


# ----------------------------------------------------------------------------- model
class Conv(nn.Module):
    def __init__(self, c1, c2, k=3, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c) for _ in range(n))

    def forward(self, x):
        y = self.cv1(x)
        # Slicing, not chunk(): exports as plain Slice nodes that OpenCV 4.6 reads as they are.
        ys = [y[:, : self.c], y[:, self.c :]]
        for m in self.m:
            ys.append(m(ys[-1]))
        return self.cv2(torch.cat(ys, 1))


class SPPF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c // 2, 1), Conv(c // 2 * 4, c, 1)
        self.pool = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.cv2(torch.cat([x, y1, y2, self.pool(y2)], 1))


class TrafficNet(nn.Module):
    def __init__(self, nc=len(CLASSES), w=(16, 32, 48, 64, 96), hidden=32):
        super().__init__()
        self.nc = nc
        self.stem = nn.Sequential(Conv(3, w[0], 3, 2), Conv(w[0], w[1], 3, 2), C2f(w[1], w[1]))
        self.p3 = nn.Sequential(Conv(w[1], w[2], 3, 2), C2f(w[2], w[2], 2))
        self.p4 = nn.Sequential(Conv(w[2], w[3], 3, 2), C2f(w[3], w[3], 2))
        self.p5 = nn.Sequential(Conv(w[3], w[4], 3, 2), C2f(w[4], w[4]), SPPF(w[4]))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n4 = C2f(w[4] + w[3], w[3])
        self.o3 = C2f(w[3] + w[2], w[2])
        self.d3 = Conv(w[2], w[2], 3, 2)
        self.o4 = C2f(w[2] + w[3], w[3])
        self.d4 = Conv(w[3], w[3], 3, 2)
        self.o5 = C2f(w[3] + w[4], w[4])
        chans = (w[2], w[3], w[4])
        self.box = nn.ModuleList(
            nn.Sequential(Conv(c, hidden), Conv(hidden, hidden), nn.Conv2d(hidden, 4 * REG_MAX, 1))
            for c in chans)
        self.cls = nn.ModuleList(
            nn.Sequential(Conv(c, hidden), Conv(hidden, hidden), nn.Conv2d(hidden, nc, 1))
            for c in chans)
        for head in self.cls:  # start with a low score everywhere (prior 0.01)
            nn.init.constant_(head[-1].bias, -4.6)
        self.export = False

    def features(self, x):
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        p5 = self.p5(p4)
        n4 = self.n4(torch.cat([self.up(p5), p4], 1))
        o3 = self.o3(torch.cat([self.up(n4), p3], 1))
        o4 = self.o4(torch.cat([self.d3(o3), n4], 1))
        o5 = self.o5(torch.cat([self.d4(o4), p5], 1))
        return (o3, o4, o5)

    def forward(self, x):
        feats = self.features(x)
        box = [h(f) for h, f in zip(self.box, feats)]
        cls = [h(f) for h, f in zip(self.cls, feats)]
        if not self.export:
            return box, cls
        return export_decode(box, cls, self.nc)


def export_decode(box, cls, nc):
    """Decode to [1, 4 + nc, N] using only ops OpenCV 4.6 runs as exported: the DFL expectation
    and the ltrb -> cx cy w h step are 1x1 convolutions with constant weights, and the anchor
    grid is a constant at the full [1, 4, h, w] shape (no broadcasting over anchors)."""
    outs = []
    for b, c, s in zip(box, cls, STRIDES):
        h, w = b.shape[2], b.shape[3]
        # DFL: softmax over the 16 bins of each side ...
        p = F.softmax(b.view(1, 4, REG_MAX, h * w), 2).view(1, 4 * REG_MAX, h, w)
        # ... expectation = distance in strides (block-diagonal 4 x 64 weights) ...
        dfl = np.zeros((4, 4 * REG_MAX, 1, 1), np.float32)  # numpy: plain constants in the trace
        for k in range(4):
            dfl[k, k * REG_MAX:(k + 1) * REG_MAX, 0, 0] = np.arange(REG_MAX)
        ltrb = F.conv2d(p, torch.from_numpy(dfl))
        # ... and l, t, r, b -> offset cx, cy and w, h in pixels.
        mix = np.array([[-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5], [1, 0, 1, 0], [0, 1, 0, 1]],
                       np.float32) * s
        mix = torch.from_numpy(mix.reshape(4, 4, 1, 1))
        grid = np.zeros((1, 4, h, w), np.float32)  # numpy: a plain constant in the trace
        grid[0, 0] = (np.arange(w, dtype=np.float32)[None, :] + 0.5) * s
        grid[0, 1] = (np.arange(h, dtype=np.float32)[:, None] + 0.5) * s
        grid = torch.from_numpy(grid)
        xywh = F.conv2d(ltrb, mix) + grid
        outs.append(torch.cat([xywh, torch.sigmoid(c)], 1).view(1, 4 + nc, h * w))
    return torch.cat(outs, 2)


# ----------------------------------------------------------------------------- data
def read_exact(stream, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("keepup-traffic-gen ended early")
        buf += chunk
    return bytes(buf)


def generator_thread(gen, seed, count, out_queue):
    proc = subprocess.Popen([gen, "--train", "--seed", str(seed), "--count", str(count)],
                            stdout=subprocess.PIPE, bufsize=1 << 20)
    try:
        for _ in range(count):
            magic = read_exact(proc.stdout, 4)
            assert magic == b"KTG1", magic
            size, nbox = np.frombuffer(read_exact(proc.stdout, 8), dtype=np.uint32)
            img = np.frombuffer(read_exact(proc.stdout, int(size) * int(size) * 3), np.uint8)
            boxes = np.frombuffer(read_exact(proc.stdout, int(nbox) * 24), np.float32)
            out_queue.put((img.reshape(size, size, 3), boxes.reshape(-1, 6)))
    finally:
        proc.kill()
        out_queue.put(None)


def batches(gen, seed, batch, iters, rng):
    q = queue.Queue(maxsize=batch * 4)
    threading.Thread(target=generator_thread, args=(gen, seed, batch * iters, q),
                     daemon=True).start()
    for _ in range(iters):
        imgs, targets = [], []
        for i in range(batch):
            item = q.get()
            if item is None:
                raise RuntimeError("generator stopped")
            img, boxes = item
            img = img.copy()
            boxes = boxes.copy()
            size = img.shape[0]
            if rng.random() < 0.5:  # horizontal flip
                img = img[:, ::-1]
                boxes[:, [1, 3]] = size - boxes[:, [3, 1]]
            if rng.random() < 0.5:  # vertical flip
                img = img[::-1]
                boxes[:, [2, 4]] = size - boxes[:, [4, 2]]
            if rng.random() < 0.3:  # colour channel order: vehicle colours are not a cue
                img = img[:, :, rng.permutation(3)]
            imgs.append(np.ascontiguousarray(img))
            for b in boxes:
                targets.append([i, *b])
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255.0
        t = torch.tensor(targets, dtype=torch.float32).view(-1, 7)
        yield x, t


# ----------------------------------------------------------------------------- loss
def anchors_for(shape_hw):
    pts, strides, levels = [], [], []
    for li, s in enumerate(STRIDES):
        h, w = shape_hw[0] // s, shape_hw[1] // s
        ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
        pts.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], 1) * s)
        strides.append(torch.full((h * w,), float(s)))
        levels.append(torch.full((h * w,), li))
    return torch.cat(pts), torch.cat(strides), torch.cat(levels)


def box_iou_aligned(a, b, eps=1e-7):
    """CIoU and IoU of matching rows of a, b (x1 y1 x2 y2)."""
    iw = (torch.min(a[:, 2], b[:, 2]) - torch.max(a[:, 0], b[:, 0])).clamp(0)
    ih = (torch.min(a[:, 3], b[:, 3]) - torch.max(a[:, 1], b[:, 1])).clamp(0)
    inter = iw * ih
    wa, ha = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
    wb, hb = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    union = wa * ha + wb * hb - inter + eps
    iou = inter / union
    cw = torch.max(a[:, 2], b[:, 2]) - torch.min(a[:, 0], b[:, 0])
    ch = torch.max(a[:, 3], b[:, 3]) - torch.min(a[:, 1], b[:, 1])
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((a[:, 0] + a[:, 2] - b[:, 0] - b[:, 2]) ** 2 +
            (a[:, 1] + a[:, 3] - b[:, 1] - b[:, 3]) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(wb / (hb + eps)) - torch.atan(wa / (ha + eps))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha), iou


# Which level takes an object: by the largest centre-to-side distance (FCOS style), with
# overlapping ranges so mid-size objects train two levels.
LEVEL_RANGES = ((0.0, 28.0), (20.0, 56.0), (44.0, 1e9))


def compute_loss(box_out, cls_out, targets, nc):
    b = box_out[0].shape[0]
    shape = (box_out[0].shape[2] * STRIDES[0], box_out[0].shape[3] * STRIDES[0])
    pts, strides, levels = anchors_for(shape)
    n = pts.shape[0]
    box_logits = torch.cat([o.view(b, 4 * REG_MAX, -1) for o in box_out], 2).permute(0, 2, 1)
    cls_logits = torch.cat([o.view(b, nc, -1) for o in cls_out], 2).permute(0, 2, 1)
    dist_logits = box_logits.reshape(b, n, 4, REG_MAX)
    proj = torch.arange(REG_MAX, dtype=torch.float32)
    dist = (dist_logits.softmax(3) * proj).sum(3) * strides[None, :, None]  # px
    pred_boxes = torch.cat([pts[None] - dist[..., :2], pts[None] + dist[..., 2:]], 2)

    cls_target = torch.zeros_like(cls_logits)
    cls_weight = torch.ones(b, n)
    box_terms, dfl_terms, npos = [], [], 0
    for i in range(b):
        t = targets[targets[:, 0] == i]
        if t.shape[0] == 0:
            continue
        gt = t[:, 2:6]
        visible = t[:, 6] >= 0.5
        # anchors x objects: inside the box and within 2.5 strides of its centre
        l = pts[:, None, 0] - gt[None, :, 0]
        tp = pts[:, None, 1] - gt[None, :, 1]
        r = gt[None, :, 2] - pts[:, None, 0]
        bt = gt[None, :, 3] - pts[:, None, 1]
        ltrb = torch.stack([l, tp, r, bt], 2)
        inside = ltrb.min(2).values > 0.01
        cx = (gt[:, 0] + gt[:, 2]) / 2
        cy = (gt[:, 1] + gt[:, 3]) / 2
        radius = 2.5 * strides[:, None]
        near = ((pts[:, None, 0] - cx[None]).abs() < radius) & \
               ((pts[:, None, 1] - cy[None]).abs() < radius)
        m = ltrb.max(2).values
        lo = torch.tensor([LEVEL_RANGES[k][0] for k in range(3)])[levels][:, None]
        hi = torch.tensor([LEVEL_RANGES[k][1] for k in range(3)])[levels][:, None]
        in_range = (m >= lo) & (m <= hi)
        small = (gt[:, 2] - gt[:, 0]).clamp(min=1) * (gt[:, 3] - gt[:, 1]).clamp(min=1)
        # the cell holding the centre always counts, so tiny objects get an anchor too
        centre_cell = ((pts[:, None, 0] - cx[None]).abs() <= strides[:, None] / 2) & \
                      ((pts[:, None, 1] - cy[None]).abs() <= strides[:, None] / 2)
        cand = ((inside & near) | centre_cell) & in_range
        # partly visible objects: anchors inside them are neither positive nor negative
        ignore = (inside & ~visible[None]).any(1)
        cand = cand & visible[None]
        area = torch.where(cand, small[None].expand_as(cand), torch.full_like(cand, 1e12,
                                                                             dtype=torch.float32))
        # the smallest object wins an anchor claimed by several
        best_area, best = area.min(1)
        pos = best_area < 1e12
        cls_weight[i, ignore & ~pos] = 0.0
        if pos.sum() == 0:
            continue
        pidx = pos.nonzero().squeeze(1)
        gidx = best[pidx]
        tgt_boxes = gt[gidx]
        ciou, iou = box_iou_aligned(pred_boxes[i, pidx], tgt_boxes)
        box_terms.append(1.0 - ciou)
        cls_target[i, pidx, t[gidx, 1].long()] = iou.detach().clamp(min=0.05)
        # DFL: distances in stride units, split between the two nearest bins
        target_d = ltrb[pidx, gidx] / strides[pidx, None]
        target_d = target_d.clamp(0, REG_MAX - 1.01)
        left = target_d.floor().long()
        wl = (left + 1).float() - target_d
        logp = F.log_softmax(dist_logits[i, pidx], 2)
        dfl = -(logp.gather(2, left[..., None]).squeeze(2) * wl +
                logp.gather(2, (left + 1)[..., None]).squeeze(2) * (1 - wl))
        dfl_terms.append(dfl.mean(1))
        npos += pidx.numel()
    norm = max(cls_target.sum().item(), 1.0)
    cls_loss = (F.binary_cross_entropy_with_logits(cls_logits, cls_target, reduction="none")
                * cls_weight[..., None]).sum() / norm
    if npos:
        box_loss = torch.cat(box_terms).sum() / max(npos, 1)
        dfl_loss = torch.cat(dfl_terms).sum() / max(npos, 1)
    else:
        box_loss = dfl_loss = torch.zeros(())
    return 7.5 * box_loss + 0.5 * cls_loss + 1.5 * dfl_loss, (box_loss.item(), cls_loss.item(),
                                                              dfl_loss.item())


# ----------------------------------------------------------------------------- export
def export(model, path, size, opset):
    model.eval()
    model.export = True
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, dummy, path, opset_version=opset, input_names=["images"],
                      output_names=["output0"], do_constant_folding=True)
    model.export = False
    import onnx
    m = onnx.load(path)
    # torch dedupes equal constants into one initializer plus Identity nodes, which OpenCV 4.6
    # cannot parse (an Identity of an initializer has no runtime input): give each its own copy.
    inits = {i.name: i for i in m.graph.initializer}
    for node in list(m.graph.node):
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            m.graph.initializer.append(copy)
            m.graph.node.remove(node)
    # Ultralytics keeps its class names in the metadata as a Python dict literal; so do we.
    names = {i: n for i, n in enumerate(CLASSES)}
    for key, value in (("names", str(names)), ("stride", "32"), ("imgsz", str([size, size])),
                       ("task", "detect"), ("author", "keepup models/tools/train_traffic.py")):
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gen", required=True, help="path to keepup-traffic-gen")
    ap.add_argument("--out", required=True, help="output .onnx")
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--opset", type=int, default=12)
    ap.add_argument("--export-only", metavar="CHECKPOINT",
                    help="skip training: export the weights saved by an earlier run")
    args = ap.parse_args()

    if args.export_only:
        model = TrafficNet()
        model.load_state_dict(torch.load(args.export_only))
        export(model, args.out, args.size, args.opset)
        print(f"wrote {args.out}")
        return

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    model = TrafficNet()
    params = sum(p.numel() for p in model.parameters())
    print(f"TrafficNet: {params} parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    warm = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda it: min(1.0, (it + 1) / warm) *
        (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * it / args.iters))))
    model.train()
    start = time.time()
    for it, (x, t) in enumerate(batches(args.gen, args.seed, args.batch, args.iters, rng)):
        box_out, cls_out = model(x)
        loss, parts = compute_loss(box_out, cls_out, t, model.nc)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        sched.step()
        if it % 50 == 0 or it == args.iters - 1:
            print(f"iter {it:5d}/{args.iters} loss {loss.item():.3f} box {parts[0]:.3f} "
                  f"cls {parts[1]:.3f} dfl {parts[2]:.3f} lr {sched.get_last_lr()[0]:.5f} "
                  f"{time.time() - start:.0f}s", flush=True)
    torch.save(model.state_dict(), os.path.splitext(args.out)[0] + ".pt")
    export(model, args.out, args.size, args.opset)
    labels = os.path.splitext(args.out)[0] + ".labels"
    with open(labels, "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) and {labels}; "
          f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
