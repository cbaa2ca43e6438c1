#!/usr/bin/env bash
# Test data for test/models/onnx.test.ts (the UltraFace conformance at the network's exact input size): reference
# photos resized once with OpenCV (INTER_LINEAR, uint8, stretch) to 320x240 and 640x480 and saved as PNG, and the
# detections of OpenCV dnn + upstream's post-processing on those PNGs (shared/models/tools/ultraface_cv2.py). Fed an
# image of exactly the network size, ssd-edge's resize is the identity, so its detections must equal the oracle's
# within float rounding (0.1 px, 1e-3). Only the PNGs and the detection JSON are committed, never the models.
#
#   bash scripts/make-ultraface-exact-oracles.sh ../shared   # needs Debian's python3-opencv, /usr/bin/python3
# Two runs give byte-identical files.
set -euo pipefail
SHARED=${1:-../shared}
cd "$(dirname "$0")/.."
OUT=test/fixtures/ultraface-exact
U=$SHARED/models/ultraface
T=$SHARED/models/tools
py=/usr/bin/python3
mkdir -p "$OUT"
for img in astronaut chelsea; do
  for size in 320x240 640x480; do
    $py - "$SHARED/reference/images/$img.png" "$OUT/$img-$size.png" "${size%x*}" "${size#*x}" <<'PY'
import sys, cv2
src, dst, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
im = cv2.imread(src, cv2.IMREAD_COLOR)
cv2.imwrite(dst, cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
PY
  done
done
for m in version-RFB-320 version-slim-320; do
  $py "$T/ultraface_cv2.py" $U/$m.onnx 320 240 0.7 0.3 $U/voc-model-labels.txt $OUT/oracle/$m $OUT/*-320x240.png
done
$py "$T/ultraface_cv2.py" --raw-priors $U/priors/priors_320x240_cxcywh.f32 $U/version-RFB-320_simplified.onnx 320 240 \
  0.05 0.3 $U/voc-model-labels.txt $OUT/oracle/version-RFB-320_simplified-thr0.05 $OUT/*-320x240.png
$py "$T/ultraface_cv2.py" $U/version-RFB-640.onnx 640 480 0.7 0.3 $U/voc-model-labels.txt $OUT/oracle/version-RFB-640 $OUT/*-640x480.png
$py "$T/ultraface_cv2.py" $U/RFB-640-masked_face-v2.onnx 640 480 0.05 0.3 $U/masked_face-voc-model-labels.txt \
  $OUT/oracle/RFB-640-masked_face-v2-thr0.05 $OUT/*-640x480.png
