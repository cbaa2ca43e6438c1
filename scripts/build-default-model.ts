/**
 * Build the default model `ssd-mobilenetv1-face` (ONNX) from the face-api weights in node_modules.
 *
 *   node --import=tsx scripts/build-default-model.ts [--out FILE]
 *
 * Default output: $SSD_EDGE_CACHE/models/ssd-mobilenetv1-face.onnx, else
 * ~/.cache/ssd-edge/models/ssd-mobilenetv1-face.onnx (outside the repository; never commit it).
 * Always rebuilds (overwrites). Nothing is downloaded.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { buildDefaultModel } from '../lib/model/zoo.ts';

function parseArgs(argv: string[]): { out?: string } {
  const args: { out?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) args.out = argv[++i];
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: node --import=tsx scripts/build-default-model.ts [--out FILE]');
      process.exit(0);
    } else {
      console.error(`unknown argument: ${argv[i]}`);
      process.exit(2);
    }
  }
  return args;
}

const { out } = parseArgs(process.argv.slice(2));
const t0 = performance.now();
const result = await buildDefaultModel({ outPath: out });
const ms = performance.now() - t0;
const sha256 = createHash('sha256').update(fs.readFileSync(result.path)).digest('hex');
console.log(`wrote ${result.path}`);
console.log(`  ${(result.bytes / 1e6).toFixed(2)} MB, ${ms.toFixed(0)} ms, sha256 ${sha256}`);
