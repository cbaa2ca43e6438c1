/** Shared checks of the ONNX-file importers: find the expected inputs/outputs, read their static dims, pick labels. */
import { describeOnnx, type OnnxValueInfo } from '../inspect.ts';
import { defaultLabels } from '../labels.ts';
import type { ModelProto } from '../onnx.ts';

const names = (vs: OnnxValueInfo[]) => vs.map((v) => `'${v.name}' [${v.dims.join(', ')}]`).join(', ') || 'none';

/**
 * The model's image input and two named outputs, with their dims checked: input [B, 3, S, S] (S static), outputs
 * [B, N, 4] and [B, N, C] with N, C static. `what` names the format in errors ("torchvision SSD export").
 */
export function readSsdInterface(
  model: ModelProto,
  what: string,
  wanted: { input?: string; boxes: string; scores: string },
) {
  const io = describeOnnx(model);
  const input = wanted.input
    ? io.inputs.find((i) => i.name === wanted.input)
    : io.inputs.length === 1
      ? io.inputs[0]
      : undefined;
  if (!input) {
    throw new TypeError(
      `Expected ${what} with ${wanted.input ? `input '${wanted.input}'` : 'one image input'} but received inputs ${names(io.inputs)}`,
    );
  }
  const [b, c, h, w] = input.dims;
  if (input.dims.length !== 4 || c !== 3 || typeof h !== 'number' || h !== w) {
    throw new TypeError(
      `Expected ${what} input '${input.name}' of shape [B, 3, S, S] (NCHW, S static) but received [${input.dims.join(', ')}]`,
    );
  }
  const output = (name: string, last: number | 'C') => {
    const o = io.outputs.find((v) => v.name === name);
    if (!o) throw new TypeError(`Expected ${what} with output '${name}' but received outputs ${names(io.outputs)}`);
    const [, n, k] = o.dims;
    if (o.dims.length !== 3 || typeof n !== 'number' || typeof k !== 'number' || (last !== 'C' && k !== last)) {
      throw new TypeError(
        `Expected ${what} output '${name}' of shape [B, N, ${last}] (N${last === 'C' ? ', C' : ''} static) but received [${o.dims.join(', ')}]`,
      );
    }
    return { n, k };
  };
  const boxes = output(wanted.boxes, 4);
  const scores = output(wanted.scores, 'C');
  if (boxes.n !== scores.n) {
    throw new TypeError(
      `Expected ${what} outputs '${wanted.boxes}' and '${wanted.scores}' with the same N but received ${boxes.n} and ${scores.n}`,
    );
  }
  return { input: input.name, size: h, dynamicBatch: typeof b === 'string', numAnchors: boxes.n, numClasses: scores.k };
}

/**
 * The labels to store: `labels` when given (length C; with `prependBackground`, C − 1 names get `prependBackground`
 * in front), else the built-in list for C (91 → COCO, 21 → VOC), else an error asking for a labels file.
 */
export function pickLabels(
  labels: string[] | undefined,
  numClasses: number,
  what: string,
  prependBackground?: string,
): string[] {
  if (labels) {
    if (labels.length === numClasses) return [...labels];
    if (prependBackground && labels.length === numClasses - 1) return [prependBackground, ...labels];
    throw new TypeError(
      `Expected ${numClasses} labels (one per class column of the ${what}, background first) but received ${labels.length}`,
    );
  }
  const builtIn = defaultLabels(numClasses);
  if (!builtIn)
    throw new TypeError(
      `Expected labels for the ${numClasses} classes of the ${what} (built-in lists: 91 COCO, 21 VOC) — pass --labels FILE`,
    );
  return builtIn;
}
