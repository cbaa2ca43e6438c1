/**
 * One "disposed" message: a run on a disposed session says SESSION_DISPOSED (lib/runtime/messages.ts), whether the
 * session runs in this thread or in a worker (whose own answer, after a release, is checked here at the message level).
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { SESSION_DISPOSED } from '../../../lib/runtime/messages.ts';
import { ortEntry } from '../../../lib/runtime/ort.ts';
import { Session } from '../../../lib/runtime/session.ts';
import { workerEntry } from '../../../lib/runtime/worker-session.ts';
import { writeTinyDecodedModel } from '../../helpers/tiny-detector-model.ts';

const model = writeTinyDecodedModel();
const feeds = () => ({ image: { data: new Float32Array(3 * 8 * 8), dims: [1, 3, 8, 8] } });

test('a run after release: the worker answers with the message an in-process session throws', async (t) => {
  t.is(SESSION_DISPOSED, 'Session is disposed');
  const s = await Session.create(model, { device: 'cpu' });
  await s.dispose();
  await t.throwsAsync(s.run(feeds()), { message: SESSION_DISPOSED });

  const { source, eval: isEval } = workerEntry();
  const worker = new Worker(source, { eval: isEval, workerData: { ortEntry: ortEntry() }, execArgv: [] });
  t.teardown(() => worker.terminate());
  const answer = (msg: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(msg);
    });
  t.like(await answer({ id: 1, type: 'create', model, options: {} }), { id: 1, ok: true });
  const ran = await answer({ id: 2, type: 'run', feeds: { image: { type: 'float32', ...feeds().image } } });
  t.like(ran, { id: 2, ok: true }, String(ran.message));
  t.like(await answer({ id: 3, type: 'release' }), { id: 3, ok: true });
  t.deepEqual(await answer({ id: 4, type: 'run', feeds: { image: { type: 'float32', ...feeds().image } } }), {
    id: 4,
    ok: false,
    error: { name: 'Error', message: SESSION_DISPOSED },
  });
});
