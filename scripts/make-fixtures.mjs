#!/usr/bin/env node
// Builds test/fixtures/ from the shared oracle data (torchvision 0.14.1 and face-api 1.7.15 outputs).
//
//   node scripts/make-fixtures.mjs [REFERENCE_DIR]
//
// REFERENCE_DIR defaults to $SSD_EDGE_REFERENCE, else ../shared/reference next to the repository. Tests never
// read REFERENCE_DIR: they read only what this script writes. Running it again rewrites the same bytes
// (binary files are copied; JSON is re-serialized compactly with the fields the tests use; float values are
// the exact float32 decimals of the source and survive JSON.parse → JSON.stringify unchanged).
// Limits enforced here: no file over 2 MiB, all fixtures together under 5 MiB.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const refDir = path.resolve(
  process.argv[2] ?? process.env.SSD_EDGE_REFERENCE ?? path.join(repoRoot, '..', 'shared', 'reference'),
);
const outDir = path.join(repoRoot, 'test', 'fixtures');
const MAX_FILE = 2 * 1024 * 1024;
const MAX_TOTAL = 5 * 1024 * 1024;

if (!fs.existsSync(path.join(refDir, 'README.md'))) {
  console.error(`make-fixtures: no reference data at ${refDir} (pass the folder as the first argument)`);
  process.exit(2);
}

const written = [];
function out(rel) {
  const file = path.join(outDir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  written.push(rel);
  return file;
}
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(refDir, rel), 'utf8'));
const writeJson = (rel, value) => fs.writeFileSync(out(rel), JSON.stringify(value) + '\n');
function copy(rel, to = rel) {
  fs.copyFileSync(path.join(refDir, rel), out(to));
}
function pick(obj, keys) {
  const res = {};
  for (const k of keys) if (k in obj) res[k] = obj[k];
  return res;
}

// ---- default boxes -------------------------------------------------------------------------------------
for (const name of ['ssd300_vgg16', 'ssdlite320_mobilenet_v3_large']) {
  copy(`default_boxes/${name}_default_boxes_cxcywh_norm.f32`);
  const meta = readJson(`default_boxes/${name}_default_boxes.json`);
  writeJson(
    `default_boxes/${name}_default_boxes.json`,
    pick(meta, [
      'model',
      'generator',
      'image_size_hw',
      'feature_map_sizes_hw',
      'boxes_per_location',
      'level_counts',
      'level_offsets',
      'num_boxes',
      'wh_pairs_per_level',
      'data',
      'format',
      'first_rows',
      'last_rows',
    ]),
  );
}
copy('default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32');
writeJson(
  'default_boxes/faceapi_ssd_mobilenetv1_anchors.json',
  readJson('default_boxes/faceapi_ssd_mobilenetv1_anchors.json'),
);

// ---- box coder, IoU --------------------------------------------------------------------------------------
writeJson('box_coder.json', readJson('box_coder.json'));
writeJson('iou.json', readJson('iou.json'));

// ---- NMS -------------------------------------------------------------------------------------------------
writeJson('nms/nms_cases.json', readJson('nms/nms_cases.json'));
copy('nms/nms_8732_boxes.f32');
copy('nms/nms_8732_scores.f32');
writeJson('nms/nms_8732_keep_0.45.json', readJson('nms/nms_8732_keep_0.45.json'));

// ---- postprocess (raw head outputs + torchvision detections) ---------------------------------------------
for (const name of ['ssd300_astronaut', 'ssdlite320_astronaut']) {
  copy(`postprocess/${name}_bbox_regression.f32`);
  copy(`postprocess/${name}_cls_logits.f32`);
  const meta = readJson(`postprocess/${name}.json`);
  writeJson(
    `postprocess/${name}.json`,
    pick(meta, [
      'model',
      'versions',
      'image',
      'original_hw',
      'input_hw',
      'params',
      'raw_outputs',
      'detections_input_frame',
      'detections_original_frame',
      'diagnostics',
    ]),
  );
}

// ---- SSD loss (torchvision SSD.compute_loss on [astronaut, coffee]) ------------------------------------------
// The astronaut halves of the [2, 8732, ·] head outputs are byte for byte the postprocess/ssd300_astronaut_* files
// (checked here); only the coffee halves are written, to stay inside the size limits.
for (const [name, perImage] of [
  ['bbox_regression', 8732 * 4 * 4],
  ['cls_logits', 8732 * 21 * 4],
]) {
  const both = fs.readFileSync(path.join(refDir, `loss/${name}.f32`));
  const astronaut = fs.readFileSync(path.join(refDir, `postprocess/ssd300_astronaut_${name}.f32`));
  if (both.length !== 2 * perImage || !both.subarray(0, perImage).equals(astronaut)) {
    console.error(`make-fixtures: loss/${name}.f32 image 0 is not postprocess/ssd300_astronaut_${name}.f32`);
    process.exit(1);
  }
  fs.writeFileSync(out(`loss/coffee_${name}.f32`), both.subarray(perImage));
}
copy('loss/cls_loss_per_anchor.f32');
writeJson('loss/loss_reference.json', readJson('loss/loss_reference.json'));

// ---- face-api: raw box encodings (ty, tx, th, tw) and face-api's own decode of them ----------------------
copy('faceapi/astronaut_box_encodings.f32');
copy('faceapi/astronaut_boxes_yxyx.f32');

// ---- provenance ----------------------------------------------------------------------------------------
fs.writeFileSync(
  out('README.md'),
  `# Test fixtures (generated — do not edit)

Written by \`node scripts/make-fixtures.mjs [REFERENCE_DIR]\` from the project's oracle data
(see that folder's README.md for how each file was produced). Sources: torchvision 0.14.1 / torch 1.13.1
(default boxes, box coder, IoU, NMS, SSD postprocess, SSD loss) and @vladmandic/face-api 1.7.15 (anchors, raw box
encodings and face-api's decode). \`.f32\` = raw little-endian float32, C order, no header. JSON floats are exact
float32 decimals; non-finite values are the strings "NaN", "Infinity", "-Infinity".

| file | shape / content |
|---|---|
| default_boxes/ssd300_vgg16_default_boxes_cxcywh_norm.f32 | [8732,4] torchvision ssd300_vgg16 default boxes, cxcywh normalized |
| default_boxes/ssdlite320_mobilenet_v3_large_default_boxes_cxcywh_norm.f32 | [3234,4] torchvision ssdlite320 default boxes |
| default_boxes/*_default_boxes.json | generator config, level counts/offsets, wh pairs, first/last rows |
| default_boxes/faceapi_ssd_mobilenetv1_anchors_yxyx.f32 | [5118,4] face-api anchors **ymin,xmin,ymax,xmax** normalized |
| default_boxes/faceapi_ssd_mobilenetv1_anchors.json | their layout |
| box_coder.json | torchvision BoxCoder(10,10,5,5): encode (64 rows) and decode (64 rows, 9 clamped) |
| iou.json | torchvision box_iou [30×20] float32 and float64 (6 NaN cells = two zero-area boxes) |
| nms/nms_cases.json | 21 nms / batched_nms cases with torchvision keep lists |
| nms/nms_8732_boxes.f32, nms_8732_scores.f32, nms_8732_keep_0.45.json | [8732,4] xyxy px, [8732], torchvision.ops.nms keep at 0.45 (2773) |
| postprocess/{ssd300,ssdlite320}_astronaut_bbox_regression.f32 | [N,4] raw head output (N = 8732 / 3234) |
| postprocess/{ssd300,ssdlite320}_astronaut_cls_logits.f32 | [N,C] raw logits (C = 21 / 91) |
| postprocess/{ssd300,ssdlite320}_astronaut.json | params and torchvision detections (input and original frame) |
| loss/coffee_bbox_regression.f32, loss/coffee_cls_logits.f32 | [8732,4], [8732,21]: image 1 (coffee) of the loss batch; image 0 (astronaut) is postprocess/ssd300_astronaut_*.f32 (identical bytes) |
| loss/cls_loss_per_anchor.f32 | [2,8732] torchvision cross-entropy of every anchor vs its target, case all_targets |
| loss/loss_reference.json | torchvision SSD.compute_loss: targets, matched_idxs, encoded targets, mined negatives, per-image sums, losses (cases all_targets, last_image_without_boxes) |
| faceapi/astronaut_box_encodings.f32 | [5118,4] face-api raw box predictor output (ty, tx, th, tw) |
| faceapi/astronaut_boxes_yxyx.f32 | [5118,4] face-api's decode of those encodings (ymin,xmin,ymax,xmax normalized) |
`,
);

// ---- limits --------------------------------------------------------------------------------------------
let total = 0;
let bad = false;
for (const rel of written) {
  const size = fs.statSync(path.join(outDir, rel)).size;
  total += size;
  const flag = size > MAX_FILE ? '  <-- over 2 MiB' : '';
  if (flag) bad = true;
  console.log(`${String(size).padStart(9)}  test/fixtures/${rel}${flag}`);
}
console.log(`${String(total).padStart(9)}  total (${written.length} files)`);
if (total > MAX_TOTAL) {
  console.error('make-fixtures: fixtures exceed 5 MiB');
  bad = true;
}
process.exit(bad ? 1 : 0);
