# One-off timing of the original runtime for bench/caffe.ts (not used by tests or at run time): OpenCV dnn
# (Debian python3-opencv 4.6) running a Caffe SSD (prototxt + caffemodel) the way the oracles do.
#   /usr/bin/python3 bench/caffe_opencv.py PROTOTXT CAFFEMODEL IMAGE W H RUNS   → one JSON line on stdout
# forward: net.setInput(blob) + net.forward() on a prepared blob; end_to_end: cv2.imread + blobFromImage (resize) +
# forward (the DetectionOutput layer, i.e. decode + NMS, is part of the graph). Times in ms, every run listed.
import sys, time, json, cv2
proto, weights, image, W, H, runs = sys.argv[1:7]
W, H, runs = int(W), int(H), int(runs)
net = cv2.dnn.readNetFromCaffe(proto, weights)
blob = cv2.dnn.blobFromImage(cv2.imread(image, cv2.IMREAD_COLOR), 1.0, (W, H), (0, 0, 0), False, False)
def forward():
    net.setInput(blob)
    net.forward()
def end_to_end():
    net.setInput(cv2.dnn.blobFromImage(cv2.imread(image, cv2.IMREAD_COLOR), 1.0, (W, H), (0, 0, 0), False, False))
    net.forward()
out = {'opencv': cv2.__version__, 'threads': cv2.getNumThreads()}
for name, fn in (('forward', forward), ('end_to_end', end_to_end)):
    for _ in range(3):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    out[name] = t
print(json.dumps(out))
