import { basename } from 'node:path';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';
import { packageBuild } from '../../tsup.base.js';

// Three entries, each one file: `.` (what a plugin needs), `./invoke` (running other plugins) and
// `./runner` (the conflist runner). The subpath entries import the modules of an earlier entry
// through the package's own name instead of bundling a copy, so there is one CniError class and
// a plugin's start loads one minified module (docs/spec.md, "Import cost").
const ENTRY_OF: Record<string, string> = {
  'exec.ts': '@minicni/spec/invoke',
  'exec-plugin.ts': '@minicni/spec/invoke',
  'find-plugin.ts': '@minicni/spec/invoke',
  'delegate.ts': '@minicni/spec/invoke',
  'result-cache.ts': '@minicni/spec/runner',
  'conflist-runner.ts': '@minicni/spec/runner',
};
// Modules with no state or classes (safe to copy into each entry).
const COPIED = new Set(['builtins.ts', 'json-check.ts']);
const ENTRY_FILES = new Set(['index.ts', 'invoke.ts', 'runner.ts']);

const entryImports: Plugin = {
  name: 'minicni-spec-entries',
  setup(build) {
    build.onResolve({ filter: /^\.\/.*\.js$/ }, (args) => {
      const target = basename(args.path).replace(/\.js$/, '.ts');
      if (COPIED.has(target)) return undefined;
      const from = ENTRY_OF[basename(args.importer)] ?? '@minicni/spec';
      const to = ENTRY_OF[target] ?? '@minicni/spec';
      // The entry files themselves re-export their own modules; other crossings become imports.
      if (ENTRY_FILES.has(basename(args.importer)) || from === to) return undefined;
      return { path: to, external: true };
    });
  },
};

export default defineConfig(
  packageBuild(
    { index: 'src/index.ts', invoke: 'src/invoke.ts', runner: 'src/runner.ts' },
    // Minified (with source maps): every byte is parsed at each plugin start. Error classes
    // set `name` explicitly, so minified names never show.
    { minify: true, splitting: false, esbuildPlugins: [entryImports] },
  ),
);
