#!/usr/bin/python3
"""Export torchvision's "tamed" SSD300-VGG16 (the reference's test model) as a raw-head ONNX file.

    /usr/bin/python3 scripts/export-torchvision-ssd.py [OUT.onnx] [--ssdlite]

Needs Debian's python3-torchvision (torch 1.13 / torchvision 0.14; `apt-get install -y python3-torchvision`).
Default OUT: $SSD_EDGE_CACHE/torchvision/ssd300_vgg16_tamed.onnx, else ~/.cache/ssd-edge/torchvision/... (about
105 MB, never committed). Used by test/e2e/ssd300-builder.test.ts.

The model is built exactly as the reference's make_reference.py `ssd300_tamed()`: torch.manual_seed(0);
ssd300_vgg16(weights=None, weights_backbone=None, num_classes=21); every head parameter x0.1 -- so its head
outputs on astronaut.png are the stored fixtures test/fixtures/postprocess/ssd300_astronaut_*.f32. Export as
make_reference.py `export_onnx`: backbone + head only, input `images` float32 [1,3,300,300] already
normalized, outputs `bbox_regression` [1,8732,4] and `cls_logits` [1,8732,21], opset 13, constant folding.
Initializer names are the torchvision parameter names where torch keeps them (see the test for the mapping).
Then a self-check: the exported model's torch twin on astronaut.png against the stored fixtures.

--ssdlite also writes ssdlite320_mobilenet_v3_large.onnx next to OUT (about 14 MB; used by bench/detector.ts):
torch.manual_seed(0); ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None) (91 classes, random
weights: for timing, not for detections), exported the same way: input `images` [1,3,320,320] (already normalized,
mean = std = 0.5 on 0..1), outputs `bbox_regression` [1,3234,4] and `cls_logits` [1,3234,91], opset 13.
"""
import argparse
import os

import numpy as np
import torch
from torchvision.io import ImageReadMode, read_image
from torchvision.models.detection import ssd300_vgg16, ssdlite320_mobilenet_v3_large

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(2)


class RawHead(torch.nn.Module):
    """Backbone + head only: normalized NCHW input -> (bbox_regression, cls_logits)."""

    def __init__(self, m):
        super().__init__()
        self.backbone, self.head = m.backbone, m.head

    def forward(self, x):
        o = self.head(list(self.backbone(x).values()))
        return o['bbox_regression'], o['cls_logits']


def export_raw_head(m, size, out):
    torch.onnx.export(RawHead(m).eval(), torch.zeros(1, 3, size, size), out, opset_version=13,
                      input_names=['images'], output_names=['bbox_regression', 'cls_logits'], do_constant_folding=True)
    print(f'wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB)')


def export_ssdlite(out):
    """SSDLite320-MobileNetV3-Large with seed-0 random weights, raw head as the SSD300 export."""
    torch.manual_seed(0)
    m = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None).eval()
    export_raw_head(m, 320, out)
    with torch.no_grad():
        box, cls = RawHead(m)(torch.zeros(1, 3, 320, 320))
    print(f'ssdlite: bbox_regression {list(box.shape)}, cls_logits {list(cls.shape)}')


def main():
    ap = argparse.ArgumentParser(description='Export torchvision SSD raw-head ONNX files for ssd-edge.')
    ap.add_argument('out', nargs='?', help='SSD300 output (default $SSD_EDGE_CACHE/torchvision/ssd300_vgg16_tamed.onnx)')
    ap.add_argument('--ssdlite', action='store_true', help='also write ssdlite320_mobilenet_v3_large.onnx next to OUT')
    args = ap.parse_args()
    cache = os.environ.get('SSD_EDGE_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'ssd-edge')
    out = args.out or os.path.join(cache, 'torchvision', 'ssd300_vgg16_tamed.onnx')
    torch.manual_seed(0)
    m = ssd300_vgg16(weights=None, weights_backbone=None, num_classes=21).eval()
    with torch.no_grad():
        for p in m.head.parameters():
            p.mul_(0.1)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    export_raw_head(m, 300, out)

    # Self-check against the stored torchvision outputs (same model => same numbers up to thread-order noise).
    fx = os.path.join(ROOT, 'test', 'fixtures')
    img = read_image(os.path.join(fx, 'images', 'astronaut.png'), ImageReadMode.RGB).float() / 255
    with torch.no_grad():
        images, _ = m.transform([img])
        head = m.head(list(m.backbone(images.tensors).values()))
    for k in ('bbox_regression', 'cls_logits'):
        ref = np.fromfile(os.path.join(fx, 'postprocess', f'ssd300_astronaut_{k}.f32'), '<f4')
        got = head[k][0].numpy().reshape(-1)
        print(f'{k}: max |diff| vs fixture {np.abs(got - ref).max():.2e} (range {ref.max() - ref.min():.2f})')

    if args.ssdlite:
        export_ssdlite(os.path.join(os.path.dirname(os.path.abspath(out)), 'ssdlite320_mobilenet_v3_large.onnx'))


if __name__ == '__main__':
    main()
