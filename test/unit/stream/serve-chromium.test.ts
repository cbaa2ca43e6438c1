/**
 * The live preview page in a real browser: Debian's headless Chromium (`/usr/bin/chromium`, or $CHROMIUM_PATH) driven
 * by playwright-core (never a downloaded browser). While frames are pushed at 10 fps, the page must show the MJPEG
 * frames (a screenshot of the video element that is not blank, with exactly as many drawn boxes as were pushed,
 * counted in its pixels), the detection count and table from the server-sent events, and the stats.
 * Skipped, with the reason printed, when Chromium or playwright-core is absent.
 */
import test from 'ava';
import fs from 'node:fs';
import { decodeImage } from '../../../lib/image/decode.ts';
import { PALETTE } from '../../../lib/image/draw.ts';
import { createPreviewServer, type PreviewDetection } from '../../../lib/stream/serve.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Playwright = typeof import('playwright-core');
let playwright: Playwright | null = null;
let skipReason = '';
if (!fs.existsSync(CHROMIUM))
  skipReason = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
else {
  try {
    playwright = await import('playwright-core');
  } catch {
    skipReason = 'playwright-core is not installed (npm install --no-save playwright-core)';
  }
}

/** A 480×320 RGB frame: a vertical blue-grey ramp (no orange anywhere). */
function frame(width = 480, height = 320) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const v = 50 + Math.floor((120 * y) / height);
    for (let x = 0; x < width; x++) data.set([v - 20, v, v + 30], (y * width + x) * 3);
  }
  return { data, width, height, channels: 3 as const };
}

/** Connected regions (4-neighbour) of pixels within `tol` of `hex`, with at least `minPixels` pixels. */
function countRegions(
  img: { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: number },
  hex: string,
  tol: number,
  minPixels: number,
): number {
  const want = [1, 3, 5].map((k) => parseInt(hex.slice(k, k + 2), 16));
  const { width, height, channels } = img;
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < width * height; p++) {
    mask[p] = [0, 1, 2].every((c) => Math.abs(img.data[p * channels + c] - want[c]) <= tol) ? 1 : 0;
  }
  let regions = 0;
  const stack: number[] = [];
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] !== 1) continue;
    let size = 0;
    mask[p] = 2;
    stack.push(p);
    while (stack.length) {
      const q = stack.pop()!;
      size++;
      const x = q % width;
      for (const r of [q - width, q + width, x > 0 ? q - 1 : -1, x < width - 1 ? q + 1 : -1]) {
        if (r >= 0 && r < mask.length && mask[r] === 1) {
          mask[r] = 2;
          stack.push(r);
        }
      }
    }
    if (size >= minPixels) regions++;
  }
  return regions;
}

if (!playwright) {
  console.log(`serve-chromium.test.ts: skipped: ${skipReason}`);
  test.skip(`the preview page in headless Chromium (skipped: ${skipReason})`, () => {});
} else {
  const pw = playwright;
  test('the preview page in headless Chromium shows the annotated frames, the detections and the stats', async (t) => {
    const server = await createPreviewServer({ quality: 90 });
    const browser = await pw.chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    t.teardown(async () => {
      await browser.close();
      await server.close();
    });
    // Three people 140 px apart with track ids, moving 2 px per frame.
    let n = 0;
    const detections = (): PreviewDetection[] =>
      [0, 1, 2].map((k) => ({
        label: 'person',
        classId: 1,
        score: 0.9 - 0.1 * k,
        trackId: 11 + k,
        box: { x1: 30 + 140 * k + (n % 10) * 2, y1: 80, x2: 110 + 140 * k + (n % 10) * 2, y2: 260 },
      }));
    const push = () => {
      n++;
      server.pushFrame(
        frame(),
        detections(),
        { inputFps: 10, processedFps: 10, latencyMs: { p50: 12, p95: 20 } },
        {
          frame: 100 + n,
        },
      );
    };
    push();
    const timer = setInterval(push, 100);
    t.teardown(() => clearInterval(timer));

    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(server.url);
    await page.waitForFunction(() => Number(document.getElementById('events')?.textContent) >= 5, null, {
      timeout: 20_000,
    });
    await page.waitForFunction(
      () => {
        const img = document.getElementById('video') as HTMLImageElement | null;
        return img?.complete === true && img.naturalWidth === 480;
      },
      null,
      { timeout: 20_000 },
    );
    t.is(await page.textContent('#state'), 'live');
    t.is(await page.textContent('#count'), '3', 'the detection count shown equals what was pushed');
    const rows = await page.$$eval('#detections tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    t.deepEqual(
      rows.map((r) => [r[0], r[1], r[2]]),
      [
        ['11', 'person', '0.900'],
        ['12', 'person', '0.800'],
        ['13', 'person', '0.700'],
      ],
    );
    const stats = await page.$$eval('#stats dt', (dts) => dts.map((dt) => dt.textContent));
    t.deepEqual(stats, ['inputFps', 'processedFps', 'latencyMs.p50', 'latencyMs.p95']);
    t.true(Number(await page.textContent('#frame')) > 100, 'the frame number given with the frame');

    const png = await page.locator('#video').screenshot();
    if (process.env.SSD_EDGE_KEEP_SCREENSHOT) fs.writeFileSync(process.env.SSD_EDGE_KEEP_SCREENSHOT, png);
    const shot = await decodeImage(png);
    // The element's box, rounded to device pixels (its top may sit at a fractional offset).
    t.true(Math.abs(shot.width - 480) <= 1 && Math.abs(shot.height - 320) <= 1, `${shot.width}×${shot.height}`);
    // Not blank: the ramp spans ~120 grey levels; a blank or broken image is one colour.
    let lo = 255;
    let hi = 0;
    for (let p = 0; p < shot.width * shot.height; p++) {
      const g = shot.data[p * shot.channels + 1];
      lo = Math.min(lo, g);
      hi = Math.max(hi, g);
    }
    t.true(hi - lo > 80, `green range ${lo}..${hi}`);
    // Each drawn box + its label tag is one orange region: as many regions as detections pushed.
    const regions = countRegions(shot, PALETTE[1], 50, 200);
    t.is(regions, 3, 'drawn boxes counted in the screenshot');
    t.is(countRegions(frame(), PALETTE[1], 50, 200), 0, 'control: the frame itself has no orange region');
    if (process.env.SSD_EDGE_KEEP_SCREENSHOT)
      await page.screenshot({ path: `${process.env.SSD_EDGE_KEEP_SCREENSHOT}.page.png` });
    t.true(server.status().framesSent >= 1);
    await page.close();
  });
}
