// Builds the native addon (native/binding.gyp: not at the package root, where pnpm would run
// an implicit `node-gyp rebuild` on every workspace install) from source with node-gyp against the headers of the Node that runs
// this script (they ship with Node's own install; nothing is downloaded), then, when asked,
// copies it into dist/ so the built package carries its addon.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDON = 'minicni_netlink.node';
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv.includes('--copy')) {
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  copyFileSync(join(pkg, 'native', 'build', 'Release', ADDON), join(pkg, 'dist', ADDON));
  process.exit(0);
}

const prefix = resolve(dirname(process.execPath), '..');
const args = ['rebuild', '--release'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const r = spawnSync(process.execPath, [gyp, ...args, '--loglevel=warn'], {
  cwd: join(pkg, 'native'),
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
