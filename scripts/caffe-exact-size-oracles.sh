#!/usr/bin/env bash
# Test-data generator (not used at run time): exact-input-size images and OpenCV dnn oracles for the Caffe importer's
# tight conformance check (test/models/caffe.test.ts). The reference photos are resized once to YuFaceDetectNet's
# 320x240 with OpenCV (cv2.resize INTER_LINEAR) and saved as PNG into test/fixtures/caffe/; the oracle tool of
# ../shared/models then runs v1 and v2 on those PNGs, where its own resize is the identity, so ssd-edge and OpenCV see
# the same input tensor. Needs Debian's python3-opencv (4.6); run from the project root:
#   bash scripts/caffe-exact-size-oracles.sh ../shared
set -euo pipefail
shared=${1:-../shared}
out=test/fixtures/caffe
mkdir -p "$out"
for img in astronaut chelsea coffee; do
  /usr/bin/python3 -c "import cv2, sys; cv2.imwrite(sys.argv[2], cv2.resize(cv2.imread(sys.argv[1], cv2.IMREAD_COLOR), (320, 240), interpolation=cv2.INTER_LINEAR))" \
    "$shared/reference/images/$img.png" "$out/$img-320x240.png"
done
Y=$shared/models/libfacedetection-yufacedetectnet
for v in v1 v2; do
  /usr/bin/python3 "$shared/models/tools/cvdnn_detection_output.py" caffe "$Y/yufacedetectnet-open-$v.caffemodel" \
    "$Y/yufacedetectnet-open-$v.opencv.prototxt" 320 240 0,0,0 0 "$Y/labels.txt" "$out/oracle-yufacedetectnet-open-$v" \
    "$out"/{astronaut,chelsea,coffee}-320x240.png
done
