/**
 * Which implementation runs the ops. CI builds the addon, so outside SSD_EDGE_FORCE_TS=1 the backend must be
 * native (this test fails until the addon builds and loads — intended).
 */
import test from 'ava';
import { backend, bindingError, capabilities } from '../../../lib/index.ts';

const forced = process.env.SSD_EDGE_FORCE_TS === '1';

if (forced) {
  test('SSD_EDGE_FORCE_TS=1: backend is typescript and capabilities() says so', (t) => {
    t.is(backend, 'typescript');
    t.deepEqual(capabilities(), { compiled: ['typescript'], supported: ['typescript'], active: 'typescript' });
    t.regex(bindingError?.message ?? '', /SSD_EDGE_FORCE_TS=1/);
  });
} else {
  test("backend is 'native' (the addon must be built and load; run with SSD_EDGE_FORCE_TS=1 to test the TS path)", (t) => {
    t.is(backend, 'native', `addon did not load:\n${bindingError?.message}`);
  });
}

test('capabilities(): scalar is always compiled and supported when native; active is one of supported', (t) => {
  const caps = capabilities();
  t.true(caps.supported.includes(caps.active as never));
  for (const level of caps.supported)
    t.true(caps.compiled.includes(level as never), `${level} supported but not compiled`);
  if (backend === 'native') {
    t.true(caps.compiled.includes('scalar' as never));
    t.true(caps.supported.includes('scalar' as never));
  }
});
