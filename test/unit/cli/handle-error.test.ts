/**
 * lib/cli/handle-error.ts: `SSD_EDGE_DEBUG` is on only for a non-empty value other than '0' / 'false' (`=0` used to
 * turn stacks on); checked on the function and on the CLI's stderr.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debugEnabled } from '../../../lib/cli/handle-error.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('debugEnabled: only non-empty values other than 0 / false', (t) => {
  for (const off of [undefined, '', '  ', '0', 'false', 'FALSE', ' 0 '])
    t.false(debugEnabled(off), JSON.stringify(off));
  for (const on of ['1', 'true', 'yes', '2', 'on']) t.true(debugEnabled(on), on);
});

/** stderr of `ssd-edge model inspect <missing file>` with SSD_EDGE_DEBUG set to `value`. */
function stderrWith(value: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import=tsx', 'lib/cli/index.ts', 'model', 'inspect', path.join(root, 'no-such-model.onnx')],
      { cwd: root, env: { ...process.env, SSD_EDGE_DEBUG: value } },
      (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

test('the CLI prints one line with SSD_EDGE_DEBUG=0 and a stack with SSD_EDGE_DEBUG=1', async (t) => {
  const [off, on] = await Promise.all([stderrWith('0'), stderrWith('1')]);
  t.is(off.code, 1);
  const offLines = off.stderr.split('\n').filter(Boolean);
  t.is(offLines.length, 1, off.stderr);
  t.regex(offLines[0], /^ssd-edge: .*no-such-model\.onnx/);
  t.is(on.code, 1);
  t.true(on.stderr.startsWith(`${offLines[0]}\n`), on.stderr);
  t.regex(on.stderr, /\n\s+at /, 'a stack trace follows with SSD_EDGE_DEBUG=1');
});
