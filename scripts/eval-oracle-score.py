#!/usr/bin/env python3
"""Scores saved detections against ground truth with the evaluation oracle's functions (scripts/eval-oracle.py:
py-faster-rcnn voc_eval and pycocotools COCOeval written in numpy): a test-data generator, never a dependency.

    /usr/bin/python3 scripts/eval-oracle-score.py IN.json OUT.json

IN.json: { "groundTruth": [{ image, boxes: [{ label, box: [x1, y1, x2, y2], difficult?, iscrowd? }] }],
           "detections": [{ image, detections: [{ label, score, box }] }] }  (ssd-edge's GroundTruthImage /
DetectionImage lists, e.g. what `evaluateModel` returns as `groundTruth` and `detections`).
OUT.json: { "voc": { map, ap, curves }, "voc07": { map, ap }, "coco": { AP, AP50, …, perClass } }, NaN as "NaN".
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# $EVAL_ORACLE points at another copy of the oracle (default: scripts/eval-oracle.py beside this file)
spec = importlib.util.spec_from_file_location('eval_oracle', os.environ.get('EVAL_ORACLE') or os.path.join(HERE, 'eval-oracle.py'))
oracle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(oracle)


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: eval-oracle-score.py IN.json OUT.json')
    with open(sys.argv[1]) as f:
        data = json.load(f)
    gt, dets = data['groundTruth'], data['detections']
    out = {
        'voc': oracle.voc_metrics(gt, dets, False, 0.5, 0, curves=True),
        'voc07': oracle.voc_metrics(gt, dets, True, 0.5, 0),
        'coco': oracle.coco_metrics(gt, dets),
    }
    with open(sys.argv[2], 'w') as f:
        json.dump(oracle.finite_json(out), f, separators=(',', ':'))
        f.write('\n')
    print(f'{sys.argv[2]}: {os.path.getsize(sys.argv[2])} bytes')


if __name__ == '__main__':
    main()
