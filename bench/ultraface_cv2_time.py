# One-off timing of the original runtime for bench/models-onnx.ts: OpenCV dnn (Debian python3-opencv 4.6) running an
# UltraFace ONNX export as upstream's detect_imgs_onnx.py does (imread → RGB → resize → (x−127)/128 → forward →
# score > 0.7 → hard NMS 0.3). One thread (cv2.setNumThreads(1)), like the ssd-edge side. Prints JSON:
#   {"forward_ms": median, "end_to_end_ms": median, "runs": N}
#   /usr/bin/python3 bench/ultraface_cv2_time.py MODEL.onnx W H IMAGE RUNS
import sys, json, time, cv2, numpy as np
model, W, H, image, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
cv2.setNumThreads(1)
net = cv2.dnn.readNetFromONNX(model)
def prep(path):
    im = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    x = (cv2.resize(im, (W, H), interpolation=cv2.INTER_LINEAR).astype(np.float32) - 127) / 128
    return x.transpose(2, 0, 1)[None].copy()
def forward(x):
    net.setInput(x)
    return net.forward(['scores', 'boxes'])
def nms(boxes, scores, thr=0.3):
    order = np.argsort(-scores); keep = []
    while order.size:
        i = order[0]; keep.append(i); rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2]); rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        wh = np.clip(rb - lt, 0, None); inter = wh[:, 0] * wh[:, 1]
        a = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        order = rest[inter / (a(boxes[i]) + a(boxes[rest]) - inter + 1e-5) <= thr]
    return keep
def detect(path):
    scores, boxes = forward(prep(path))
    out = []
    for c in range(1, scores.shape[2]):
        m = scores[0, :, c] > 0.7
        if m.any(): out += [(c, k) for k in nms(boxes[0][m], scores[0, m, c])]
    return out
x = prep(image)
def med(fn):
    for _ in range(3): fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter(); fn(); t.append((time.perf_counter() - t0) * 1e3)
    return sorted(t)[len(t) // 2]
print(json.dumps({"forward_ms": med(lambda: forward(x)), "end_to_end_ms": med(lambda: detect(image)), "runs": runs}))
