/**
 * tfjs stays off the inference path: the CLI (which registers `train`) and `ssd-edge/train` itself load no
 * `@tensorflow/*` module until training actually starts (checked in a child whose module hooks refuse tfjs, with a
 * positive control: calling loadTf in the same child fails).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function withoutTfjs(body: string) {
  const script = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(\`
      export async function resolve(specifier, context, next) {
        if (specifier.startsWith('@tensorflow/')) throw new Error('tfjs loaded: ' + specifier);
        return next(specifier, context);
      }\`));
    ${body}`;
  return spawnSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
}

test('the CLI program and ssd-edge/train load no tfjs until training starts', (t) => {
  const r = withoutTfjs(`
    const { createProgram } = await import('./lib/cli/program.ts');
    const names = createProgram().commands.map((c) => c.name());
    const train = await import('./lib/train/index.ts');
    train.resolveTrainOptions({ data: 'd.jsonl', classes: ['a'] });
    console.log(JSON.stringify({ names, train: typeof train.train }));`);
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  t.true(out.names.includes('train'));
  t.is(out.train, 'function');
  const control = withoutTfjs(`const { loadTf } = await import('./lib/train/index.ts'); await loadTf('cpu');`);
  t.not(control.status, 0);
  t.regex(control.stderr, /tfjs loaded: @tensorflow\//);
});
