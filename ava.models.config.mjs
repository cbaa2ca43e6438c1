// `npm run test:models`: the conformance suite over real third-party models (read from SSD_EDGE_MODELS_DIR; each
// test skips with a printed reason when it is unset). Kept out of `npm test`'s file list (package.json "ava").
export default {
  files: ['test/models/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  timeout: '5m',
};
