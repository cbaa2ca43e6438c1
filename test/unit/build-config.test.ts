// CMakeLists.txt (cmake-js, development) and binding.gyp (node-gyp, prebuildify) must compile the same sources,
// and every .cc under native/ (except the plain C++ tests) must be in them.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cmakeSources(): string[] {
  const text = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const block = /set\(SSD_EDGE_SOURCES([\s\S]*?)\)/.exec(text);
  if (!block) throw new Error('SSD_EDGE_SOURCES not found in CMakeLists.txt');
  return block[1].split(/\s+/).filter(Boolean).sort();
}

function gypSources(): string[] {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: Array<{ sources: string[] }> };
  return [...gyp.targets[0].sources].sort();
}

function nativeSources(dir = 'native'): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return rel === 'native/tests' ? [] : nativeSources(rel);
    return rel.endsWith('.cc') ? [rel] : [];
  }).sort();
}

test('CMakeLists.txt and binding.gyp compile the same source list', (t) => {
  t.deepEqual(cmakeSources(), gypSources());
});

test('every native/*.cc outside native/tests is built', (t) => {
  t.deepEqual(gypSources(), nativeSources());
});

test('both builds define the same N-API version and fp-contract setting', (t) => {
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  for (const token of ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', '-ffp-contract=off']) {
    t.true(cmake.includes(token), `CMakeLists.txt lacks ${token}`);
    t.true(gyp.includes(token), `binding.gyp lacks ${token}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { binary: { napi_versions: number[] } };
  t.deepEqual(pkg.binary.napi_versions, [8]);
});

// ELF e_machine: 62 = x86-64, 183 = AArch64 (little-endian 16-bit at offset 18).
for (const [dir, machine] of [['linux-x64', 62], ['linux-arm64', 183]] as const) {
  test(`a ${dir} prebuild is committed and is an ELF shared object for that CPU`, (t) => {
    const file = path.join(root, 'prebuilds', dir, 'ssd-edge.node');
    t.true(fs.existsSync(file), `${file} is missing: npm run prebuild${dir === 'linux-arm64' ? ':arm64' : ''}`);
    const head = fs.readFileSync(file).subarray(0, 20);
    t.deepEqual([...head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    t.is(head.readUInt16LE(18), machine);
  });
}
