"""Oracle data for test/unit/image/preprocess.test.ts: torch bilinear resize (align_corners=False, no antialias).

    /usr/bin/python3 scripts/make-image-fixtures.py   → test/fixtures/image/torch_resize.json

Inputs are small deterministic uint8 RGB images (pixel = (37·x + 91·y + 53·c + 11·x·y) mod 256); each case resizes the
float32 NCHW tensor with torch.nn.functional.interpolate(mode='bilinear', align_corners=False) and stores the float32
result (HWC order, exact decimal of each float32).
"""
import json
import os

import torch
import torch.nn.functional as F

CASES = [(13, 9, 5, 7), (4, 3, 11, 8), (40, 25, 16, 16), (7, 7, 7, 7), (30, 2, 3, 5)]  # (W, H, w, h)


def image(w, h):
    return [[[(37 * x + 91 * y + 53 * c + 11 * x * y) % 256 for c in range(3)] for x in range(w)] for y in range(h)]


cases = []
for (W, H, w, h) in CASES:
    px = image(W, H)
    t = torch.tensor(px, dtype=torch.float32).permute(2, 0, 1).unsqueeze(0)  # [1, 3, H, W]
    out = F.interpolate(t, size=(h, w), mode='bilinear', align_corners=False)
    hwc = out[0].permute(1, 2, 0).contiguous().view(-1).tolist()
    cases.append({'src': [W, H], 'dst': [w, h], 'out_hwc': hwc})

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, '..', 'test', 'fixtures', 'image', 'torch_resize.json')
with open(path, 'w') as f:
    json.dump({'torch': torch.__version__, 'pixel': '(37*x + 91*y + 53*c + 11*x*y) % 256', 'cases': cases}, f)
print(path, os.path.getsize(path), 'bytes')
