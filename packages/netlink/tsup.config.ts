import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// Minified: a CNI plugin loads this on every call, and parsing is most of what importing it costs
// (the source map keeps stack traces readable).
export default defineConfig(packageBuild({ index: 'src/index.ts' }, { minify: true }));
