/**
 * The conformance suite's access to real third-party models (`npm run test:models`): they live outside the project
 * (never committed), in the folder named by SSD_EDGE_MODELS_DIR (laid out like /path/to/shared/models: one folder per model
 * family, each with its files and `oracle/`). When the variable is unset or a file is missing, the tests register as
 * skipped with the reason in their title, and the reason is printed once.
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';

export const MODELS_DIR_ENV = 'SSD_EDGE_MODELS_DIR';

/** The models folder (absolute) when SSD_EDGE_MODELS_DIR names an existing folder, else the reason it cannot be used. */
export function modelsDir(env: NodeJS.ProcessEnv = process.env): { dir: string } | { reason: string } {
  const value = env[MODELS_DIR_ENV];
  if (!value) return { reason: `${MODELS_DIR_ENV} is not set (e.g. ${MODELS_DIR_ENV}=/path/to/shared/models)` };
  const dir = path.resolve(value);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    return { reason: `${MODELS_DIR_ENV}=${value} is not a folder` };
  return { dir };
}

/**
 * The folder of one model family with the files it needs, or the reason it is not usable (variable unset, folder or
 * file missing).
 */
export function modelFamily(
  family: string,
  files: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): { dir: string } | { reason: string } {
  const root = modelsDir(env);
  if ('reason' in root) return root;
  const dir = path.join(root.dir, family);
  const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (!fs.existsSync(dir)) return { reason: `${dir} does not exist` };
  if (missing.length) return { reason: `missing in ${dir}: ${missing.join(', ')}` };
  return { dir };
}

const printed = new Set<string>();

/**
 * Registers an ava test over a model family: run with the family's folder when it has `files`, else registered as
 * skipped with the reason in its title (and the reason printed once per family).
 */
export function modelTest(
  title: string,
  family: string,
  files: readonly string[],
  fn: (t: ExecutionContext, dir: string) => Promise<void> | void,
): void {
  const found = modelFamily(family, files);
  if ('reason' in found) {
    if (!printed.has(family)) {
      printed.add(family);
      console.log(`[test:models] skipping ${family}: ${found.reason}`);
    }
    test.skip(`${title} (skipped: ${found.reason})`, () => {});
    return;
  }
  test(title, (t) => fn(t, found.dir));
}
