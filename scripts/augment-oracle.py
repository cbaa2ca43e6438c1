#!/usr/bin/env python3
"""Independent oracle for the augmentation's pixel work (lib/train/augment.ts applyAugmentPlan, native/core/augment.cc).

Written from the documented definition, not from our code: the photometric steps in float64 with Python's colorsys for
the HSV round trip, the zoom-out canvas and the crop with numpy slicing, the flip with [:, ::-1], and the resize with
torch.nn.functional.interpolate(mode='bilinear', align_corners=False) (no antialias) in float64; output ⌊v + 0.5⌋
clipped to 0..255. Ours computes in float32, so the test allows 1 intensity level.

Run with Debian's python3 (numpy + torch): /usr/bin/python3 scripts/augment-oracle.py
Writes test/fixtures/augment/oracle.json.
"""
import colorsys
import json
import os
import random

import numpy as np
import torch

PERMS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


def f32(x):
    return float(np.float32(x))


def photometric(img, p):
    v = img.astype(np.float64)
    if p["brightness"] != 0:
        v = np.clip(v + p["brightness"], 0, 255)
    if p["contrastFirst"] and p["contrast"] != 1:
        v = np.clip(v * p["contrast"], 0, 255)
    if p["saturation"] != 1 or p["hue"] != 0:
        h, w, _ = v.shape
        out = np.empty_like(v)
        for y in range(h):
            for x in range(w):
                r, g, b = v[y, x] / 255.0
                hh, s, vv = colorsys.rgb_to_hsv(r, g, b)
                s = min(1.0, s * p["saturation"])
                hh = (hh * 360.0 + p["hue"]) % 360.0 / 360.0
                out[y, x] = np.array(colorsys.hsv_to_rgb(hh, s, vv)) * 255.0
        v = out
    if not p["contrastFirst"] and p["contrast"] != 1:
        v = np.clip(v * p["contrast"], 0, 255)
    return v[:, :, list(p["swap"])]


def apply(img, plan, out_w, out_h):
    H, W, _ = img.shape
    v = photometric(img, plan["photometric"])
    crop = plan["crop"]
    # The canvas covering both the zoom-out canvas and the crop (a crop may reach outside the canvas: fill too).
    x0 = min(0, crop["x"]); y0 = min(0, crop["y"])
    x1 = max(plan["canvasWidth"], crop["x"] + crop["width"]); y1 = max(plan["canvasHeight"], crop["y"] + crop["height"])
    canvas = np.empty((y1 - y0, x1 - x0, 3), np.float64)
    canvas[:, :] = np.array(plan["fill"], np.float64)
    canvas[plan["top"] - y0:plan["top"] - y0 + H, plan["left"] - x0:plan["left"] - x0 + W] = v
    c = canvas[crop["y"] - y0:crop["y"] - y0 + crop["height"], crop["x"] - x0:crop["x"] - x0 + crop["width"]]
    if plan["flip"]:
        c = c[:, ::-1]
    t = torch.from_numpy(np.ascontiguousarray(c.transpose(2, 0, 1))[None])
    r = torch.nn.functional.interpolate(t, size=(out_h, out_w), mode="bilinear", align_corners=False)[0]
    r = r.numpy().transpose(1, 2, 0)
    return np.clip(np.floor(r + 0.5), 0, 255).astype(np.uint8)


def main():
    rnd = random.Random(8)
    cases = []
    for i in range(24):
        W, H = rnd.randint(1, 24), rnd.randint(1, 20)
        img = np.array([rnd.randrange(256) for _ in range(W * H * 3)], np.uint8).reshape(H, W, 3)
        if i % 4 == 0:  # flat colours and greys: the HSV edge cases (S = 0, V = 0, ties of the maximum)
            img[:, : W // 2] = img[0, 0, 0]
            img[0, 0] = (255, 0, 0)
        on = lambda: rnd.random() < 0.6
        ph = {
            "brightness": f32(rnd.uniform(-32, 32)) if on() else 0.0,
            "contrast": f32(rnd.uniform(0.5, 1.5)) if on() else 1.0,
            "contrastFirst": rnd.random() < 0.5,
            "saturation": f32(rnd.uniform(0.5, 1.5)) if on() else 1.0,
            "hue": f32(rnd.uniform(-18, 18)) if on() else 0.0,
            "swap": list(PERMS[rnd.randrange(6)]),
        }
        if i == 1:  # hue by +120° on pure colours: red → green exactly
            ph.update(brightness=0.0, contrast=1.0, saturation=1.0, hue=120.0)
        ratio = rnd.uniform(1, 3) if on() else 1.0
        cw, ch = int(W * ratio), int(H * ratio)
        left, top = int(rnd.uniform(0, W * ratio - W)), int(rnd.uniform(0, H * ratio - H))
        if i % 3 == 0:
            crop = {"x": 0, "y": 0, "width": cw, "height": ch}
        else:
            w = max(1, int(rnd.uniform(0.3, 1.2) * cw)); h = max(1, int(rnd.uniform(0.3, 1.2) * ch))
            crop = {"x": rnd.randint(-2, max(0, cw - w)), "y": rnd.randint(-2, max(0, ch - h)), "width": w, "height": h}
        plan = {
            "photometric": ph, "canvasWidth": cw, "canvasHeight": ch, "left": left, "top": top, "crop": crop,
            "flip": rnd.random() < 0.5,
            "fill": [123, 117, 104] if i % 2 else [f32(rnd.uniform(0, 255)) for _ in range(3)],
        }
        out_w, out_h = rnd.randint(1, 32), rnd.randint(1, 32)
        out = apply(img, plan, out_w, out_h)
        cases.append({
            "width": W, "height": H, "pixels": img.reshape(-1).tolist(), "plan": plan,
            "size": {"width": out_w, "height": out_h}, "expected": out.reshape(-1).tolist(),
        })
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "augment", "oracle.json")
    with open(path, "w") as fh:
        json.dump({"generator": "scripts/augment-oracle.py", "cases": cases}, fh, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
