// CMakeLists.txt (cmake-js, development: the ssd_core static library + the addon glue) and binding.gyp (node-gyp,
// prebuildify) must compile the same sources, and every .cc under native/ (except the plain C++ tests and the fuzz
// harness) must be in them; ssd_core holds exactly native/core + native/simd (no N-API).
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cmakeList(name: string): string[] {
  const text = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const block = new RegExp(`set\\(${name}([\\s\\S]*?)\\)`).exec(text);
  if (!block) throw new Error(`${name} not found in CMakeLists.txt`);
  return block[1].split(/\s+/).filter(Boolean).sort();
}

function cmakeSources(): string[] {
  return [...cmakeList('SSD_CORE_SOURCES'), ...cmakeList('SSD_ADDON_SOURCES')].sort();
}

function gypSources(): string[] {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as {
    targets: Array<{ sources: string[] }>;
  };
  return [...gyp.targets[0].sources].sort();
}

function nativeSources(dir = 'native'): string[] {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) return rel === 'native/tests' || rel === 'native/fuzz' ? [] : nativeSources(rel);
      return rel.endsWith('.cc') ? [rel] : [];
    })
    .sort();
}

test('CMakeLists.txt and binding.gyp compile the same source list', (t) => {
  t.deepEqual(cmakeSources(), gypSources());
});

test('every native/*.cc outside native/tests and native/fuzz is built', (t) => {
  t.deepEqual(gypSources(), nativeSources());
});

test('ssd_core is native/core + native/simd, the addon list is native/addon, and the C++ tests link ssd_core', (t) => {
  t.deepEqual(cmakeList('SSD_CORE_SOURCES'), [...nativeSources('native/core'), ...nativeSources('native/simd')].sort());
  t.deepEqual(cmakeList('SSD_ADDON_SOURCES'), nativeSources('native/addon'));
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  t.regex(cmake, /add_library\(ssd_core STATIC \$\{SSD_CORE_SOURCES\}\)/);
  t.regex(cmake, /target_link_libraries\(core_test ssd_core\)/);
  t.regex(cmake, /target_link_libraries\(fuzz_replay ssd_core\)/);
  const script = fs.readFileSync(path.join(root, 'scripts/native-tests.mjs'), 'utf8');
  t.false(/CMakeLists/.test(script), 'scripts/native-tests.mjs builds through CMake, it does not parse CMakeLists.txt');
});

test('binding.cc only registers the op wrappers (they live in native/addon/ops_*.cc)', (t) => {
  const binding = fs.readFileSync(path.join(root, 'native/addon/binding.cc'), 'utf8');
  t.false(/Napi::Value \w+\(const Napi::CallbackInfo/.test(binding), 'binding.cc defines no op wrapper');
  const registered = [...binding.matchAll(/exports\.Set\("(\w+)"/g)].map((m) => m[1]);
  t.true(registered.length >= 15, `registers ${registered.length} functions`);
});

test('one name per concept in native/: default boxes (not priors), preprocess (not pixels)', (t) => {
  const files = nativeSources().concat(nativeSources('native/tests'));
  t.false(
    files.some((f) => /priors|pixels/.test(f)),
    files.join(', '),
  );
  for (const f of files) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    t.false(/Prior[A-Z]|prior_|pixels_/.test(text), `${f} uses an old identifier`);
  }
});

test('both builds define the same N-API version and fp-contract setting', (t) => {
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
  for (const token of ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', '-ffp-contract=off']) {
    t.true(cmake.includes(token), `CMakeLists.txt lacks ${token}`);
    t.true(gyp.includes(token), `binding.gyp lacks ${token}`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    binary: { napi_versions: number[] };
  };
  t.deepEqual(pkg.binary.napi_versions, [8]);
});

// ELF e_machine: 62 = x86-64, 183 = AArch64 (little-endian 16-bit at offset 18).
for (const [dir, machine] of [
  ['linux-x64', 62],
  ['linux-arm64', 183],
] as const) {
  test(`a ${dir} prebuild is committed and is an ELF shared object for that CPU`, (t) => {
    const file = path.join(root, 'prebuilds', dir, 'ssd-edge.node');
    t.true(fs.existsSync(file), `${file} is missing: npm run prebuild${dir === 'linux-arm64' ? ':arm64' : ''}`);
    const head = fs.readFileSync(file).subarray(0, 20);
    t.deepEqual([...head.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
    t.is(head.readUInt16LE(18), machine);
  });
}
