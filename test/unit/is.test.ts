/**
 * lib/is.ts: values are described without running Proxy traps, and the typed-array guards see through a Proxy
 * (`instanceof` says yes, V8's intrinsics say "incompatible receiver") and a detached buffer (length 0, copies throw
 * "Cannot perform Construct on a detached ArrayBuffer"), so every op reports them in its own words.
 */
import test from 'ava';
import vm from 'node:vm';
import {
  assertFloat32Array,
  assertFloat32ArrayLength,
  assertInt32Array,
  assertKnownKeys,
  describe,
  detached,
  typedArrayKind,
  typedArrayOf,
} from '../../lib/is.ts';

function detachedF32(n: number): Float32Array {
  const a = new Float32Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

test('describe names Proxies and detached typed arrays, and still describes everything else', (t) => {
  let trapped = 0;
  const trap = new Proxy(new Float32Array(4), {
    get: () => {
      trapped++;
      return 0;
    },
    getPrototypeOf: () => {
      trapped++;
      return null;
    },
  });
  t.is(describe(trap), 'Proxy');
  t.is(trapped, 0);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  t.is(describe(proxy), 'Proxy');
  t.is(describe(new Proxy(() => 0, {})), 'Proxy (function)');
  t.is(describe(detachedF32(8)), 'detached Float32Array');
  t.is(describe(new Float32Array(7)), 'Float32Array of length 7');
  t.is(describe(new Float32Array(0)), 'Float32Array of length 0');
  t.is(describe(Buffer.alloc(3)), 'Buffer of length 3');
  t.is(describe([1, 2]), 'Array of length 2');
  t.is(describe(NaN), 'NaN');
  t.is(describe('xy'), '"xy"');
  t.is(describe(new Map()), 'Map object');
  t.is(describe({}), 'object');
});

test('typed-array guards: real arrays of any realm pass, Proxies and detached arrays do not', (t) => {
  const real = new Float32Array(8);
  t.true(typedArrayOf(real, Float32Array));
  t.true(typedArrayOf(new Float32Array(0), Float32Array)); // empty is not detached
  t.true(typedArrayOf(vm.runInNewContext('new Float32Array(4)'), Float32Array));
  t.false(typedArrayOf(new Float64Array(8), Float32Array));
  t.false(typedArrayOf(new Proxy(real, {}), Float32Array));
  t.true(new Proxy(real, {}) instanceof Float32Array); // why instanceof is not enough
  t.false(typedArrayOf(detachedF32(8), Float32Array));
  t.true(detached(detachedF32(4)));
  t.false(detached(new Float32Array(0)));
  t.false(detached(new Float32Array(new SharedArrayBuffer(0))));
  t.is(typedArrayKind(Buffer.alloc(1)), 'Uint8Array');
  t.is(typedArrayKind({ [Symbol.toStringTag]: 'Float32Array' }), undefined);
});

test('assertions report a Proxy or a detached array in the usual message', (t) => {
  t.throws(() => assertFloat32Array('boxes', new Proxy(new Float32Array(8), {}), 4), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N for boxes but received Proxy',
  });
  t.throws(() => assertFloat32Array('boxes', detachedF32(8), 4), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 4·N for boxes but received detached Float32Array',
  });
  t.throws(() => assertFloat32ArrayLength('scores', detachedF32(2), 2, 'one per box'), {
    instanceOf: TypeError,
    message: 'Expected Float32Array of length 2 (one per box) for scores but received detached Float32Array',
  });
  t.throws(() => assertInt32Array('classIds', new Proxy(new Int32Array(2), {}), 2, 'one per box'), {
    instanceOf: TypeError,
    message: 'Expected Int32Array of length 2 (one per box) for classIds but received Proxy',
  });
});

test('assertKnownKeys names the unknown key and lists the valid ones', (t) => {
  t.throws(() => assertKnownKeys('options', { threshold: 0.1 }, ['scoreThreshold', 'iouThreshold']), {
    instanceOf: TypeError,
    message: "Unknown key 'threshold' in options: expected one of 'scoreThreshold', 'iouThreshold'",
  });
  t.notThrows(() => assertKnownKeys('options', { scoreThreshold: 0.1 }, ['scoreThreshold']));
  t.notThrows(() => assertKnownKeys('options', undefined, ['scoreThreshold']));
});
