/**
 * The ssd-edge model format: an ONNX file whose `metadata_props` carry everything needed to run it.
 *
 * One metadata entry, key `ssd_edge`, holds the JSON of a {@link ModelSpec}; `ssd_edge.version` holds the
 * schema version. A file without it is not an ssd-edge model (`ssd-edge model import` makes one).
 */
import type { DefaultBoxSpec } from '../ops/priors.ts';
import type { PostprocessOptions } from '../ops/postprocess.ts';

export const METADATA_KEY = 'ssd_edge';
export const METADATA_VERSION_KEY = 'ssd_edge.version';
export const SCHEMA_VERSION = 1;

/** How the source image becomes the network input. */
export type ResizeMode =
  /** Stretch to the input size, aspect ratio not kept (torchvision GeneralizedRCNNTransform, pytorch-ssd). */
  | 'stretch'
  /** Pad bottom/right with zeros to a square, then resize (face-api / TF.js). Boxes map back through the pad. */
  | 'pad'
  /** Resize keeping aspect ratio, centre on a `padValue` canvas (YOLO-style letterbox). */
  | 'letterbox';

export interface InputSpec {
  /** ONNX input name. */
  name: string;
  /** Network input size in pixels. */
  height: number;
  width: number;
  layout: 'NCHW' | 'NHWC';
  colorOrder: 'RGB' | 'BGR';
  /** x' = (x − mean[c]) / std[c] on 0..255 pixel values, per channel in `colorOrder`. [0,0,0]/[1,1,1] = raw pixels. */
  mean: [number, number, number];
  std: [number, number, number];
  resize: ResizeMode;
  /** 'bilinear' (align_corners=false, half-pixel centres, no antialias) or 'bilinear-asymmetric' (TF legacy). */
  interpolation?: 'bilinear' | 'bilinear-asymmetric';
  /** Fill value for pad/letterbox, 0..255. */
  padValue?: number;
  /** Whether the batch dimension is symbolic (detectBatch runs one session call) or fixed. */
  dynamicBatch: boolean;
}

/** Outputs that still need decoding against anchors (torchvision, face-api). */
export interface RawOutputSpec {
  kind: 'raw';
  /** ONNX output with [B, N, 4] deltas in `boxCoder.order`. */
  boxes: string;
  /** ONNX output with [B, N, C] logits. */
  scores: string;
}

/** Outputs already decoded (pytorch-ssd / jetson-inference): normalized xyxy boxes and activated scores. */
export interface DecodedOutputSpec {
  kind: 'decoded';
  /** [B, N, 4] normalized xyxy. */
  boxes: string;
  /** [B, N, C] probabilities (softmax already applied). */
  scores: string;
}

/** Where the anchors come from. */
export type AnchorSpec =
  | { preset: string }
  | { spec: DefaultBoxSpec }
  /** Base64 of little-endian float32 [N·4], cxcywh normalized. */
  | { data: string; count: number };

export interface ModelSpec {
  /** Short name, e.g. 'ssd-mobilenetv1-face'. */
  name: string;
  /** e.g. 'ssd300-vgg16', 'ssdlite320-mobilenetv3-large', 'ssd-mobilenetv1'. */
  architecture: string;
  /** Where the weights came from (free text: package@version, file, training run). */
  source?: string;
  input: InputSpec;
  output: RawOutputSpec | DecodedOutputSpec;
  /** Required when output.kind is 'raw'. */
  anchors?: AnchorSpec;
  /** Class names by index, background included (index = label of the logits). */
  labels: string[];
  /** Postprocess defaults (scoring, background, thresholds, top-k, coder, clip). */
  postprocess: PostprocessOptions;
}
