/**
 * Errors thrown inside the ONNX Runtime worker reach the caller with their class (TypeError, RangeError, Error), their
 * message and their `code`, instead of all becoming a plain Error.
 */
import test from 'ava';
import { ortEntry } from '../../../lib/runtime/ort.ts';
import { errorFromWire, errorToWire, WorkerOrtSession } from '../../../lib/runtime/worker-session.ts';

/** What crosses the thread: the wire form after a structured clone (as postMessage does). */
const roundTrip = (err: unknown) => errorFromWire(structuredClone(errorToWire(err)));

test('errorToWire → structured clone → errorFromWire keeps class, message and code', (t) => {
  const type = roundTrip(new TypeError('Expected number for x but received "a"'));
  t.true(type instanceof TypeError);
  t.is(type.name, 'TypeError');
  t.is(type.message, 'Expected number for x but received "a"');
  const range = roundTrip(new RangeError('Expected number in [0, 1] for iouThreshold but received 2'));
  t.true(range instanceof RangeError);
  t.is(range.message, 'Expected number in [0, 1] for iouThreshold but received 2');
  const plain = roundTrip(new Error('boom'));
  t.is(Object.getPrototypeOf(plain), Error.prototype);
  const fsError = Object.assign(new Error("ENOENT: no such file or directory, open 'x.onnx'"), { code: 'ENOENT' });
  const io = roundTrip(fsError);
  t.is((io as Error & { code?: string }).code, 'ENOENT');
  t.is(io.message, fsError.message);
  t.false('code' in roundTrip(new Error('no code')));
  // A custom class: an Error that keeps the name.
  class ModelFileError extends Error {
    override name = 'ModelFileError';
  }
  const custom = roundTrip(new ModelFileError('bad model'));
  t.is(Object.getPrototypeOf(custom), Error.prototype);
  t.is(custom.name, 'ModelFileError');
  // Not an Error at all.
  t.like(roundTrip('a string'), { name: 'Error', message: 'a string' });
  // The name cannot reach Object.prototype members.
  t.is(Object.getPrototypeOf(errorFromWire({ name: 'constructor', message: 'm' })), Error.prototype);
});

test('a TypeError thrown in the worker thread rejects as a TypeError on this thread', async (t) => {
  // onnxruntime-common throws TypeError("Unexpected argument[0]: must be 'path' or 'buffer'.") for a model that is
  // neither, inside the worker.
  const err = await t.throwsAsync(WorkerOrtSession.create(42 as never, {}, ortEntry()), {
    message: /Unexpected argument\[0\]/,
  });
  t.true(err instanceof TypeError, `got ${Object.getPrototypeOf(err)?.constructor?.name}`);
  // A missing file: ORT's own (plain) Error stays an Error.
  const missing = await t.throwsAsync(WorkerOrtSession.create('/nonexistent/model.onnx', {}, ortEntry()));
  t.is(missing?.constructor, Error);
});
