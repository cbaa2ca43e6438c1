// Run by scripts/check-arm64-prebuild.sh inside an arm64 Node: the prebuild must load, report NEON, and reproduce
// the torchvision NMS and postprocess references with both the scalar and the NEON kernels. Exit 1 otherwise.
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const b = require(path.join(root, 'prebuilds/linux-arm64/ssd-edge.node'));
const fx = (p) => path.join(root, 'test/fixtures', p);
const f32 = (p) => {
  const x = fs.readFileSync(fx(p));
  return new Float32Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
};
const caps = b.capabilities();
console.log(`${process.platform}-${process.arch} Node ${process.version}:`, JSON.stringify(caps));
let failed = !caps.supported.includes('neon');
const ref = JSON.parse(fs.readFileSync(fx('nms/nms_8732_keep_0.45.json'))).keep;
const pj = JSON.parse(fs.readFileSync(fx('postprocess/ssd300_astronaut.json'))).detections_original_frame;
const opts = {
  scoring: 'softmax',
  boxesDecoded: false,
  backgroundIndex: 0,
  scoreThresh: 0.01,
  nmsThresh: 0.45,
  topkCandidates: 400,
  detectionsPerImg: 200,
  weights: new Float32Array([10, 10, 5, 5]),
  orderYx: false,
  bboxClip: Math.log(1000 / 16),
  clipBoxes: true,
};
for (const level of ['scalar', 'neon']) {
  b.setSimd(level);
  const keep = b.nms(f32('nms/nms_8732_boxes.f32'), f32('nms/nms_8732_scores.f32'), 0.45, -Infinity, -1, -1);
  const nmsOk = keep.length === ref.length && keep.every((v, i) => v === ref[i]);
  const [d] = b.postprocess(
    f32('postprocess/ssd300_astronaut_bbox_regression.f32'),
    f32('postprocess/ssd300_astronaut_cls_logits.f32'),
    f32('default_boxes/ssd300_vgg16_default_boxes_cxcywh_norm.f32'),
    1,
    21,
    new Float32Array([512, 512]),
    opts,
  );
  let same = d.labels.length === pj.labels.length,
    box = 0,
    score = 0;
  for (let i = 0; i < d.labels.length; i++) {
    if (d.labels[i] !== pj.labels[i]) same = false;
    score = Math.max(score, Math.abs(d.scores[i] - pj.scores[i]));
    for (let k = 0; k < 4; k++) box = Math.max(box, Math.abs(d.boxes[4 * i + k] - pj.boxes_xyxy[i][k]));
  }
  const ok = nmsOk && same && box <= 1e-3 && score <= 1e-6;
  console.log(
    `${level}: nms 8732 exact ${nmsOk}; postprocess ${d.labels.length} detections, labels/order ${same}, max |Δbox| ${box} px, max |Δscore| ${score} → ${ok ? 'ok' : 'FAIL'}`,
  );
  failed ||= !ok;
}
process.exit(failed ? 1 : 0);
