#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Export YOLOv8n / YOLO11n / YOLOv5n architectures with random weights to ONNX.

    /usr/bin/python3 models/tools/export_yolo_arch.py --arch v8n --size 320 --opset 17 \
        --out build/models/yolov8n-random-320-op17.onnx [--width 0.25] [--reference ref.bin]

The modules follow Ultralytics' structure and forward code paths (Conv/C2f/SPPF/DFL head for
v8, C3k2/C2PSA and the depthwise class branch for 11, C3/anchor head for v5) and are exported
the way `yolo export format=onnx` does with Debian's torch 1.13: static shape, constant
folding, the chosen opset. That makes them faithful test inputs for keepup's ONNX fixups and
real-size inputs for the speed benchmark, without downloading any weights. The weights are
random (fixed seed), so their detections mean nothing.

--reference writes torch's output for a fixed input (see write_reference) so a test can
check that OpenCV, after keepup's rewrites, computes what torch computes.
"""
import argparse
import math
import struct

import numpy as np
import torch
import torch.nn as nn


def autopad(k, p=None):
    return k // 2 if p is None else p


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    def __init__(self, c1, c2, k=1, s=1, act=True):
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), act=act)


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, k=(3, 3), e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1, self.cv2 = Conv(c1, c_, k[0]), Conv(c_, c2, k[1])
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(self._block(shortcut) for _ in range(n))

    def _block(self, shortcut):
        return Bottleneck(self.c, self.c, shortcut, k=(3, 3), e=1.0)

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))  # Ultralytics' own forward: chunk
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C3(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True, e=0.5, k=(1, 3)):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1, self.cv2, self.cv3 = Conv(c1, c_, 1), Conv(c1, c_, 1), Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, k=k, e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    def __init__(self, c1, c2, n=2, shortcut=True, e=0.5):
        super().__init__(c1, c2, n, shortcut, e, k=(3, 3))


class C3k2(C2f):
    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, shortcut=True):
        self.c3k = c3k
        super().__init__(c1, c2, n, shortcut, e)

    def _block(self, shortcut):
        return C3k(self.c, self.c, 2, shortcut) if self.c3k else Bottleneck(
            self.c, self.c, shortcut, k=(3, 3), e=0.5)


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, attn_ratio=0.5):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim ** -0.5
        h = dim + self.key_dim * num_heads * 2
        self.qkv = Conv(dim, h, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        B, C, H, W = x.shape
        N = H * W
        qkv = self.qkv(x)
        q, k, v = qkv.view(B, self.num_heads, self.key_dim * 2 + self.head_dim, N).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        return self.proj(x)


class PSABlock(nn.Module):
    def __init__(self, c, attn_ratio=0.5, num_heads=4):
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.ffn(x)


class C2PSA(nn.Module):
    def __init__(self, c1, c2, n=1, e=0.5):
        super().__init__()
        self.c = int(c1 * e)
        self.cv1, self.cv2 = Conv(c1, 2 * self.c, 1), Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, 0.5, max(1, self.c // 64)) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class DFL(nn.Module):
    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, offset=0.5):
    anchor_points, stride_tensor = [], []
    for i, stride in enumerate(strides):
        _, _, h, w = feats[i].shape
        sx = torch.arange(end=w, dtype=torch.float32) + offset
        sy = torch.arange(end=h, dtype=torch.float32) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), stride, dtype=torch.float32))
    return torch.cat(anchor_points), torch.cat(stride_tensor)


def dist2bbox(distance, anchor_points, dim=-1):
    lt, rb = distance.chunk(2, dim)
    x1y1, x2y2 = anchor_points - lt, anchor_points + rb
    return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)


class DetectV8(nn.Module):
    def __init__(self, nc, ch, v11=False):
        super().__init__()
        self.nc, self.reg_max = nc, 16
        self.no = nc + 64
        self.stride = torch.tensor([8.0, 16.0, 32.0])
        c2, c3 = max(16, ch[0] // 4, 64), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 64, 1)) for x in ch)
        if v11:
            self.cv3 = nn.ModuleList(
                nn.Sequential(nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                              nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                              nn.Conv2d(c3, nc, 1)) for x in ch)
        else:
            self.cv3 = nn.ModuleList(
                nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(16)
        self.shape = None

    def forward(self, x):
        x = [torch.cat((self.cv2[i](xi), self.cv3[i](xi)), 1) for i, xi in enumerate(x)]
        shape = x[0].shape
        if self.shape != shape:  # cached from the dry run, so constants in the exported graph
            self.anchors, self.strides = (t.transpose(0, 1)
                                          for t in make_anchors(x, self.stride.tolist()))
            self.shape = shape
        x_cat = torch.cat([xi.view(x[0].shape[0], self.no, -1) for xi in x], 2)
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), self.anchors.unsqueeze(0), dim=1) * self.strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class DetectV5(nn.Module):
    ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))

    def __init__(self, nc, ch):
        super().__init__()
        self.nc, self.no, self.na = nc, nc + 5, 3
        self.stride = (8.0, 16.0, 32.0)
        self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
        self.grid = [torch.empty(0)] * 3
        self.anchor_grid = [torch.empty(0)] * 3

    def _make_grid(self, nx, ny, i):
        yv, xv = torch.meshgrid(torch.arange(ny, dtype=torch.float32),
                                torch.arange(nx, dtype=torch.float32), indexing="ij")
        grid = torch.stack((xv, yv), 2).expand(1, self.na, ny, nx, 2) - 0.5
        anchor = torch.tensor(self.ANCHORS[i], dtype=torch.float32).view(1, self.na, 1, 1, 2)
        return grid.clone(), anchor.expand(1, self.na, ny, nx, 2).clone()

    def forward(self, xs):
        z = []
        for i, x in enumerate(xs):
            x = self.m[i](x)
            bs, _, ny, nx = x.shape
            x = x.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous()
            if self.grid[i].shape[2:4] != x.shape[2:4]:  # cached by the dry run, as in v5
                self.grid[i], self.anchor_grid[i] = self._make_grid(nx, ny, i)
            grid, anchor_grid = self.grid[i], self.anchor_grid[i]
            xy, wh, conf = x.sigmoid().split((2, 2, self.nc + 1), 4)
            xy = (xy * 2 + grid) * self.stride[i]
            wh = (wh * 2) ** 2 * anchor_grid
            z.append(torch.cat((xy, wh, conf), 4).view(bs, self.na * nx * ny, self.no))
        return torch.cat(z, 1)


def ch(c, width):
    return max(8, int(math.ceil(c * width / 8) * 8))


class YoloV8(nn.Module):
    def __init__(self, nc=80, width=0.25, v11=False):
        super().__init__()
        w = lambda c: ch(c, width)
        if not v11:
            self.backbone = nn.ModuleList([
                Conv(3, w(64), 3, 2), Conv(w(64), w(128), 3, 2), C2f(w(128), w(128), 1, True),
                Conv(w(128), w(256), 3, 2), C2f(w(256), w(256), 2, True),
                Conv(w(256), w(512), 3, 2), C2f(w(512), w(512), 2, True),
                Conv(w(512), w(1024), 3, 2), C2f(w(1024), w(1024), 1, True),
                SPPF(w(1024), w(1024))])
            taps = (4, 6, 9)
            block = lambda c1, c2, last=False: C2f(c1, c2, 1, False)
        else:
            self.backbone = nn.ModuleList([
                Conv(3, w(64), 3, 2), Conv(w(64), w(128), 3, 2),
                C3k2(w(128), w(256), 1, False, 0.25), Conv(w(256), w(256), 3, 2),
                C3k2(w(256), w(512), 1, False, 0.25), Conv(w(512), w(512), 3, 2),
                C3k2(w(512), w(512), 1, True), Conv(w(512), w(1024), 3, 2),
                C3k2(w(1024), w(1024), 1, True), SPPF(w(1024), w(1024)),
                C2PSA(w(1024), w(1024), 1)])
            taps = (4, 6, 10)
            block = lambda c1, c2, last=False: C3k2(c1, c2, 1, last)
        self.taps = taps
        p3, p4, p5 = w(256 if not v11 else 512), w(512), w(1024)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h1 = block(p5 + p4, w(512))
        self.h2 = block(w(512) + p3, w(256))
        self.d1 = Conv(w(256), w(256), 3, 2)
        self.h3 = block(w(256) + w(512), w(512))
        self.d2 = Conv(w(512), w(512), 3, 2)
        self.h4 = block(w(512) + p5, w(1024), True)
        self.detect = DetectV8(nc, (w(256), w(512), w(1024)), v11)

    def forward(self, x):
        outs = []
        for i, m in enumerate(self.backbone):
            x = m(x)
            outs.append(x)
        p3, p4, p5 = (outs[i] for i in self.taps)
        a = self.h1(torch.cat([self.up(p5), p4], 1))
        o3 = self.h2(torch.cat([self.up(a), p3], 1))
        o4 = self.h3(torch.cat([self.d1(o3), a], 1))
        o5 = self.h4(torch.cat([self.d2(o4), p5], 1))
        return self.detect([o3, o4, o5])


class YoloV5(nn.Module):
    def __init__(self, nc=80, width=0.25):
        super().__init__()
        w = lambda c: ch(c, width)
        self.backbone = nn.ModuleList([
            Conv(3, w(64), 6, 2, 2), Conv(w(64), w(128), 3, 2), C3(w(128), w(128), 1),
            Conv(w(128), w(256), 3, 2), C3(w(256), w(256), 2), Conv(w(256), w(512), 3, 2),
            C3(w(512), w(512), 3), Conv(w(512), w(1024), 3, 2), C3(w(1024), w(1024), 1),
            SPPF(w(1024), w(1024))])
        self.c10 = Conv(w(1024), w(512), 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.c13 = C3(w(1024), w(512), 1, False)
        self.c14 = Conv(w(512), w(256), 1)
        self.c17 = C3(w(512), w(256), 1, False)
        self.c18 = Conv(w(256), w(256), 3, 2)
        self.c20 = C3(w(512), w(512), 1, False)
        self.c21 = Conv(w(512), w(512), 3, 2)
        self.c23 = C3(w(1024), w(1024), 1, False)
        self.detect = DetectV5(nc, (w(256), w(512), w(1024)))

    def forward(self, x):
        outs = []
        for m in self.backbone:
            x = m(x)
            outs.append(x)
        p10 = self.c10(outs[9])
        p14 = self.c14(self.c13(torch.cat([self.up(p10), outs[6]], 1)))
        o3 = self.c17(torch.cat([self.up(p14), outs[4]], 1))
        o4 = self.c20(torch.cat([self.c18(o3), p14], 1))
        o5 = self.c23(torch.cat([self.c21(o4), p10], 1))
        return self.detect([o3, o4, o5])


def build(arch, nc, width):
    if arch == "v8n":
        return YoloV8(nc, width)
    if arch == "11n":
        return YoloV8(nc, width, v11=True)
    if arch == "v5n":
        return YoloV5(nc, width)
    raise SystemExit(f"unknown --arch {arch} (v8n, 11n, v5n)")


REFERENCE_STEP = 11


def reference_input(size):
    """The fixed test input: ((c*7 + y*3 + x*5) % 17) / 16, easy to rebuild in C++."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    return torch.from_numpy((((c * 7 + y * 3 + x * 5) % 17) / 16.0).astype(np.float32))[None]


def write_reference(model, size, path):
    """KREF file: magic, output rank and dims, the sampling step, then every step-th value of
    the flattened float32 output for reference_input(size)."""
    with torch.no_grad():
        y = model(reference_input(size))
    flat = y.numpy().astype("<f4").reshape(-1)[::REFERENCE_STEP]
    with open(path, "wb") as f:
        f.write(b"KREF")
        f.write(struct.pack("<I", y.dim()))
        f.write(struct.pack(f"<{y.dim()}I", *y.shape))
        f.write(struct.pack("<I", REFERENCE_STEP))
        f.write(flat.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", required=True, choices=["v8n", "11n", "v5n"])
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--width", type=float, default=0.25, help="width multiple (n = 0.25)")
    ap.add_argument("--classes", type=int, default=80)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", help="also write a fixed input and torch's output")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = build(args.arch, args.classes, args.width).eval()
    with torch.no_grad():  # random but well-conditioned BN statistics
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    dummy = torch.zeros(1, 3, args.size, args.size)
    with torch.no_grad():
        model(dummy)  # dry run, as Ultralytics' exporter does: caches the anchor grids
    torch.onnx.export(model, dummy, args.out, opset_version=args.opset, input_names=["images"],
                      output_names=["output0"], do_constant_folding=True)
    import onnx
    m = onnx.load(args.out)
    names = {i: f"class{i}" for i in range(args.classes)}
    for key, value in (("names", str(names)), ("imgsz", str([args.size, args.size])),
                       ("task", "detect"), ("description", f"random-weight {args.arch}")):
        e = m.metadata_props.add()
        e.key, e.value = key, value
    onnx.save(m, args.out)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.out}: {args.arch} width {args.width}, {params} parameters, opset {args.opset}")
    if args.reference:
        write_reference(model, args.size, args.reference)


if __name__ == "__main__":
    main()
