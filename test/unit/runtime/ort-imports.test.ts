/**
 * ONNX Runtime stays inside lib/runtime/: no other file of lib/ imports or requires onnxruntime-node (types
 * included), so the rest of the SDK speaks plain `{ data, dims }` tensors and a user-built runtime (SSD_EDGE_ORT)
 * replaces the bundled one in one place.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../lib');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|js|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

// import … from 'onnxruntime-node', import('onnxruntime-node'), require('onnxruntime-node'), export … from, subpaths too.
const IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)['"]onnxruntime-(?:node|common)(?:\/[^'"]*)?['"]/;

test('no file outside lib/runtime/ imports onnxruntime-node', (t) => {
  const files = sources(lib);
  t.true(files.length > 20, 'found the sources');
  const offenders = files.filter(
    (f) => !f.startsWith(path.join(lib, 'runtime') + path.sep) && IMPORT.test(fs.readFileSync(f, 'utf8')),
  );
  t.deepEqual(
    offenders.map((f) => path.relative(lib, f)),
    [],
  );
});

test('the pattern catches every import form (checked on samples)', (t) => {
  for (const s of [
    "import * as ort from 'onnxruntime-node';",
    'import type { Tensor } from "onnxruntime-node";',
    "const o = await import('onnxruntime-node');",
    "const o = require('onnxruntime-node');",
    "export { Tensor } from 'onnxruntime-common';",
    "import 'onnxruntime-node/dist/binding.js';",
  ])
    t.true(IMPORT.test(s), s);
  for (const s of ['// onnxruntime-node runs a forward pass synchronously', "const name = 'onnxruntime-node-standin';"])
    t.false(IMPORT.test(s), s);
});

test('only lib/runtime/ort.ts loads onnxruntime-node at run time (the others in lib/runtime take types only)', (t) => {
  const runtime = sources(path.join(lib, 'runtime'));
  const valueImports = runtime.filter(
    (f) =>
      /^\s*import\s+(?!type\b)[^;]*['"]onnxruntime-node['"]/m.test(fs.readFileSync(f, 'utf8')) ||
      /require\(\s*['"]onnxruntime-node['"]\s*\)/.test(fs.readFileSync(f, 'utf8')),
  );
  t.deepEqual(
    valueImports.map((f) => path.relative(lib, f)),
    [],
  );
  t.regex(fs.readFileSync(path.join(lib, 'runtime', 'ort.ts'), 'utf8'), /require\.resolve\('onnxruntime-node'\)/);
});
