#!/usr/bin/env node
// Builds native/tests/core_test.cc against the core sources listed in CMakeLists.txt (no Node, no N-API) and
// runs it: on the host, and for linux-arm64 (NEON) under qemu when aarch64-linux-gnu-g++ and qemu-aarch64(-static)
// are installed. Exit code non-zero on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
const sources = [...cmake.matchAll(/^\s+(native\/(?:core|simd)\/\S+\.cc)$/gm)].map((m) => path.join(root, m[1]));
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-native-'));
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const flags = ['-std=c++17', '-O2', '-ffp-contract=off', '-Wall', '-Wextra'];

// Host build runs under AddressSanitizer + UndefinedBehaviorSanitizer (any report fails the run).
const targets = [{ name: `${os.arch()} (ASan+UBSan)`, cxx: 'g++', run: [], extra: ['-fsanitize=address,undefined,float-cast-overflow', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'] }];
const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find(has);
if (os.arch() === 'x64' && has('aarch64-linux-gnu-g++') && qemu) {
  targets.push({ name: 'arm64 (qemu)', cxx: 'aarch64-linux-gnu-g++', run: [qemu, '-L', '/usr/aarch64-linux-gnu'], static: true });
} else if (os.arch() === 'x64') {
  console.log('arm64: skipped (install g++-aarch64-linux-gnu and qemu-user-static to run the NEON variant)');
}

let failed = 0;
for (const t of targets) {
  const exe = path.join(out, `core_test_${t.cxx}`);
  execFileSync(t.cxx, [...flags, ...(t.extra ?? []), ...(t.static ? ['-static'] : []), path.join(root, 'native/tests/core_test.cc'), ...sources, '-o', exe], { stdio: 'inherit' });
  const [cmd, ...args] = t.run.length ? [...t.run, exe] : [exe];
  console.log(`# ${t.name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
fs.rmSync(out, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
