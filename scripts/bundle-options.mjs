// The esbuild options every bundle of workspace source shares (the agent bundle, the demo, the
// test plugins): one ESM file for the machine's Node, workspace packages taken from their
// TypeScript source through the `@minicni/source` export condition, as the tests do.
export const SOURCE_BUNDLE = Object.freeze({
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['@minicni/source'],
});
