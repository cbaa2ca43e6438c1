/**
 * The implementations every op test runs: the public op (native addon when it is built, else the TS path)
 * and the pure-TS twin. Tests loop over these tables so that, once the addon lands, the same assertions
 * check it too. The twins validate like their ops (test/unit/ops/twin-validation.test.ts checks the messages match).
 */
import {
  backend,
  batchedNms,
  boxIou,
  decodeBoxes,
  defaultBoxes,
  encodeBoxes,
  nms,
  postprocessDetections,
  softNms,
} from '../../lib/index.ts';
import {
  batchedNmsTs,
  boxIouTs,
  decodeBoxesTs,
  defaultBoxesTs,
  encodeBoxesTs,
  hardNegativeMiningTs,
  matchAnchorsTs,
  nmsTs,
  postprocessDetectionsTs,
  softNmsTs,
  ssdLossPartsTs,
} from '../../lib/reference.ts';
import { hardNegativeMining, matchAnchors, ssdLossParts } from '../../lib/train/index.ts';

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
