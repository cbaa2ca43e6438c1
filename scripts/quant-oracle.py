#!/usr/bin/python3
"""numpy oracle of ssd-edge's static int8 quantization (lib/model/quantize/): writes test/fixtures/quant/oracle.json.

A small float network (every Conv quantized, `keepFloat: []`), written independently of the TypeScript:

    x [1,3,12,12] -> Conv A 3->8 3x3 pad 1 -> Relu -> Conv B depthwise 8 3x3 stride 2 pad 1 -> Clip(0, 6)
      -> MaxPool 2x2 -> Conv C 1x1 8->6 (+ bias) -> y [1,6,3,3]

Calibration: min/max over K random inputs of the float network (float64 here; ONNX Runtime's float32 agrees far
below a quantization step). Quantization as the issue defines it:
  activations uint8 asymmetric: rmin = min(min, 0), rmax = max(max, 0), scale = (rmax - rmin) / 255 (float32),
    zero point = round_half_even(-rmin / scale) clamped to [0, 255]; MaxPool's output shares its input's parameters;
  weights int8 symmetric per output channel: scale = max|w_c| / qmax (qmax 127, or 64 with reduce range),
    q = clip(round_half_even(w / scale), -qmax, qmax);
  bias int32: scale = input scale * weight scale, q = round_half_even(b / scale).
Then the QDQ network is simulated: every quantized value is rounded to its uint8 grid (QuantizeLinear then
DequantizeLinear), convolutions run in float64 on the dequantized inputs, weights and biases. The test builds the
same float network from these weights, quantizes it with `quantizeGraph` on the same calibration inputs and runs it in
ONNX Runtime (QLinearConv integer kernels): parameters must match, and outputs agree within one quantization step.

Run: /usr/bin/python3 scripts/quant-oracle.py   (numpy only; seeded, so the fixture is reproducible)
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'quant', 'oracle.json')

rng = np.random.default_rng(20261130)
f32 = np.float32


def conv2d(x, w, b, stride=1, pad=0, group=1):
    """NCHW conv in float64 (batch 1)."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    _, c, h, wd = x.shape
    o, ipg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((1, o, oh, ow))
    opg = o // group
    for oc in range(o):
        g = oc // opg
        for i in range(oh):
            for j in range(ow):
                patch = xp[0, g * ipg:(g + 1) * ipg, i * stride:i * stride + kh, j * stride:j * stride + kw]
                y[0, oc, i, j] = np.sum(patch * w[oc])
        if b is not None:
            y[0, oc] += float(b[oc])
    return y


def maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def round_half_even(v):
    return np.rint(v)  # numpy rounds half to even


def act_params(lo, hi):
    rmin = f32(min(lo, 0.0))
    rmax = f32(max(hi, 0.0))
    scale = f32(f32(rmax - rmin) / f32(255))
    if not scale > 0:
        scale = f32(1)
    zp = int(np.clip(round_half_even(f32(-f32(rmin / scale))), 0, 255))
    return float(scale), zp


def qdq(v, scale, zp):
    s = f32(scale)
    q = np.clip(round_half_even((v.astype(np.float32) / s).astype(np.float32)) + zp, 0, 255)
    return (q - zp).astype(np.float32) * s


def quant_weights(w, qmax):
    o = w.shape[0]
    flat = w.reshape(o, -1)
    scales = np.zeros(o, np.float32)
    q = np.zeros_like(flat, dtype=np.int32)
    for c in range(o):
        m = f32(np.max(np.abs(flat[c])))
        s = f32(m / f32(qmax)) if m > 0 else f32(1)
        scales[c] = s
        q[c] = np.clip(round_half_even((flat[c] / s).astype(np.float32)), -qmax, qmax)
    return q.reshape(w.shape), scales


def quant_bias(b, in_scale, w_scales):
    s = (f32(in_scale) * w_scales.astype(np.float32)).astype(np.float32)
    q = round_half_even((b.astype(np.float32) / s).astype(np.float32)).astype(np.int64)
    return q, s


# --- the float network -------------------------------------------------------------------------------------
wA = (rng.standard_normal((8, 3, 3, 3)) * 0.4).astype(np.float32)
bA = (rng.standard_normal(8) * 0.1).astype(np.float32)
wB = (rng.standard_normal((8, 1, 3, 3)) * 0.5).astype(np.float32)
bB = (rng.standard_normal(8) * 0.1).astype(np.float32)
wC = (rng.standard_normal((6, 8, 1, 1)) * 0.5).astype(np.float32)
bC = (rng.standard_normal(6) * 0.2).astype(np.float32)


def float_net(x):
    a = np.maximum(conv2d(x, wA, bA, 1, 1), 0)
    b = np.clip(conv2d(a, wB, bB, 2, 1, group=8), 0, 6)
    p = maxpool2(b)
    y = conv2d(p, wC, bC)
    return {'x': x.astype(np.float64), 'a': a, 'b': b, 'y': y}


calib = [(rng.standard_normal((1, 3, 12, 12)) * [[[[1.0]], [[0.6]], [[1.4]]]]).astype(np.float32) for _ in range(4)]
test_input = (rng.standard_normal((1, 3, 12, 12)) * 0.9).astype(np.float32)

ranges = {}
for x in calib:
    for k, v in float_net(x).items():
        lo, hi = float(v.min()), float(v.max())
        if k in ranges:
            ranges[k] = [min(ranges[k][0], lo), max(ranges[k][1], hi)]
        else:
            ranges[k] = [lo, hi]
params = {k: act_params(*ranges[k]) for k in ranges}


def variant(qmax):
    qA, sA = quant_weights(wA, qmax)
    qB, sB = quant_weights(wB, qmax)
    qC, sC = quant_weights(wC, qmax)
    bqA, bsA = quant_bias(bA, params['x'][0], sA)
    bqB, bsB = quant_bias(bB, params['a'][0], sB)
    bqC, bsC = quant_bias(bC, params['b'][0], sC)

    def deq(q, s):
        return q.astype(np.float32) * s.reshape(-1, *([1] * (q.ndim - 1)))

    def qdq_net(x):
        xd = qdq(x, *params['x'])
        a = qdq(np.maximum(conv2d(xd, deq(qA, sA), deq(bqA, bsA), 1, 1), 0), *params['a'])
        b = qdq(np.clip(conv2d(a, deq(qB, sB), deq(bqB, bsB), 2, 1, group=8), 0, 6), *params['b'])
        p = maxpool2(b)  # MaxPool of a quantized value: same grid, no rounding
        y = qdq(conv2d(p, deq(qC, sC), deq(bqC, bsC)), *params['y'])
        return y

    return {
        'qmax': qmax,
        'weights': {
            'A': {'int8': qA.ravel().tolist(), 'scales': sA.tolist()},
            'B': {'int8': qB.ravel().tolist(), 'scales': sB.tolist()},
            'C': {'int8': qC.ravel().tolist(), 'scales': sC.tolist()},
        },
        'bias': {
            'A': {'int32': bqA.tolist(), 'scales': bsA.tolist()},
            'B': {'int32': bqB.tolist(), 'scales': bsB.tolist()},
            'C': {'int32': bqC.tolist(), 'scales': bsC.tolist()},
        },
        'output': qdq_net(test_input).astype(np.float32).ravel().tolist(),
    }


fixture = {
    'about': 'scripts/quant-oracle.py: a 3-conv network, its minmax calibration and QDQ simulation (numpy)',
    'network': {
        'input': [1, 3, 12, 12],
        'A': {'weight': wA.ravel().tolist(), 'dims': list(wA.shape), 'bias': bA.tolist(), 'pads': 1, 'stride': 1, 'group': 1, 'activation': 'Relu'},
        'B': {'weight': wB.ravel().tolist(), 'dims': list(wB.shape), 'bias': bB.tolist(), 'pads': 1, 'stride': 2, 'group': 8, 'activation': 'Clip06'},
        'pool': 'MaxPool 2x2 stride 2',
        'C': {'weight': wC.ravel().tolist(), 'dims': list(wC.shape), 'bias': bC.tolist(), 'pads': 0, 'stride': 1, 'group': 1},
        'output': [1, 6, 3, 3],
    },
    'calibration': [x.ravel().tolist() for x in calib],
    'testInput': test_input.ravel().tolist(),
    'floatOutput': float_net(test_input)['y'].astype(np.float32).ravel().tolist(),
    'ranges': ranges,
    'activations': {k: {'scale': params[k][0], 'zeroPoint': params[k][1]} for k in params},
    'full': variant(127),
    'reduceRange': variant(64),
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(fixture, f)
print('wrote', OUT, os.path.getsize(OUT), 'bytes')
