import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const PKG = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// etcd3 (gRPC) is only for `@minicni/ipam/etcd`: a file-store user installs the package without
// it. This builds the package's three entries the way tsup does (esbuild, ESM, code splitting,
// dependencies external) into an install of its own whose node_modules holds the runtime
// dependencies but no etcd3, and imports them there in a plain node.
describe('etcd3 is an optional peer, needed only by ./etcd', () => {
  it('is declared as such', () => {
    expect(pkg.dependencies).not.toHaveProperty('etcd3');
    expect(pkg.peerDependencies).toHaveProperty('etcd3');
    expect(pkg.peerDependenciesMeta.etcd3?.optional).toBe(true);
  });

  it('the main and testing entries load without etcd3 installed; ./etcd asks for it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ipam-no-etcd3-'));
    dirs.push(root);
    const installed = join(root, 'node_modules', '@minicni', 'ipam');
    mkdirSync(installed, { recursive: true });
    cpSync(join(PKG, 'package.json'), join(installed, 'package.json'));
    const entries = { index: 'src/index.ts', testing: 'src/testing.ts', etcd: 'src/etcd.ts' };
    await build({
      entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(PKG, v)])),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outdir: join(installed, 'dist'),
      logLevel: 'error',
    });
    // The runtime dependencies, each linked in from this workspace's install.
    const req = createRequire(join(PKG, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies).filter((d) => !d.startsWith('@minicni/'))) {
      const main = req.resolve(dep);
      let dir = dirname(main);
      while (!dir.endsWith(join('node_modules', dep))) dir = dirname(dir);
      symlinkSync(dir, join(root, 'node_modules', dep));
    }

    const load = (spec: string) =>
      spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(spec)}); console.log(Object.keys(m).length);`,
        ],
        { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH } },
      );
    for (const spec of ['@minicni/ipam', '@minicni/ipam/testing']) {
      const r = load(spec);
      expect(r.status, r.stderr).toBe(0);
      expect(Number(r.stdout)).toBeGreaterThan(0);
    }
    const etcd = load('@minicni/ipam/etcd');
    expect(etcd.status).not.toBe(0);
    expect(etcd.stderr).toMatch(/Cannot find package 'etcd3'/);
  });
});
