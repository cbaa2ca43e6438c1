#!/usr/bin/env node
// Builds the CMake target `ssd_core` (native/core + native/simd, no Node, no N-API) with the plain C++ tests that
// link it (core_test, and fuzz_replay over the committed fuzz corpus and crash reproducers, native/fuzz/), and runs
// them: on the host under AddressSanitizer + UndefinedBehaviorSanitizer, and for linux-arm64 (NEON) under qemu
// when aarch64-linux-gnu-g++ and qemu-aarch64(-static) are installed. Exit code non-zero on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-native-'));
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (!has('cmake')) {
  console.error('native tests: cmake not found (apt-get install cmake)');
  process.exit(1);
}
const flags = ['-O2', '-ffp-contract=off', '-Wall', '-Wextra'];

// Host build runs under AddressSanitizer + UndefinedBehaviorSanitizer (any report fails the run).
const sanitize = [
  '-fsanitize=address,undefined,float-cast-overflow',
  '-fno-sanitize-recover=all',
  '-fno-omit-frame-pointer',
];
const targets = [
  { name: `${os.arch()} (ASan+UBSan)`, cxx: 'g++', run: [], cxxflags: [...flags, ...sanitize], ldflags: sanitize },
];
const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find(has);
if (os.arch() === 'x64' && has('aarch64-linux-gnu-g++') && qemu) {
  targets.push({
    name: 'arm64 (qemu)',
    cxx: 'aarch64-linux-gnu-g++',
    run: [qemu, '-L', '/usr/aarch64-linux-gnu'],
    cxxflags: flags,
    ldflags: ['-static'],
    cmake: ['-DCMAKE_SYSTEM_NAME=Linux', '-DCMAKE_SYSTEM_PROCESSOR=aarch64'],
  });
} else if (os.arch() === 'x64') {
  console.log('arm64: skipped (install g++-aarch64-linux-gnu and qemu-user-static to run the NEON variant)');
}

let failed = 0;
for (const t of targets) {
  const dir = path.join(out, t.cxx);
  execFileSync(
    'cmake',
    [
      '-S',
      root,
      '-B',
      dir,
      '-DSSD_EDGE_TESTS=ON',
      '-DCMAKE_BUILD_TYPE=None',
      `-DCMAKE_CXX_COMPILER=${t.cxx}`,
      `-DCMAKE_CXX_FLAGS=${t.cxxflags.join(' ')}`,
      `-DCMAKE_EXE_LINKER_FLAGS=${t.ldflags.join(' ')}`,
      ...(t.cmake ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  execFileSync(
    'cmake',
    ['--build', dir, '--target', 'core_test', 'fuzz_replay', '-j', String(os.availableParallelism?.() ?? 2)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  console.log(`# ${t.name}`);
  for (const [exe, ...args] of [
    [path.join(dir, 'core_test')],
    [path.join(dir, 'fuzz_replay'), path.join(root, 'native/fuzz')],
  ]) {
    const [cmd, ...rest] = t.run.length ? [...t.run, exe, ...args] : [exe, ...args];
    const r = spawnSync(cmd, rest, { stdio: 'inherit' });
    if (r.status !== 0) failed++;
  }
}
fs.rmSync(out, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
