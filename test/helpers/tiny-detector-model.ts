/**
 * A tiny ssd-edge model with decoded outputs (kind 'decoded', scoring 'none', boxes xyxy normalized) whose outputs are
 * constants, so detections are known exactly: boxes/scores = const + 0·mean(image), broadcast over a dynamic batch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder, int64s } from '../../lib/model/graph.ts';
import { writeModelSpec } from '../../lib/model/metadata.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { writeOnnx } from '../../lib/model/onnx.ts';

/** Three candidate boxes (normalized xyxy) and their (background, cat, dog) scores. */
export const TINY_BOXES = [
  [0.1, 0.1, 0.5, 0.5], // A
  [0.12, 0.1, 0.52, 0.5], // B: IoU(A, B) ≈ 0.9
  [0.6, 0.6, 0.9, 0.8], // C
];
export const TINY_SCORES = [
  [0.1, 0.9, 0.05],
  [0.1, 0.8, 0.6],
  [0.2, 0.1, 0.7],
];

export function tinyDecodedSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return {
    name: 'tiny-decoded',
    architecture: 'test',
    input: {
      name: 'image',
      height: 8,
      width: 8,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: true,
    },
    output: { kind: 'decoded', boxes: 'boxes', scores: 'scores' },
    labels: ['background', 'cat', 'dog'],
    postprocess: {
      scoring: 'none',
      boxEncoding: 'xyxy',
      backgroundIndex: 0,
      scoreThresh: 0.3,
      nmsThresh: 0.5,
      topkCandidates: Infinity,
      detectionsPerImg: 10,
      boxCoder: { weights: [10, 10, 5, 5], order: 'xywh', clip: Math.log(1000 / 16) },
      clipBoxes: true,
    },
    ...overrides,
  };
}

/** Writes the tiny model (with `spec`, or without any ssd-edge metadata when spec is null) to a temp file. */
export function writeTinyDecodedModel(
  spec: ModelSpec | null = tinyDecodedSpec(),
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-tiny-')),
): string {
  const n = TINY_BOXES.length;
  const g = new GraphBuilder('tiny_decoded');
  g.addInput('image', ['batch', 3, 8, 8]);
  const mean = g.op('ReduceMean', ['image'], { axes: [1, 2, 3], keepdims: 1 });
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [])]);
  const z = g.op('Reshape', [zero, g.addInitializer('shape_b11', int64s([-1, 1, 1]), [3])]); // [B, 1, 1]
  g.addNode('Add', [z, g.addInitializer('const_boxes', Float32Array.from(TINY_BOXES.flat()), [1, n, 4])], ['boxes']);
  g.addNode('Add', [z, g.addInitializer('const_scores', Float32Array.from(TINY_SCORES.flat()), [1, n, 3])], ['scores']);
  g.addOutput('boxes', ['batch', n, 4]);
  g.addOutput('scores', ['batch', n, 3]);
  const model = g.toModel({ producerName: 'tiny-test' });
  if (spec) writeModelSpec(model, spec);
  const file = path.join(dir, spec ? 'tiny-decoded.onnx' : 'no-metadata.onnx');
  fs.writeFileSync(file, writeOnnx(model));
  return file;
}

/** The tiny decoded-output model with two Convs on the way (the second one is a "head"): something to quantize. */
export function writeTinyConvModel(dir: string): string {
  const n = TINY_BOXES.length;
  const g = new GraphBuilder('tiny_conv');
  g.addInput('image', ['batch', 3, 8, 8]);
  const w0 = g.addInitializer(
    'c0.w',
    Float32Array.from({ length: 27 }, (_, i) => Math.sin(i) * 0.2),
    [1, 3, 3, 3],
  );
  const w1 = g.addInitializer(
    'c1.w',
    Float32Array.from({ length: 9 }, (_, i) => Math.cos(i) * 0.2),
    [1, 1, 3, 3],
  );
  const conv = { kernel_shape: [3, 3], pads: [1, 1, 1, 1] };
  const r0 = g.op('Relu', [g.op('Conv', ['image', w0], conv)]);
  const x = g.op('Relu', [g.op('Conv', [r0, w1], conv)]);
  const mean = g.op('ReduceMean', [x], { axes: [1, 2, 3], keepdims: 1 });
  const zero = g.op('Mul', [mean, g.addInitializer('zero', new Float32Array([0]), [])]);
  const z = g.op('Reshape', [zero, g.addInitializer('shape_b11', int64s([-1, 1, 1]), [3])]);
  g.addNode('Add', [z, g.addInitializer('const_boxes', Float32Array.from(TINY_BOXES.flat()), [1, n, 4])], ['boxes']);
  g.addNode('Add', [z, g.addInitializer('const_scores', Float32Array.from(TINY_SCORES.flat()), [1, n, 3])], ['scores']);
  g.addOutput('boxes', ['batch', n, 4]);
  g.addOutput('scores', ['batch', n, 3]);
  const model = g.toModel({ producerName: 'tiny-test' });
  writeModelSpec(model, tinyDecodedSpec());
  const file = path.join(dir, 'tiny-conv.onnx');
  fs.writeFileSync(file, writeOnnx(model));
  return file;
}
