#!/usr/bin/env node
/**
 * Entry of the `ssd-edge` command (bin/ssd-edge.js imports the compiled copy, dist/cli/index.js; during development
 * run `node --import=tsx lib/cli/index.ts …`). Everything, loading included, runs inside one error handler.
 */
import { handleError } from './handle-error.ts';

try {
  const { main } = await import('./program.ts');
  await main(process.argv);
} catch (err) {
  handleError(err);
}
