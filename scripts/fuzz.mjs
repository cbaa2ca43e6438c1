#!/usr/bin/env node
// `npm run fuzz`: builds one libFuzzer binary per core entry point (native/fuzz/targets.h) with Debian's clang
// (-fsanitize=fuzzer,address,undefined) and runs each for FUZZ_SECONDS (default 30) seconds, starting from the
// committed corpus native/fuzz/corpus/<target>/. New inputs go to a temporary folder (the repo corpus stays small);
// a crash is written to native/fuzz/crashes/<target>/ (commit it: the tests replay it) and fails the run.
// FUZZ_TARGETS=nms,iou picks targets; FUZZ_UPDATE_CORPUS=1 replaces each repo corpus with a minimized one capped
// at 32 files and FUZZ_CORPUS_BYTES (default 8192) bytes per target. Prints executions per target.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fuzzDir = path.join(root, 'native/fuzz');
const seconds = Number(process.env.FUZZ_SECONDS ?? 30);
const cxx = process.env.CXX_FUZZ ?? 'clang++';
if (spawnSync('sh', ['-c', `command -v ${cxx}`]).status !== 0) {
  console.error(`fuzz: ${cxx} not found (apt-get install clang)`);
  process.exit(2);
}
const header = fs.readFileSync(path.join(fuzzDir, 'targets.h'), 'utf8');
const all = [...header.matchAll(/^int (\w+)\(const uint8_t\* data, size_t size\);$/gm)].map((m) => m[1]);
const targets = process.env.FUZZ_TARGETS ? process.env.FUZZ_TARGETS.split(',') : all;
for (const t of targets) if (!all.includes(t)) throw new Error(`unknown fuzz target ${t}; known: ${all.join(', ')}`);

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssd-edge-fuzz-'));
const flags = ['-std=c++17', '-O1', '-g', '-ffp-contract=off', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
const sources = ['native/core', 'native/simd'].flatMap((d) =>
  fs
    .readdirSync(path.join(root, d))
    .filter((f) => f.endsWith('.cc'))
    .map((f) => path.join(root, d, f)),
);
// The core and the target table once (instrumented, not linked to libFuzzer's main), then one link per target.
const objects = [...sources, path.join(fuzzDir, 'targets.cc')].map((src, i) => {
  const obj = path.join(out, `${i}_${path.basename(src, '.cc')}.o`);
  execFileSync(cxx, [...flags, '-fsanitize=fuzzer-no-link,address,undefined', '-c', src, '-o', obj], {
    stdio: 'inherit',
  });
  return obj;
});

let failed = 0;
const rows = [];
for (const t of targets) {
  const exe = path.join(out, `fuzz_${t}`);
  execFileSync(
    cxx,
    [
      ...flags,
      '-fsanitize=fuzzer,address,undefined',
      `-DSSD_FUZZ_TARGET=${t}`,
      path.join(fuzzDir, 'libfuzzer_main.cc'),
      ...objects,
      '-o',
      exe,
    ],
    { stdio: 'inherit' },
  );
  const corpus = path.join(fuzzDir, 'corpus', t);
  const crashes = path.join(fuzzDir, 'crashes', t);
  fs.mkdirSync(corpus, { recursive: true });
  fs.mkdirSync(crashes, { recursive: true });
  const work = path.join(out, `corpus_${t}`);
  fs.mkdirSync(work);
  const r = spawnSync(
    exe,
    [
      `-max_total_time=${seconds}`,
      '-print_final_stats=1',
      '-max_len=4096',
      '-timeout=10',
      '-rss_limit_mb=2048',
      `-artifact_prefix=${crashes}/`,
      work,
      corpus,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const log = (r.stdout ?? '') + (r.stderr ?? '');
  const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(log)?.[1] ?? '?';
  const cov = [...log.matchAll(/cov: (\d+)/g)].at(-1)?.[1] ?? '?';
  const ok = r.status === 0;
  if (!ok) {
    failed++;
    console.log(
      log
        .split('\n')
        .filter((l) => /ERROR|SUMMARY|invariant|Test unit written|runtime error/.test(l))
        .join('\n'),
    );
  }
  rows.push(
    `${t.padEnd(14)} ${String(execs).padStart(10)} executions  cov ${cov}  ${ok ? 'ok' : 'CRASH (reproducer in native/fuzz/crashes/' + t + '/)'}`,
  );
  console.log(rows.at(-1));
  if (process.env.FUZZ_UPDATE_CORPUS === '1' && ok) {
    const merged = path.join(out, `merged_${t}`);
    fs.mkdirSync(merged);
    spawnSync(exe, ['-merge=1', merged, corpus, work], { encoding: 'utf8' });
    // Largest first (they reach deeper into the ops), none over 1 KB; names (content hashes) break ties.
    const files = fs
      .readdirSync(merged)
      .sort()
      .map((f) => ({ f, size: fs.statSync(path.join(merged, f)).size }))
      .filter((x) => x.size <= 1024)
      .sort((a, b) => b.size - a.size);
    const cap = Number(process.env.FUZZ_CORPUS_BYTES ?? 8192);
    for (const f of fs.readdirSync(corpus)) fs.rmSync(path.join(corpus, f));
    let bytes = 0,
      count = 0;
    for (const { f, size } of files) {
      if (count >= 32 || bytes + size > cap) continue;
      fs.copyFileSync(path.join(merged, f), path.join(corpus, f));
      bytes += size;
      count++;
    }
  }
}
fs.rmSync(out, { recursive: true, force: true });
console.log(`\nfuzz: ${targets.length} targets × ${seconds} s\n${rows.join('\n')}`);
process.exit(failed ? 1 : 0);
