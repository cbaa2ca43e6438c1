# One-off timing of the original runtime for bench/tf-res10.ts (not used by tests or at run time): OpenCV dnn
# (Debian python3-opencv 4.6) running OpenCV's res10 SSD300 face detector (.pb + .pbtxt) as its samples do.
#   /usr/bin/python3 bench/tf_res10_opencv.py PB PBTXT IMAGE RUNS   → one JSON line on stdout
# forward: net.setInput(blob) + net.forward() on a prepared 300×300 BGR − (104, 117, 123) blob (the mean ORIGIN.md gives); end_to_end:
# cv2.imread + blobFromImage (resize) + forward (DetectionOutput, i.e. decode + NMS, is part of the graph). Times in ms.
import sys, time, json, cv2
pb, pbtxt, image, runs = sys.argv[1:5]
runs = int(runs)
net = cv2.dnn.readNetFromTensorflow(pb, pbtxt)
mean = (104.0, 117.0, 123.0)
blob = cv2.dnn.blobFromImage(cv2.imread(image, cv2.IMREAD_COLOR), 1.0, (300, 300), mean, False, False)
def forward():
    net.setInput(blob)
    net.forward()
def end_to_end():
    net.setInput(cv2.dnn.blobFromImage(cv2.imread(image, cv2.IMREAD_COLOR), 1.0, (300, 300), mean, False, False))
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
