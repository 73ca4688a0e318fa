// Builds the fast-path shim (native/shim.c) into dist/minicni-shim: plain C against libc only,
// linked statically (no loader work at each start, and it runs on any node, whatever its libc).
// Where no static libc is installed it falls back to a dynamic link and says so.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'dist', 'minicni-shim');
// Written next to the target and renamed: a build never hits ETXTBSY on a shim that is running.
const tmp = join(pkg, 'dist', `.minicni-shim.${process.pid}`);
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC ?? 'cc';
const flags = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, join(pkg, 'native', 'shim.c')];
let s = spawnSync(cc, ['-static', ...flags], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
if (s.status !== 0) {
  process.stderr.write(
    `fastpath: no static link (${s.stderr.trim().split('\n').at(-1)}); linking dynamically\n`,
  );
  s = spawnSync(cc, flags, { stdio: 'inherit' });
}
if (s.status !== 0) process.exit(s.status ?? 1);
chmodSync(tmp, 0o755);
renameSync(tmp, out);
