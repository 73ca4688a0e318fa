import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SOURCE_BUNDLE } from '../../../scripts/bundle-options.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Bundles the docs example plugin (with @minicni/spec from source) into one ES module and
 * writes an executable `static-ip` wrapper into `binDir`, so runtimes and Go plugins can
 * exec it like any CNI plugin. Returns the wrapper's path.
 */
export async function buildStaticIpPlugin(binDir: string): Promise<string> {
  mkdirSync(binDir, { recursive: true });
  const bundle = join(binDir, 'static-ip.mjs');
  await build({
    entryPoints: [join(here, 'static-ip-main.ts')],
    ...SOURCE_BUNDLE,
    outfile: bundle,
    logLevel: 'warning',
  });
  const wrapper = join(binDir, 'static-ip');
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${bundle}'\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}
