/**
 * Tiny stand-ins for exported SSD models: the right input/output names and shapes, a few ops, no weights.
 * Every output value is the mean of the input (ReduceMean → Reshape [B,1,1] → Expand to [B,N,K]), so the models
 * run in onnxruntime and stay a few hundred bytes.
 */
import { GraphBuilder, int64s, type Dim } from '../../lib/model/graph.ts';
import type { ModelProto } from '../../lib/model/onnx.ts';
import type { ModelSpec } from '../../lib/model/spec.ts';
import { POSTPROCESS_PRESETS } from '../../lib/ops/postprocess.ts';

export interface TinySsdOptions {
  input: string;
  size: number;
  /** [name, N, K] per output. */
  outputs: Array<[string, number, number]>;
  /** Batch dim (default 1). */
  batch?: Dim;
}

/** A model with input [B,3,S,S] and outputs [B,N,K]. */
export function tinySsdModel({ input, size, outputs, batch = 1 }: TinySsdOptions): ModelProto {
  const g = new GraphBuilder('tiny');
  g.addInput(input, [batch, 3, size, size]);
  const mean = g.op('ReduceMean', [input], { axes: [1, 2, 3], keepdims: 1 });
  const flat = g.op('Reshape', [mean, g.addInitializer('shape_b11', int64s([0, 1, 1]), [3])]);
  for (const [name, n, k] of outputs) {
    const shape = g.addInitializer(`${name}/shape`, int64s([1, n, k]), [3]);
    g.addNode('Expand', [flat, shape], [name]);
    g.addOutput(name, [batch, n, k]);
  }
  return g.toModel({ producerName: 'tiny-test' });
}

/** torchvision raw-head export stand-in (input `images`, outputs `bbox_regression`, `cls_logits`). */
export const tinyTorchvision = (n: number, c: number, size: number, batch: Dim = 1) =>
  tinySsdModel({
    input: 'images',
    size,
    batch,
    outputs: [
      ['bbox_regression', n, 4],
      ['cls_logits', n, c],
    ],
  });

/** pytorch-ssd onnx_export.py stand-in (input `input_0`, outputs `scores`, `boxes`). */
export const tinyPytorchSsd = (n: number, c: number, size = 300) =>
  tinySsdModel({
    input: 'input_0',
    size,
    outputs: [
      ['scores', n, c],
      ['boxes', n, 4],
    ],
  });

/** A valid spec for tinyTorchvision(3234, 3, 320): SSDLite anchors, 3 classes, Infinity fields in postprocess. */
export function tinySsdliteSpec(): ModelSpec {
  return {
    name: 'tiny',
    architecture: 'ssdlite320-mobilenetv3-large',
    converter: 'test@1',
    input: {
      name: 'images',
      height: 320,
      width: 320,
      layout: 'NCHW',
      colorOrder: 'RGB',
      mean: [127.5, 127.5, 127.5],
      std: [127.5, 127.5, 127.5],
      resize: 'stretch',
      interpolation: 'bilinear',
      dynamicBatch: false,
    },
    output: { kind: 'raw', boxes: 'bbox_regression', scores: 'cls_logits' },
    anchors: { preset: 'torchvision-ssdlite320' },
    labels: ['background', 'a', 'b'],
    postprocess: {
      ...POSTPROCESS_PRESETS.faceApi,
      boxCoder: { ...POSTPROCESS_PRESETS.faceApi.boxCoder },
      scoring: 'softmax',
      boxEncoding: 'deltas',
    }, // has Infinity fields
  };
}
