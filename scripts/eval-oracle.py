#!/usr/bin/env python3
"""Evaluation oracle for ssd-edge's lib/eval (issue 7): writes test/fixtures/eval/*.json.

An independent numpy implementation written from the published definitions, NOT a dependency of the package:
  - Pascal VOC: py-faster-rcnn `lib/datasets/voc_eval.py` (`voc_eval`, `voc_ap`), structured as there
    (per class: `class_recs` per image, detections sorted by confidence, `ovmax`/`jmax`, cumulative tp/fp).
  - COCO bbox: pycocotools `cocoeval.py` (`COCOeval._prepare`, `computeIoU`, `evaluateImg`, `accumulate`,
    `summarize`) and `maskApi.c` `bbIou`, structured as there (dicts of per image × category lists, per-image
    evaluation records, the T×R×K×A×M precision array, `_summarize`).
pycocotools is not installed here and is not needed.

Conventions that ssd-edge documents and this oracle follows (where the published code is silent or differs):
  - VOC: a detection matches at IoU >= threshold (the MATLAB devkit's `ovmax >= minoverlap`; py-faster-rcnn
    writes `>`); IoU = 0 when the union is 0; sort by score is stable (`argsort(-conf, kind='mergesort')`, ties keep
    input order: images in list order, detections in list order); `pixel_offset` 0 = continuous coordinates
    (default), 1 = the devkit's +1; iscrowd boxes count as difficult; a class with npos = 0 has AP NaN and is left
    out of the mean; classes are sorted label names.
  - COCO: images in ground-truth list order (pycocotools sorts ids; the fixtures' ids ascend in list order); the
    box area is the ground truth's `area` when given; a difficult box is an ignored region like one outside the
    area range; AP is read at the last maxDet (pycocotools reads maxDets == 100 literally; same by default);
    -1 is written as NaN. Boxes are xyxy in the inputs and turned into xywh as `[x1, y1, x2 - x1, y2 - y1]`.

Reproducible: every random set has a fixed seed (numpy RandomState). Run from the repository root:
    /usr/bin/python3 scripts/eval-oracle.py
It reads test/fixtures/postprocess/ssd300_astronaut.json and test/fixtures/detector/astronaut_faceapi_detections.json
(real model outputs, with hand-made ground truth) and writes test/fixtures/eval/{<set>.json, coco-*.json,
detect-output.json}. Non-finite numbers are written as the strings "NaN" / "Infinity".

"""
import json
import math
import os
from collections import defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'eval')


# ----------------------------------------------------------------------------------------------------------------
# Pascal VOC (py-faster-rcnn voc_eval / voc_ap)

def voc_ap(rec, prec, use_07_metric=False):
    if use_07_metric:
        ap = 0.
        for t in np.arange(0., 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.
    else:
        mrec = np.concatenate(([0.], rec, [1.]))
        mpre = np.concatenate(([0.], prec, [0.]))
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
        i = np.where(mrec[1:] != mrec[:-1])[0]
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def voc_eval(gt, dets, classname, ovthresh=0.5, use_07_metric=False, pixel_offset=0):
    """gt: list of {image, boxes:[{label, box, difficult?, iscrowd?}]}; dets: list of {image, detections:[…]}."""
    class_recs = {}
    npos = 0
    for entry in gt:
        R = [o for o in entry['boxes'] if o['label'] == classname]
        bbox = np.array([o['box'] for o in R], dtype=np.float64).reshape(-1, 4)
        difficult = np.array([bool(o.get('difficult', False) or o.get('iscrowd', False)) for o in R]).astype(bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[entry['image']] = {'bbox': bbox, 'difficult': difficult, 'det': det}

    image_ids = []
    confidence = []
    BB = []
    for entry in dets:
        for d in entry['detections']:
            if d['label'] != classname:
                continue
            image_ids.append(entry['image'])
            confidence.append(d['score'])
            BB.append(box_xyxy(d['box']))
    confidence = np.array(confidence, dtype=np.float64)
    BB = np.array(BB, dtype=np.float64).reshape(-1, 4)

    sorted_ind = np.argsort(-confidence, kind='mergesort')
    sorted_scores = confidence[sorted_ind]
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    off = float(pixel_offset)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R['bbox'].astype(float)
        if BBGT.size > 0:
            ixmin = np.maximum(BBGT[:, 0], bb[0])
            iymin = np.maximum(BBGT[:, 1], bb[1])
            ixmax = np.minimum(BBGT[:, 2], bb[2])
            iymax = np.minimum(BBGT[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin + off, 0.)
            ih = np.maximum(iymax - iymin + off, 0.)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + off) * (bb[3] - bb[1] + off) +
                   (BBGT[:, 2] - BBGT[:, 0] + off) * (BBGT[:, 3] - BBGT[:, 1] + off) - inters)
            safe = np.where(uni > 0, uni, 1.)
            overlaps = np.where(uni > 0, inters / safe, 0.)
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax >= ovthresh:
            if not R['difficult'][jmax]:
                if not R['det'][jmax]:
                    tp[d] = 1.
                    R['det'][jmax] = 1
                else:
                    fp[d] = 1.
        else:
            fp[d] = 1.

    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with np.errstate(divide='ignore', invalid='ignore'):
        rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    ap = voc_ap(rec, prec, use_07_metric) if npos > 0 else float('nan')
    return rec, prec, sorted_scores, float(ap), int(npos), nd


def all_labels(gt, dets):
    labels = set()
    for e in gt:
        labels.update(o['label'] for o in e['boxes'])
    for e in dets:
        labels.update(d['label'] for d in e['detections'])
    return sorted(labels)


def voc_metrics(gt, dets, use07=False, iou=0.5, pixel_offset=0, curves=False):
    out = {'ap': {}, 'map': None}
    if curves:
        out['curves'] = {}
    aps = []
    for c in all_labels(gt, dets):
        rec, prec, scores, ap, npos, nd = voc_eval(gt, dets, c, iou, use07, pixel_offset)
        out['ap'][c] = ap
        if npos > 0:
            aps.append(ap)
        if curves:
            out['curves'][c] = {'recall': rec.tolist(), 'precision': prec.tolist(), 'scores': scores.tolist(),
                                'npos': npos, 'ndet': nd}
    out['map'] = float(np.mean(aps)) if aps else float('nan')
    return out


def box_xyxy(box):
    if isinstance(box, dict):
        return [box['x1'], box['y1'], box['x2'], box['y2']]
    return list(box)


# ----------------------------------------------------------------------------------------------------------------
# COCO (pycocotools COCOeval, bbox)

class Params:
    def __init__(self, max_dets=(1, 10, 100), iou_thrs=None):
        self.iouThrs = (np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
                        if iou_thrs is None else np.array(iou_thrs, dtype=np.float64))
        self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
        self.maxDets = list(max_dets)
        self.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
        self.areaRngLbl = ['all', 'small', 'medium', 'large']


def bb_iou(dt, gt, iscrowd):
    """maskApi.c bbIou: boxes xywh; crowd: intersection / detection area."""
    m, n = len(dt), len(gt)
    o = np.zeros((m, n))
    for g in range(n):
        G = gt[g]
        ga = G[2] * G[3]
        crowd = iscrowd[g]
        for d in range(m):
            D = dt[d]
            da = D[2] * D[3]
            w = min(D[2] + D[0], G[2] + G[0]) - max(D[0], G[0])
            if w <= 0:
                continue
            h = min(D[3] + D[1], G[3] + G[1]) - max(D[1], G[1])
            if h <= 0:
                continue
            i = w * h
            u = da if crowd else da + ga - i
            o[d, g] = i / u
    return o


class CocoEval:
    def __init__(self, gt, dets, params):
        self.params = p = params
        labels = all_labels(gt, dets)
        self.catIds = list(range(len(labels)))
        cat_of = {c: k for k, c in enumerate(labels)}
        self.labels = labels
        self.imgIds = list(range(len(gt)))
        img_of = {e['image']: i for i, e in enumerate(gt)}
        self._gts = defaultdict(list)
        self._dts = defaultdict(list)
        ann_id = 1
        for i, e in enumerate(gt):
            for o in e['boxes']:
                x1, y1, x2, y2 = o['box']
                bbox = [x1, y1, x2 - x1, y2 - y1]
                ann = {'id': ann_id, 'bbox': bbox, 'area': o.get('area', bbox[2] * bbox[3]),
                       'iscrowd': int(bool(o.get('iscrowd', False))),
                       'difficult': int(bool(o.get('difficult', False)))}
                ann['ignore'] = ann['iscrowd'] or ann['difficult']
                self._gts[i, cat_of[o['label']]].append(ann)
                ann_id += 1
        dt_id = 1
        for e in dets:
            i = img_of[e['image']]
            for d in e['detections']:
                x1, y1, x2, y2 = box_xyxy(d['box'])
                bbox = [x1, y1, x2 - x1, y2 - y1]
                self._dts[i, cat_of[d['label']]].append({'id': dt_id, 'bbox': bbox, 'area': bbox[2] * bbox[3],
                                                         'score': d['score'], 'iscrowd': 0})
                dt_id += 1

    def computeIoU(self, imgId, catId):
        p = self.params
        gt = self._gts[imgId, catId]
        dt = self._dts[imgId, catId]
        if len(gt) == 0 and len(dt) == 0:
            return []
        inds = np.argsort([-d['score'] for d in dt], kind='mergesort')
        dt = [dt[i] for i in inds]
        if len(dt) > p.maxDets[-1]:
            dt = dt[0:p.maxDets[-1]]
        g = [g['bbox'] for g in gt]
        d = [d['bbox'] for d in dt]
        iscrowd = [int(o['iscrowd']) for o in gt]
        return bb_iou(d, g, iscrowd)

    def evaluateImg(self, imgId, catId, aRng, maxDet):
        p = self.params
        gt = self._gts[imgId, catId]
        dt = self._dts[imgId, catId]
        if len(gt) == 0 and len(dt) == 0:
            return None
        for g in gt:
            if g['ignore'] or (g['area'] < aRng[0] or g['area'] > aRng[1]):
                g['_ignore'] = 1
            else:
                g['_ignore'] = 0
        gtind = np.argsort([g['_ignore'] for g in gt], kind='mergesort')
        gt = [gt[i] for i in gtind]
        dtind = np.argsort([-d['score'] for d in dt], kind='mergesort')
        dt = [dt[i] for i in dtind[0:maxDet]]
        iscrowd = [int(o['iscrowd']) for o in gt]
        ious = self.ious[imgId, catId][:, gtind] if len(self.ious[imgId, catId]) > 0 else self.ious[imgId, catId]
        T = len(p.iouThrs)
        G = len(gt)
        D = len(dt)
        gtm = np.zeros((T, G))
        dtm = np.zeros((T, D))
        gtIg = np.array([g['_ignore'] for g in gt])
        dtIg = np.zeros((T, D))
        if not len(ious) == 0:
            for tind, t in enumerate(p.iouThrs):
                for dind, d in enumerate(dt):
                    iou = min([t, 1 - 1e-10])
                    m = -1
                    for gind, g in enumerate(gt):
                        if gtm[tind, gind] > 0 and not iscrowd[gind]:
                            continue
                        if m > -1 and gtIg[m] == 0 and gtIg[gind] == 1:
                            break
                        if ious[dind, gind] < iou:
                            continue
                        iou = ious[dind, gind]
                        m = gind
                    if m == -1:
                        continue
                    dtIg[tind, dind] = gtIg[m]
                    dtm[tind, dind] = gt[m]['id']
                    gtm[tind, m] = d['id']
        a = np.array([d['area'] < aRng[0] or d['area'] > aRng[1] for d in dt]).reshape((1, len(dt)))
        dtIg = np.logical_or(dtIg, np.logical_and(dtm == 0, np.repeat(a, T, 0)))
        return {'dtMatches': dtm, 'gtMatches': gtm, 'dtScores': [d['score'] for d in dt],
                'gtIgnore': gtIg, 'dtIgnore': dtIg}

    def evaluate(self):
        p = self.params
        self.ious = {(i, k): self.computeIoU(i, k) for i in self.imgIds for k in self.catIds}
        maxDet = p.maxDets[-1]
        self.evalImgs = [self.evaluateImg(i, k, aRng, maxDet)
                         for k in self.catIds for aRng in p.areaRng for i in self.imgIds]

    def accumulate(self):
        p = self.params
        T = len(p.iouThrs)
        R = len(p.recThrs)
        K = len(self.catIds)
        A = len(p.areaRng)
        M = len(p.maxDets)
        precision = -np.ones((T, R, K, A, M))
        recall = -np.ones((T, K, A, M))
        scores = -np.ones((T, R, K, A, M))
        I0 = len(self.imgIds)
        A0 = len(p.areaRng)
        for k in range(K):
            Nk = k * A0 * I0
            for a in range(A):
                Na = a * I0
                for m, maxDet in enumerate(p.maxDets):
                    E = [self.evalImgs[Nk + Na + i] for i in range(I0)]
                    E = [e for e in E if e is not None]
                    if len(E) == 0:
                        continue
                    dtScores = np.concatenate([e['dtScores'][0:maxDet] for e in E])
                    inds = np.argsort(-dtScores, kind='mergesort')
                    dtScoresSorted = dtScores[inds]
                    dtm = np.concatenate([e['dtMatches'][:, 0:maxDet] for e in E], axis=1)[:, inds]
                    dtIg = np.concatenate([e['dtIgnore'][:, 0:maxDet] for e in E], axis=1)[:, inds]
                    gtIg = np.concatenate([e['gtIgnore'] for e in E])
                    npig = np.count_nonzero(gtIg == 0)
                    if npig == 0:
                        continue
                    tps = np.logical_and(dtm, np.logical_not(dtIg))
                    fps = np.logical_and(np.logical_not(dtm), np.logical_not(dtIg))
                    tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                    fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                    for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                        tp = np.array(tp)
                        fp = np.array(fp)
                        nd = len(tp)
                        rc = tp / npig
                        pr = tp / (fp + tp + np.spacing(1))
                        q = np.zeros((R,))
                        ss = np.zeros((R,))
                        recall[t, k, a, m] = rc[-1] if nd else 0
                        pr = pr.tolist()
                        q = q.tolist()
                        for i in range(nd - 1, 0, -1):
                            if pr[i] > pr[i - 1]:
                                pr[i - 1] = pr[i]
                        inds2 = np.searchsorted(rc, p.recThrs, side='left')
                        try:
                            for ri, pi in enumerate(inds2):
                                q[ri] = pr[pi]
                                ss[ri] = dtScoresSorted[pi]
                        except IndexError:
                            pass
                        precision[t, :, k, a, m] = np.array(q)
                        scores[t, :, k, a, m] = np.array(ss)
        self.eval = {'precision': precision, 'recall': recall, 'scores': scores}

    def _summarize(self, ap=1, iouThr=None, areaRng='all', maxDets=100, k=None):
        p = self.params
        aind = [i for i, aRng in enumerate(p.areaRngLbl) if aRng == areaRng]
        mind = [i for i, mDet in enumerate(p.maxDets) if mDet == maxDets]
        if ap == 1:
            s = self.eval['precision']
            if iouThr is not None:
                t = np.where(iouThr == p.iouThrs)[0]
                s = s[t]
            s = s[:, :, :, aind, mind]
            if k is not None:
                s = s[:, :, k]
        else:
            s = self.eval['recall']
            if iouThr is not None:
                t = np.where(iouThr == p.iouThrs)[0]
                s = s[t]
            s = s[:, :, aind, mind]
            if k is not None:
                s = s[:, k]
        if len(s[s > -1]) == 0:
            return float('nan')  # pycocotools: -1
        return float(np.mean(s[s > -1]))

    def summarize(self, k=None):
        last = self.params.maxDets[-1]
        md = self.params.maxDets
        S = self._summarize
        return {
            'AP': S(1, maxDets=last, k=k),
            'AP50': S(1, iouThr=.5, maxDets=last, k=k),
            'AP75': S(1, iouThr=.75, maxDets=last, k=k),
            'APs': S(1, areaRng='small', maxDets=last, k=k),
            'APm': S(1, areaRng='medium', maxDets=last, k=k),
            'APl': S(1, areaRng='large', maxDets=last, k=k),
            'AR1': S(0, maxDets=md[0], k=k),
            'AR10': S(0, maxDets=md[1], k=k),
            'AR100': S(0, maxDets=md[2], k=k),
            'ARs': S(0, areaRng='small', maxDets=last, k=k),
            'ARm': S(0, areaRng='medium', maxDets=last, k=k),
            'ARl': S(0, areaRng='large', maxDets=last, k=k),
        }


def coco_metrics(gt, dets, max_dets=(1, 10, 100), iou_thrs=None):
    E = CocoEval(gt, dets, Params(max_dets, iou_thrs))
    E.evaluate()
    E.accumulate()
    out = E.summarize()
    out['perClass'] = {c: E.summarize(k) for k, c in enumerate(E.labels)}
    return out


# ----------------------------------------------------------------------------------------------------------------
# Data sets

W, H = 640, 480


def rand_box(rng, quant):
    """A box whose area falls in any COCO range: side log-uniform in [2, 400] px."""
    w = math.exp(rng.uniform(math.log(2), math.log(400)))
    h = w * math.exp(rng.uniform(-0.7, 0.7))
    w, h = min(w, W - 1), min(h, H - 1)
    x = rng.uniform(0, W - w)
    y = rng.uniform(0, H - h)
    return q([x, y, x + w, y + h], quant)


def q(box, quant):
    return [float(round(v / quant) * quant) for v in box]


def jitter(rng, box, amount, quant):
    w, h = box[2] - box[0], box[3] - box[1]
    out = [box[0] + rng.normal() * amount * w, box[1] + rng.normal() * amount * h,
           box[2] + rng.normal() * amount * w, box[3] + rng.normal() * amount * h]
    out = [min(max(out[0], 0), W), min(max(out[1], 0), H), min(max(out[2], 0), W), min(max(out[3], 0), H)]
    x1, x2 = sorted([out[0], out[2]])
    y1, y2 = sorted([out[1], out[3]])
    return q([x1, y1, x2, y2], quant)


def random_set(seed, n_images, classes, *, difficult=0.0, crowd=0.0, area_field=0.0, empty_images=0.1,
               fp_per_image=3, dense_image=0, quant=0.01, score_decimals=2, dup=0.05, gt_only=None, dt_only=None,
               object_box=False):
    """Random ground truth and detections with ties (rounded scores), duplicates, empty classes and images."""
    rng = np.random.RandomState(seed)
    gt, dets = [], []
    gt_classes = [c for c in classes if c != dt_only]
    dt_classes = [c for c in classes if c != gt_only]
    for i in range(n_images):
        name = f'img{seed}_{i:03d}.jpg'
        boxes = []
        if rng.uniform() >= empty_images:
            for _ in range(rng.randint(1, 6)):
                o = {'label': gt_classes[rng.randint(len(gt_classes))], 'box': rand_box(rng, quant)}
                if rng.uniform() < difficult:
                    o['difficult'] = True
                if rng.uniform() < crowd:
                    o['iscrowd'] = True
                if rng.uniform() < area_field:
                    bw, bh = o['box'][2] - o['box'][0], o['box'][3] - o['box'][1]
                    o['area'] = float(round(bw * bh * rng.uniform(0.4, 1.0), 2))
                boxes.append(o)
        gt.append({'image': name, 'width': W, 'height': H, 'boxes': boxes})
        dl = []
        for o in boxes:
            if o['label'] == gt_only:
                continue
            for _ in range(rng.randint(0, 4)):
                amount = rng.choice([0.02, 0.08, 0.2])
                dl.append({'label': o['label'], 'score': float(round(rng.uniform(), score_decimals)),
                           'box': jitter(rng, o['box'], amount, quant)})
        for _ in range(rng.randint(0, fp_per_image + 1)):
            dl.append({'label': dt_classes[rng.randint(len(dt_classes))],
                       'score': float(round(rng.uniform() * 0.8, score_decimals)), 'box': rand_box(rng, quant)})
        if i < dense_image:
            # Crowded image: more than 100 detections of one class (the maxDets cut), many ties.
            target = boxes[0] if boxes else {'label': dt_classes[0], 'box': rand_box(rng, quant)}
            for _ in range(130):
                dl.append({'label': target['label'], 'score': float(round(rng.uniform(), 1)),
                           'box': jitter(rng, target['box'], 0.15, quant)})
        dups = [dict(d) for d in dl if rng.uniform() < dup]
        dl.extend(dups)
        order = rng.permutation(len(dl))
        dl = [dl[j] for j in order]
        if object_box:
            for d in dl:
                b = d['box']
                d['box'] = {'x1': b[0], 'y1': b[1], 'x2': b[2], 'y2': b[3]}
        if dl or rng.uniform() < 0.5:
            dets.append({'image': name, 'detections': dl})
    # Detection images in another order than the ground truth (ties then follow this order).
    order = rng.permutation(len(dets))
    dets = [dets[j] for j in order]
    return gt, dets


def threshold_set():
    """Hand-made integer boxes at IoU exactly 0.5 and 0.75, crowd and difficult boxes, equal IoUs, ties."""
    gt = [
        {'image': 'a.png', 'boxes': [
            {'label': 'cat', 'box': [0, 0, 100, 100]},
            {'label': 'cat', 'box': [200, 0, 300, 100]},
            {'label': 'dog', 'box': [0, 200, 40, 240]},
            {'label': 'dog', 'box': [100, 200, 300, 400], 'iscrowd': True},
        ]},
        {'image': 'b.png', 'boxes': [
            {'label': 'cat', 'box': [0, 0, 20, 20], 'difficult': True},
            {'label': 'cat', 'box': [50, 50, 90, 90]},
            {'label': 'cat', 'box': [50, 50, 90, 90]},
        ]},
        {'image': 'c.png', 'boxes': []},
        {'image': 'd.png', 'boxes': [
            {'label': 'kite', 'box': [5, 5, 5, 9]},                         # zero width: IoU 0, or 1 with +1 pixels
            {'label': 'kite', 'box': [50, 50, 60, 60], 'area': 0.0},       # explicit area 0: small
        ]},
    ]
    dets = [
        {'image': 'a.png', 'detections': [
            {'label': 'cat', 'score': 0.9, 'box': [0, 0, 100, 50]},       # IoU 0.5 exactly with the first cat
            {'label': 'cat', 'score': 0.9, 'box': [200, 0, 300, 75]},     # IoU 0.75 exactly, same score (tie)
            {'label': 'cat', 'score': 0.8, 'box': [0, 0, 100, 100]},      # duplicate of a matched box: FP
            {'label': 'dog', 'score': 0.7, 'box': [0, 200, 40, 240]},
            {'label': 'dog', 'score': 0.6, 'box': [150, 250, 200, 300]},  # inside the crowd region: ignored
            {'label': 'dog', 'score': 0.5, 'box': [120, 220, 180, 280]},  # also inside it (crowd never consumed)
        ]},
        {'image': 'b.png', 'detections': [
            {'label': 'cat', 'score': 0.95, 'box': [0, 0, 20, 20]},       # on a difficult box: neither
            {'label': 'cat', 'score': 0.4, 'box': [50, 50, 90, 90]},      # equal IoU with two boxes
            {'label': 'cat', 'score': 0.4, 'box': [50, 50, 90, 90]},
            {'label': 'cat', 'score': 0.3, 'box': [50, 50, 90, 90]},
        ]},
        {'image': 'c.png', 'detections': [
            {'label': 'cat', 'score': 0.9, 'box': [10, 10, 30, 30]},      # image without ground truth: FP
            {'label': 'bird', 'score': 0.5, 'box': [10, 10, 30, 30]},     # class without ground truth: NaN
        ]},
        {'image': 'd.png', 'detections': [
            {'label': 'kite', 'score': 0.8, 'box': [5, 5, 5, 9]},
            {'label': 'kite', 'score': 0.7, 'box': [50, 50, 60, 60]},
            {'label': 'kite', 'score': 0.6, 'box': [0, 0, 0, 0]},         # a point
        ]},
    ]
    return gt, dets


VOC_LABELS = ['background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
              'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
              'tvmonitor']


def real_set():
    """Real model outputs on astronaut.png with hand-made ground truth: torchvision SSD300 (tamed, 200 detections,
    VOC labels) and face-api's SSD MobileNet v1 (the face, minConfidence 0.02 run)."""
    with open(os.path.join(ROOT, 'test', 'fixtures', 'postprocess', 'ssd300_astronaut.json')) as f:
        ssd = json.load(f)['detections_original_frame']
    with open(os.path.join(ROOT, 'test', 'fixtures', 'detector', 'astronaut_faceapi_detections.json')) as f:
        face = json.load(f)
    run = [r for r in face['runs'] if r['minConfidence'] == 0.02][0]
    gt = [
        {'image': 'astronaut.png', 'width': 512, 'height': 512, 'boxes': [
            {'label': 'person', 'box': [20, 14, 365, 512]},
            {'label': 'aeroplane', 'box': [355, 0, 462, 285]},
            {'label': 'face', 'box': [178, 68, 268, 178]},
        ]},
    ]
    dl = [{'label': VOC_LABELS[l], 'score': s, 'box': b}
          for b, s, l in zip(ssd['boxes_xyxy'], ssd['scores'], ssd['labels'])]
    dl += [{'label': 'face', 'score': d[0], 'box': d[1:5]} for d in run['detections']]
    return gt, [{'image': 'astronaut.png', 'detections': dl}]


# ----------------------------------------------------------------------------------------------------------------
# Output

VOC_CONFIGS = [
    {},
    {'use07Metric': True},
    {'pixelOffset': 1},
    {'iouThreshold': 0.7},
    {'use07Metric': True, 'pixelOffset': 1, 'iouThreshold': 0.3},
]
COCO_CONFIGS = [
    {},
    {'maxDets': [1, 3, 5]},
    {'iouThresholds': [0.3, 0.5, 0.75]},
]


def expected(gt, dets, curves=True):
    voc = []
    for cfg in VOC_CONFIGS:
        r = voc_metrics(gt, dets, cfg.get('use07Metric', False), cfg.get('iouThreshold', 0.5),
                        cfg.get('pixelOffset', 0), curves=curves and not cfg)
        voc.append({'options': cfg, **r})
    coco = []
    for cfg in COCO_CONFIGS:
        r = coco_metrics(gt, dets, cfg.get('maxDets', (1, 10, 100)), cfg.get('iouThresholds'))
        coco.append({'options': cfg, **r})
    return {'voc': voc, 'coco': coco}


def finite_json(value):
    if isinstance(value, float):
        if math.isnan(value):
            return 'NaN'
        if math.isinf(value):
            return 'Infinity' if value > 0 else '-Infinity'
        return value
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if isinstance(value, (np.floating,)):
        return finite_json(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(finite_json(obj), f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes')


def coco_files(gt, dets, classes):
    """The same set as COCO instances JSON, a COCO results list and `detect --json` output (paths in a folder)."""
    cat_id = {c: 10 + 3 * k for k, c in enumerate(classes)}  # ids that are not indices
    images, annotations = [], []
    for i, e in enumerate(gt):
        images.append({'id': 100 + 7 * i, 'file_name': e['image'], 'width': W, 'height': H})
        for o in e['boxes']:
            x1, y1, x2, y2 = o['box']
            ann = {'id': len(annotations) + 1, 'image_id': 100 + 7 * i, 'category_id': cat_id[o['label']],
                   'bbox': [x1, y1, x2 - x1, y2 - y1], 'iscrowd': int(bool(o.get('iscrowd', False)))}
            if 'area' in o:
                ann['area'] = o['area']
            annotations.append(ann)
    # Images listed out of id order: readers must sort by id as pycocotools does.
    images = images[1::2] + images[0::2]
    instances = {'images': images, 'annotations': annotations,
                 'categories': [{'id': cat_id[c], 'name': c} for c in classes]}
    img_id = {e['image']: 100 + 7 * i for i, e in enumerate(gt)}
    results, detect = [], []
    for e in dets:
        dl = []
        for d in e['detections']:
            x1, y1, x2, y2 = box_xyxy(d['box'])
            results.append({'image_id': img_id[e['image']], 'category_id': cat_id[d['label']],
                            'bbox': [x1, y1, x2 - x1, y2 - y1], 'score': d['score']})
            dl.append({'label': d['label'], 'classId': classes.index(d['label']) + 1, 'score': d['score'],
                       'box': {'x1': x1, 'y1': y1, 'x2': x2, 'y2': y2}})
        detect.append({'file': 'photos/val/' + e['image'], 'width': W, 'height': H, 'detections': dl})
    return instances, results, detect


SETS = [
    # name, description, builder
    ('random-voc', 'VOC-like: difficult boxes, ties (scores to 2 decimals), duplicates, images without ground truth',
     lambda: random_set(1, 24, ['bird', 'boat', 'cat', 'dog'], difficult=0.15, empty_images=0.15)),
    ('random-coco', 'COCO-like: crowd boxes, explicit areas, a class with ground truth only and one with detections only',
     lambda: random_set(2, 30, ['car', 'person', 'truck', 'zebra', 'kite'], crowd=0.12, area_field=0.3,
                        gt_only='zebra', dt_only='kite', quant=0.25)),
    ('random-dense', 'over 100 detections of one class in two images (maxDets cut), scores to 1 decimal (many ties)',
     lambda: random_set(3, 6, ['a', 'b'], dense_image=2, score_decimals=1, fp_per_image=8, object_box=True)),
    ('random-mixed', 'difficult and crowd together, coarse scores, few images',
     lambda: random_set(4, 10, ['x', 'y', 'z'], difficult=0.1, crowd=0.1, area_field=0.2, score_decimals=1)),
    ('random-large', 'more images and classes: difficult, crowd, explicit areas, duplicates, 2-decimal ties',
     lambda: random_set(5, 90, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'], difficult=0.08, crowd=0.08, area_field=0.2,
                        fp_per_image=4)),
    ('thresholds', 'hand-made integer boxes at IoU exactly 0.5 and 0.75, crowd, difficult, equal IoUs, ties',
     threshold_set),
    ('real-astronaut', 'real outputs on astronaut.png: torchvision SSD300 (tamed, 200 detections) and face-api '
     '(minConfidence 0.02), hand-made ground truth (person, aeroplane = the shuttle model, face)', real_set),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    index = []
    for name, description, build in SETS:
        gt, dets = build()
        exp = expected(gt, dets)
        write(f'{name}.json', {'name': name, 'description': description, 'groundTruth': gt, 'detections': dets,
                               'expected': exp, 'iouThresholds': Params().iouThrs.tolist(),
                               'recallThresholds': Params().recThrs.tolist()})
        index.append(name)
        if name == 'random-coco':
            instances, results, detect = coco_files(gt, dets, all_labels(gt, dets))
            write('coco-instances.json', instances)
            write('coco-results.json', results)
            write('detect-output.json', detect)
    write('index.json', {'sets': index, 'formats': {'set': 'random-coco', 'instances': 'coco-instances.json',
                                                      'results': 'coco-results.json', 'detect': 'detect-output.json'}})


if __name__ == '__main__':
    main()
