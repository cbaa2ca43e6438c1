/** CLI output helpers: tables, JSON at full precision, the result printer's three formats and its error lines. */
import test from 'ava';
import { formatTable, ResultPrinter, toJson, type CliIo } from '../../../lib/cli/output.ts';

function sink(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    errIsTTY: false,
    out: (s: string) => void (io.stdout += s),
    err: (s: string) => void (io.stderr += s),
  };
  return io;
}

test('formatTable pads columns and right-aligns numeric ones', (t) => {
  t.is(
    formatTable(
      [
        ['FILE', 'SCORE', 'NOTE'],
        ['a.jpg', '0.9', 'x'],
        ['long.jpg', '0.25', ''],
      ],
      new Set([1]),
    ),
    'FILE      SCORE  NOTE\na.jpg       0.9  x\nlong.jpg   0.25',
  );
  t.is(formatTable([]), '');
});

test('toJson keeps every digit and writes non-finite numbers as strings', (t) => {
  const v = Math.fround(181.1181);
  t.is(JSON.parse(toJson({ v })).v, v);
  t.is(toJson([Infinity, -Infinity, NaN, 0.1]), '["Infinity","-Infinity","NaN",0.1]');
});

test('ResultPrinter: jsonl prints as results arrive, json and table at the end; errors on stderr', (t) => {
  const table = (rs: readonly { n: number }[]) => rs.map((r) => `row ${r.n}`).join('\n');
  const jsonl = sink();
  const p1 = new ResultPrinter('jsonl', table, 3, jsonl);
  p1.add({ n: 1 }, 'a');
  t.is(jsonl.stdout, '{"n":1}\n');
  p1.error('Cannot write b: no space left on device (ENOSPC)');
  p1.add({ n: 2 }, 'b');
  p1.end();
  t.is(jsonl.stdout, '{"n":1}\n{"n":2}\n');
  t.is(jsonl.stderr, 'ssd-edge: Cannot write b: no space left on device (ENOSPC)\n');

  const json = sink();
  const p2 = new ResultPrinter('json', table, 2, json);
  p2.add({ n: 1 }, 'a');
  t.is(json.stdout, '');
  p2.end();
  t.deepEqual(JSON.parse(json.stdout), [{ n: 1 }]);
  const empty = sink();
  new ResultPrinter('json', table, 1, empty).end();
  t.is(empty.stdout, '[]\n');

  const tab = sink();
  const p3 = new ResultPrinter('table', table, 2, tab);
  p3.add({ n: 1 }, 'a');
  p3.add({ n: 2 }, 'b');
  p3.end();
  t.is(tab.stdout, 'row 1\nrow 2\n');
  const none = sink();
  new ResultPrinter('table', table, 1, none).end();
  t.is(none.stdout, '');
});

test('the progress bar appears only on a terminal and is erased before error lines', (t) => {
  const io = { ...sink(), errIsTTY: true };
  let err = '';
  io.err = (s: string) => void (err += s);
  const p = new ResultPrinter('json', () => '', 2, io);
  p.add({}, 'a.jpg');
  t.regex(err, /\[#{12}\.{12}\] 1\/2 a\.jpg/);
  p.error('boom');
  t.regex(err, /\r {19,}\rssd-edge: boom\n$/);
});
