#!/usr/bin/env bash
# Test-data generator (not used at run time): exact-input-size images and OpenCV dnn oracles for the TensorFlow
# importer's tight conformance check on OpenCV's res10 SSD300 face detector (test/models/tensorflow.test.ts). The
# reference photos are resized once to the network's 300x300 with OpenCV (cv2.resize INTER_LINEAR) and saved as PNG
# into test/fixtures/res10-exact/; the oracle tool of the shared models folder then runs the .pb + .pbtxt on those PNGs,
# where its own resize is the identity, so ssd-edge and OpenCV see the same input tensor (BGR − (104, 117, 123)).
# Only the images and the oracle JSON are committed, never the model. Needs Debian's python3-opencv (4.6); run from the
# project root:
#   bash scripts/res10-exact-size-oracles.sh /path/to/shared
set -euo pipefail
shared=${1:?usage: scripts/res10-exact-size-oracles.sh /path/to/shared}
out=test/fixtures/res10-exact
mkdir -p "$out"
for img in astronaut chelsea coffee; do
  /usr/bin/python3 -c "import cv2, sys; cv2.imwrite(sys.argv[2], cv2.resize(cv2.imread(sys.argv[1], cv2.IMREAD_COLOR), (300, 300), interpolation=cv2.INTER_LINEAR))" \
    "$shared/reference/images/$img.png" "$out/$img-300x300.png"
done
R=$shared/models/opencv-face-res10-tf-uint8
/usr/bin/python3 "$shared/models/tools/cvdnn_detection_output.py" tf "$R/opencv_face_detector_uint8.pb" \
  "$R/opencv_face_detector.pbtxt" 300 300 104,117,123 0 "$R/labels.txt" "$out/oracle" \
  "$out"/{astronaut,chelsea,coffee}-300x300.png
