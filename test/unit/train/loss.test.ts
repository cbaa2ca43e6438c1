/**
 * lib/train/loss.ts: buildTargets against torchvision's matched_idxs / encoded targets, ssdLossTf against
 * torchvision's SSD.compute_loss values (test/fixtures/loss) and against torch autograd's gradients w.r.t. the head
 * outputs (test/fixtures/loss-grad, scripts/make-loss-grad-oracle.py) on the wasm and cpu backends, the rule for
 * images without objects (emptyImageNegatives, and 0 = torchvision), non-finite predictions, no tensor leaks, and
 * invalid inputs with exact messages.
 */
import test from 'ava';
import { loadTf, type Tf } from '../../../lib/train/backend.ts';
import { buildTargets, EMPTY_IMAGE_NEGATIVES, type ImageTargets, ssdLossTf } from '../../../lib/train/loss.ts';
import { assertClose, assertSameArray } from '../../helpers/compare.ts';
import { readJson } from '../../helpers/fixtures.ts';
import {
  groundTruth,
  headOutputs,
  lossCases,
  NUM_ANCHORS,
  NUM_CLASSES,
  ssd300AnchorsXyxyPx,
} from '../../helpers/loss-fixture.ts';

interface GradCase {
  name: string;
  total: number;
  loc: number;
  conf: number;
  grad_bbox_regression: number[];
  grad_cls_logits: number[];
}
interface GradOracle {
  num_anchors: number;
  num_classes: number;
  batch: number;
  anchors_xyxy: number[];
  gt_boxes_xyxy: number[][];
  gt_labels: number[][];
  matched_idxs: number[][];
  num_foreground: number;
  bbox_regression: number[];
  cls_logits: number[];
  cases: GradCase[];
}
const oracle = readJson<GradOracle>('loss-grad/loss_grad_oracle.json');

let tfPromise: Promise<Tf> | undefined;
/** tf with the wasm backend loaded and the cpu backend registered; `use` switches. */
async function useBackend(name: 'wasm' | 'cpu'): Promise<Tf> {
  tfPromise ??= (async () => {
    const { tf } = await loadTf('wasm');
    await import('@tensorflow/tfjs-backend-cpu');
    tf.enableProdMode(); // no "install tfjs-node" hint from the cpu backend
    return tf;
  })();
  const tf = await tfPromise;
  await tf.setBackend(name);
  return tf;
}

const oracleTargets = (): ImageTargets[] =>
  oracle.gt_labels.map((labels, b) =>
    buildTargets(
      Float32Array.from(oracle.anchors_xyxy),
      Float32Array.from(oracle.gt_boxes_xyxy[b]),
      Int32Array.from(labels),
      oracle.num_anchors,
    ),
  );

test('buildTargets: foreground = torchvision matched_idxs ≥ 0, labels of the matched gt, encoded targets within 1e-5', (t) => {
  const anchors = ssd300AnchorsXyxyPx();
  for (const c of lossCases()) {
    for (const im of c.per_image) {
      const gt = groundTruth(im);
      const tg = buildTargets(anchors, gt.gtBoxes, gt.gtLabels, NUM_ANCHORS);
      const fg = [...tg.foreground.keys()].filter((i) => tg.foreground[i]);
      assertSameArray(t, fg, im.foreground_idxs, `${c.name} ${im.image} foreground`);
      assertSameArray(
        t,
        tg.labels,
        im.matched_idxs.map((m) => (m >= 0 ? im.gt_labels[m] : 0)),
        `${c.name} ${im.image} labels`,
      );
      assertClose(
        t,
        fg.flatMap((i) => [...tg.locTargets.subarray(4 * i, 4 * i + 4)]),
        im.foreground_targets_encoded.flat(),
        { rel: 1e-5, abs: 1e-6 },
        `${c.name} ${im.image} encoded`,
      );
      t.true(
        tg.locTargets.every((v, k) => tg.foreground[k >> 2] || v === 0),
        'zeros off the foreground',
      );
    }
  }
  // The small oracle's matches (incl. the label-0 gt and the image without objects).
  oracleTargets().forEach((tg, b) => {
    assertSameArray(
      t,
      tg.foreground,
      oracle.matched_idxs[b].map((m) => (m >= 0 ? 1 : 0)),
      `oracle image ${b}`,
    );
  });
});

for (const backend of ['wasm', 'cpu'] as const) {
  test.serial(`${backend}: ssdLossTf = torchvision SSD.compute_loss on both reference cases within 1e-4`, async (t) => {
    const tf = await useBackend(backend);
    const anchors = ssd300AnchorsXyxyPx();
    const h = [headOutputs(0), headOutputs(1)];
    const cls = tf.tensor3d(Float32Array.from([...h[0].classLogits, ...h[1].classLogits]), [
      2,
      NUM_ANCHORS,
      NUM_CLASSES,
    ]);
    const box = tf.tensor3d(Float32Array.from([...h[0].boxRegression, ...h[1].boxRegression]), [2, NUM_ANCHORS, 4]);
    for (const c of lossCases()) {
      const targets = c.per_image.map((im) => {
        const gt = groundTruth(im);
        return buildTargets(anchors, gt.gtBoxes, gt.gtLabels, NUM_ANCHORS);
      });
      const before = tf.memory().numTensors;
      const r = ssdLossTf(tf, { boxRegression: box, classLogits: cls }, targets, { emptyImageNegatives: 0 });
      const want = c.torchvision_losses;
      assertClose(
        t,
        [r.values.loc, r.values.conf, r.values.total],
        [want.bbox_regression, want.classification, want.sum],
        { rel: 1e-4 },
        c.name,
      );
      assertClose(
        t,
        [r.loc.dataSync()[0], r.conf.dataSync()[0], r.total.dataSync()[0]],
        [r.values.loc, r.values.conf, r.values.total],
        { abs: 0 },
      );
      t.is(r.numForeground, c.normalizer_N);
      t.is(
        r.numPositive,
        c.per_image.reduce((s, im) => s + im.num_positive, 0),
      );
      t.is(
        r.numNegative,
        c.per_image.reduce((s, im) => s + im.num_hard_negatives, 0),
      );
      t.true(r.finite);
      tf.dispose([r.total, r.loc, r.conf]);
      t.is(tf.memory().numTensors, before, 'no tensor left behind');
    }
    tf.dispose([cls, box]);
  });

  test.serial(
    `${backend}: ssdLossTf values and gradients w.r.t. the head outputs = torch autograd within 1e-4`,
    async (t) => {
      const tf = await useBackend(backend);
      const { batch: b, num_anchors: n, num_classes: c } = oracle;
      const box = tf.tensor3d(Float32Array.from(oracle.bbox_regression), [b, n, 4]);
      const cls = tf.tensor3d(Float32Array.from(oracle.cls_logits), [b, n, c]);
      const targets = oracleTargets();
      for (const k of oracle.cases) {
        const options =
          k.name === 'torchvision'
            ? { emptyImageNegatives: 0 }
            : k.name === 'alpha_2'
              ? { alpha: 2, emptyImageNegatives: 0 }
              : { emptyImageNegatives: Number(k.name.split('_').pop()) };
        let parts: ReturnType<typeof ssdLossTf> | undefined;
        const before = tf.memory().numTensors;
        const [gBox, gCls] = tf.grads((bx, cl) => {
          parts = ssdLossTf(tf, { boxRegression: bx as never, classLogits: cl as never }, targets, options);
          return parts.total;
        })([box, cls]);
        assertClose(
          t,
          [parts!.values.total, parts!.values.loc, parts!.values.conf],
          [k.total, k.loc, k.conf],
          { rel: 1e-4 },
          `${k.name} values`,
        );
        const dBox = assertClose(
          t,
          gBox.dataSync(),
          k.grad_bbox_regression,
          { abs: 1e-4 },
          `${k.name} d/d boxRegression`,
        );
        const dCls = assertClose(t, gCls.dataSync(), k.grad_cls_logits, { abs: 1e-4 }, `${k.name} d/d classLogits`);
        t.log(
          `${backend} ${k.name}: max |Δgrad| box ${dBox.maxAbs.toExponential(2)}, cls ${dCls.maxAbs.toExponential(2)}`,
        );
        t.true(k.grad_cls_logits.some((v) => v !== 0) && k.grad_bbox_regression.some((v) => v !== 0));
        tf.dispose([gBox, gCls]);
        t.is(tf.memory().numTensors, before, 'no tensor left behind');
      }
      // The image without objects: torchvision's rule → its gradient is exactly 0; the default rule → not.
      const emptyGrad = (grad: number[], per: number) => grad.slice(2 * n * per, 3 * n * per);
      const tvCase = oracle.cases.find((k) => k.name === 'torchvision')!;
      t.true(emptyGrad(tvCase.grad_cls_logits, c).every((v) => v === 0));
      const [g0, g16] = [0, EMPTY_IMAGE_NEGATIVES].map((e) => {
        const g = tf.grad(
          (cl) =>
            ssdLossTf(tf, { boxRegression: box, classLogits: cl as never }, targets, { emptyImageNegatives: e }).total,
        )(cls);
        const d = [...g.dataSync()];
        g.dispose();
        return d;
      });
      t.true(
        emptyGrad(g0, c).every((v) => v === 0),
        'emptyImageNegatives 0: the empty image teaches nothing (torchvision)',
      );
      const rows = new Set<number>();
      emptyGrad(g16, c).forEach((v, i) => {
        if (v !== 0) rows.add(Math.floor(i / c));
      });
      t.is(rows.size, EMPTY_IMAGE_NEGATIVES, 'default: the 16 hardest anchors of the empty image get a gradient');
      tf.dispose([box, cls]);
    },
  );
}

test.serial(
  'ssdLossTf: default options mine 16 negatives in an image without objects, images with objects unchanged',
  async (t) => {
    const tf = await useBackend('wasm');
    const { batch: b, num_anchors: n, num_classes: c } = oracle;
    const box = tf.tensor3d(Float32Array.from(oracle.bbox_regression), [b, n, 4]);
    const cls = tf.tensor3d(Float32Array.from(oracle.cls_logits), [b, n, c]);
    const targets = oracleTargets();
    const def = ssdLossTf(tf, { boxRegression: box, classLogits: cls }, targets);
    const tv = ssdLossTf(tf, { boxRegression: box, classLogits: cls }, targets, { emptyImageNegatives: 0 });
    const k16 = oracle.cases.find((k) => k.name === 'empty_image_negatives_16')!;
    assertClose(t, [def.values.total], [k16.total], { rel: 1e-4 });
    t.is(def.numNegative - tv.numNegative, EMPTY_IMAGE_NEGATIVES);
    t.is(def.values.loc, tv.values.loc);
    // Only the empty image: the loss is its 16 largest cross-entropies / max(1, 0) = their sum.
    const only = ssdLossTf(
      tf,
      {
        boxRegression: tf.slice(box, [2, 0, 0], [1, n, 4]) as never,
        classLogits: tf.slice(cls, [2, 0, 0], [1, n, c]) as never,
      },
      [targets[2]],
    );
    t.is(only.numForeground, 0);
    t.is(only.numPositive, 0);
    t.is(only.numNegative, 16);
    t.true(only.values.conf > 0 && only.values.loc === 0);
    const none = ssdLossTf(
      tf,
      {
        boxRegression: tf.slice(box, [2, 0, 0], [1, n, 4]) as never,
        classLogits: tf.slice(cls, [2, 0, 0], [1, n, c]) as never,
      },
      [targets[2]],
      { emptyImageNegatives: 0 },
    );
    t.is(none.values.total, 0, 'torchvision: an image without objects has loss 0');
    tf.dispose([box, cls, def.total, def.loc, def.conf, tv.total, tv.loc, tv.conf, only.total, only.loc, only.conf]);
    tf.dispose([none.total, none.loc, none.conf]);
  },
);

test.serial('ssdLossTf: NaN or Infinity in the predictions → finite false', async (t) => {
  const tf = await useBackend('wasm');
  const { batch: b, num_anchors: n, num_classes: c } = oracle;
  const targets = oracleTargets();
  const fg = targets[0].foreground.indexOf(1);
  for (const [what, where, value] of [
    ['NaN logit', 'cls', NaN],
    ['Infinity logit', 'cls', Infinity],
    ['NaN box delta on a foreground anchor', 'box', NaN],
    ['-Infinity box delta on a foreground anchor', 'box', -Infinity],
  ] as const) {
    const boxData = Float32Array.from(oracle.bbox_regression);
    const clsData = Float32Array.from(oracle.cls_logits);
    if (where === 'cls') clsData[5] = value;
    else boxData[4 * fg + 1] = value;
    const r = ssdLossTf(
      tf,
      { boxRegression: tf.tensor3d(boxData, [b, n, 4]), classLogits: tf.tensor3d(clsData, [b, n, c]) },
      targets,
    );
    t.false(r.finite, what);
    t.false(Number.isFinite(r.values.total), what);
  }
});

test.serial('ssdLossTf / buildTargets reject invalid inputs with exact messages', async (t) => {
  const tf = await useBackend('wasm');
  const box = tf.zeros([1, 2, 4]) as never;
  const cls = tf.zeros([1, 2, 3]) as never;
  const anchors = Float32Array.from([0, 0, 10, 10, 20, 20, 30, 30]);
  const tg = buildTargets(anchors, Float32Array.from([0, 0, 10, 10]), Int32Array.from([2]), 2);
  t.deepEqual([...tg.labels], [2, 0]);
  const cases: Array<[string, () => unknown, string, string]> = [
    [
      'box shape',
      () => ssdLossTf(tf, { boxRegression: tf.zeros([1, 3, 4]) as never, classLogits: cls }, [tg]),
      'TypeError',
      'Expected tf.Tensor of shape [1, 2, 4] (B, N, 4) for pred.boxRegression but received "shape [1, 3, 4]"',
    ],
    [
      'logits not a tensor',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: [] as never }, [tg]),
      'TypeError',
      'Expected tf.Tensor of shape [B, N, C] for pred.classLogits but received Array of length 0',
    ],
    [
      'targets count',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: cls }, [tg, tg]),
      'TypeError',
      'Expected Array of 1 ImageTargets (one per image) for targets but received Array of length 2',
    ],
    [
      'label ≥ C',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: tf.zeros([1, 2, 2]) as never }, [tg]),
      'RangeError',
      'Expected labels in [0, 1] for targets[0].labels but received 2',
    ],
    [
      'foreground type',
      () =>
        ssdLossTf(tf, { boxRegression: box, classLogits: cls }, [{ ...tg, foreground: new Int32Array(2) as never }]),
      'TypeError',
      'Expected Uint8Array of length 2 (N) for targets[0].foreground but received Int32Array of length 2',
    ],
    [
      'unknown option',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: cls }, [tg], { ratio: 3 } as never),
      'TypeError',
      '',
    ],
    [
      'alpha',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: cls }, [tg], { alpha: -1 }),
      'RangeError',
      'Expected number ≥ 0 for alpha but received -1',
    ],
    [
      'emptyImageNegatives',
      () => ssdLossTf(tf, { boxRegression: box, classLogits: cls }, [tg], { emptyImageNegatives: 1.5 }),
      'RangeError',
      'Expected integer ≥ 0 for emptyImageNegatives but received 1.5',
    ],
    [
      'anchors length',
      () => buildTargets(anchors, new Float32Array(0), new Int32Array(0), 3),
      'TypeError',
      'Expected Float32Array of length 12 (4·numAnchors) for anchors but received Float32Array of length 8',
    ],
    [
      'negative label',
      () => buildTargets(anchors, Float32Array.from([0, 0, 1, 1]), Int32Array.from([-1]), 2),
      'RangeError',
      'Expected labels ≥ 0 for gtLabels but received -1',
    ],
    [
      'gtLabels length',
      () => buildTargets(anchors, Float32Array.from([0, 0, 1, 1]), new Int32Array(2), 2),
      'TypeError',
      'Expected Int32Array of length 1 (one per gt box) for gtLabels but received Int32Array of length 2',
    ],
    [
      'unknown target option',
      () => buildTargets(anchors, new Float32Array(0), new Int32Array(0), 2, { iou: 0.5 } as never),
      'TypeError',
      '',
    ],
  ];
  for (const [what, fn, type, message] of cases) {
    const err = t.throws(fn, undefined, what);
    t.is(err?.constructor.name, type, what);
    if (message) t.is(err?.message, message, what);
    else t.regex(err?.message ?? '', /options/, what);
  }
});
