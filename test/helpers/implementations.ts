/**
 * The implementations every op test runs: the public op (native addon when it is built, else the TS path)
 * and the pure-TS twin. Tests loop over these tables so that, once the addon lands, the same assertions
 * check it too. Invalid-input tests use the public ops only (the twins do not validate).
 */
import {
  backend, batchedNms, boxIou, decodeBoxes, defaultBoxes, encodeBoxes, hardNegativeMining, matchAnchors, nms,
  postprocessDetections, softNms, ssdLossParts,
} from '../../lib/index.ts';
import { matchAnchorsTs } from '../../lib/ops/matcher.ts';
import { hardNegativeMiningTs, ssdLossPartsTs } from '../../lib/ops/loss.ts';
import { batchedNmsTs, nmsTs, softNmsTs } from '../../lib/ops/nms.ts';
import { boxIouTs } from '../../lib/ops/boxes.ts';
import { defaultBoxesTs } from '../../lib/ops/priors.ts';
import { decodeBoxesTs, encodeBoxesTs } from '../../lib/ops/box-coder.ts';
import { postprocessDetectionsTs } from '../../lib/ops/postprocess.ts';

export const publicName = `public op (${backend})`;
export const twinName = 'TS twin';

export const defaultBoxesImpls = [
  { name: publicName, defaultBoxes },
  { name: twinName, defaultBoxes: defaultBoxesTs },
] as const;

export const boxCoderImpls = [
  { name: publicName, encodeBoxes, decodeBoxes },
  { name: twinName, encodeBoxes: encodeBoxesTs, decodeBoxes: decodeBoxesTs },
] as const;

export const iouImpls = [
  { name: publicName, boxIou },
  { name: twinName, boxIou: boxIouTs },
] as const;

export const nmsImpls = [
  { name: publicName, nms, batchedNms, softNms },
  { name: twinName, nms: nmsTs, batchedNms: batchedNmsTs, softNms: softNmsTs },
] as const;

export const postprocessImpls = [
  { name: publicName, postprocessDetections },
  { name: twinName, postprocessDetections: postprocessDetectionsTs },
] as const;

export const matcherImpls = [
  { name: publicName, matchAnchors },
  { name: twinName, matchAnchors: matchAnchorsTs },
] as const;

export const lossImpls = [
  { name: publicName, ssdLossParts, hardNegativeMining },
  { name: twinName, ssdLossParts: ssdLossPartsTs, hardNegativeMining: hardNegativeMiningTs },
] as const;
