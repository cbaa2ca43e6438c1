#!/usr/bin/python3
"""Gradient oracle of the SSD loss: torchvision 0.14 SSD.compute_loss on small random head outputs, and torch
autograd's gradients of the loss with respect to the head outputs (bbox_regression, cls_logits).

Writes test/fixtures/loss-grad/loss_grad_oracle.json (run with Debian's python3: python3-torch 1.13 +
python3-torchvision 0.14):

    /usr/bin/python3 scripts/make-loss-grad-oracle.py [OUT.json]

Content: 200 anchors (xyxy pixels of a 96x96 input, an SSD-like grid: maps 6, 3, 2, 1 with 4 boxes per location),
C = 4 classes, a batch of 3 images: image 0 with 3 objects (one forced low-IoU match), image 1 with 1 object and a
label-0 box (matched, counted in N, not a positive), image 2 with no object at all. Cases:
- "torchvision": compute_loss exactly (SSDMatcher(0.5) with low-quality matches via box_iou, as SSD.forward;
  matched_idxs all -1 for the image without boxes), loss = bbox_regression + classification.
- "empty_image_negatives_K": ssd-edge's rule for images without positives (K hardest anchors of such an image
  mined as negatives, added to the classification sum before / N), written here in torch from the same per-anchor
  cross-entropy; the images with positives are torchvision's.
- "alpha_2": total = classification + 2 * bbox_regression.
Deterministic (fixed seeds, 1 thread); floats are float32 values written as exact decimals.
"""
import json
import sys
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.ssd import SSD
from torchvision.ops import box_iou

torch.set_num_threads(1)
torch.manual_seed(8)
rng = np.random.default_rng(8)

SIZE = 96.0
NUM_CLASSES = 4


def make_anchors():
    rows = []
    for fmap, scale in ((6, 0.2), (3, 0.4), (2, 0.6), (1, 0.85)):
        for i in range(fmap):
            for j in range(fmap):
                cx, cy = (j + 0.5) / fmap, (i + 0.5) / fmap
                for w, h in ((scale, scale), (scale * 1.3, scale * 1.3), (scale * 1.41, scale / 1.41), (scale / 1.41, scale * 1.41)):
                    rows.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    return torch.tensor(np.array(rows, dtype=np.float32) * np.float32(SIZE), dtype=torch.float32)


anchors = make_anchors()
N = anchors.shape[0]
targets = [
    {"boxes": torch.tensor([[10, 12, 40, 50], [50, 20, 90, 70], [60, 75, 66, 82]], dtype=torch.float32),
     "labels": torch.tensor([1, 3, 2], dtype=torch.int64)},
    {"boxes": torch.tensor([[5, 40, 60, 92], [70, 5, 90, 30]], dtype=torch.float32),
     "labels": torch.tensor([2, 0], dtype=torch.int64)},
    {"boxes": torch.zeros((0, 4), dtype=torch.float32), "labels": torch.zeros((0,), dtype=torch.int64)},
]
B = len(targets)
bbox_regression0 = torch.tensor(rng.normal(0, 1.5, (B, N, 4)).astype(np.float32))
cls_logits0 = torch.tensor(rng.normal(0, 2.0, (B, N, NUM_CLASSES)).astype(np.float32))

matcher = det_utils.SSDMatcher(0.5)
matched_idxs = []
for t in targets:
    if t["boxes"].numel() == 0:
        matched_idxs.append(torch.full((N,), -1, dtype=torch.int64))
    else:
        matched_idxs.append(matcher(box_iou(t["boxes"], anchors)))
fake_ssd = SimpleNamespace(box_coder=det_utils.BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)), neg_to_pos_ratio=3)


def torchvision_loss(bbox_regression, cls_logits):
    return SSD.compute_loss(fake_ssd, targets, {"bbox_regression": bbox_regression, "cls_logits": cls_logits},
                            [anchors] * B, matched_idxs)


def empty_image_extra(cls_logits, k):
    """Σ of the K largest per-anchor CE (target 0) of every image without positives."""
    extra = cls_logits.new_zeros(())
    for b, m in enumerate(matched_idxs):
        labels = torch.zeros((N,), dtype=torch.int64)
        fg = m >= 0
        labels[fg] = targets[b]["labels"][m[fg]]
        if (labels > 0).any():
            continue
        ce = F.cross_entropy(cls_logits[b], labels, reduction="none")
        extra = extra + ce.sort(descending=True)[0][:k].sum()
    return extra


def f32list(t):
    return [float(np.float32(v)) for v in t.detach().numpy().reshape(-1)]


def run_case(name, fn):
    box = bbox_regression0.clone().requires_grad_(True)
    cls = cls_logits0.clone().requires_grad_(True)
    parts = fn(box, cls)
    parts["total"].backward()
    return {
        "name": name,
        "total": float(parts["total"]), "loc": float(parts["loc"]), "conf": float(parts["conf"]),
        "grad_bbox_regression": f32list(box.grad), "grad_cls_logits": f32list(cls.grad),
    }


num_foreground = sum(int((m >= 0).sum()) for m in matched_idxs)
normalizer = max(1, num_foreground)


def tv(box, cls):
    loss = torchvision_loss(box, cls)
    return {"total": loss["bbox_regression"] + loss["classification"], "loc": loss["bbox_regression"], "conf": loss["classification"]}


def alpha2(box, cls):
    loss = torchvision_loss(box, cls)
    return {"total": 2 * loss["bbox_regression"] + loss["classification"], "loc": loss["bbox_regression"], "conf": loss["classification"]}


def with_empty(k):
    def fn(box, cls):
        loss = torchvision_loss(box, cls)
        conf = loss["classification"] + empty_image_extra(cls, k) / normalizer
        return {"total": loss["bbox_regression"] + conf, "loc": loss["bbox_regression"], "conf": conf}
    return fn


cases = [run_case("torchvision", tv), run_case("alpha_2", alpha2), run_case("empty_image_negatives_16", with_empty(16)),
         run_case("empty_image_negatives_5", with_empty(5))]
out = {
    "source": "torchvision %s SSD.compute_loss + torch %s autograd (scripts/make-loss-grad-oracle.py)" % (torchvision.__version__, torch.__version__),
    "num_anchors": N, "num_classes": NUM_CLASSES, "batch": B, "image_size": SIZE,
    "anchors_xyxy": f32list(anchors),
    "gt_boxes_xyxy": [f32list(t["boxes"]) for t in targets],
    "gt_labels": [[int(v) for v in t["labels"]] for t in targets],
    "matched_idxs": [[int(v) for v in m] for m in matched_idxs],
    "num_foreground": num_foreground,
    "bbox_regression": f32list(bbox_regression0), "cls_logits": f32list(cls_logits0),
    "cases": cases,
}
path = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/loss-grad/loss_grad_oracle.json"
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print(path, "N", N, "foreground", num_foreground, [(c["name"], round(c["total"], 6)) for c in cases])
