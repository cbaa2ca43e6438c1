// lib/binding.ts: when no binary loads, one error lists platform/arch, every cause and the fixes, and the
// TypeScript ops still work. Runs a child process so the real loader is exercised, with the addon hidden.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('no loadable binary: one error with platform, causes and fixes; ops fall back to TypeScript', (t) => {
  // A copy of lib/ with no prebuilds/ or build/ next to it, so node-gyp-build finds nothing.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-loader-'));
  try {
    fs.cpSync(path.join(root, 'lib'), path.join(dir, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ssd-edge', type: 'module' }));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const script = `
      import { backend, bindingError, nms, capabilities } from './lib/index.ts';
      import { requireBinding } from './lib/binding.ts';
      let thrown = '';
      try { requireBinding(); } catch (e) { thrown = e.message; }
      const keep = nms(new Float32Array([0,0,10,10, 1,1,10,10]), new Float32Array([0.9, 0.8]), 0.5);
      console.log(JSON.stringify({ backend, message: bindingError && bindingError.message, thrown, keep: [...keep], caps: capabilities() }));`;
    const r = spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, SSD_EDGE_FORCE_TS: '' },
    });
    t.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    t.is(out.backend, 'typescript');
    t.is(out.thrown, out.message);
    t.true(out.message.includes(`${process.platform}-${process.arch}`), out.message);
    t.regex(out.message, /node-gyp-build/);
    t.regex(out.message, /npm rebuild ssd-edge/);
    t.regex(out.message, /cmake-js/);
    t.deepEqual(out.keep, [0]);
    t.is(out.caps.active, 'typescript');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
