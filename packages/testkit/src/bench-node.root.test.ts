import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const benchNode = pathToFileURL(join(import.meta.dirname, 'bench-node.mjs')).href;

/** Runs a bench-like script that does `body` in its throwaway node netns. */
function runBench(body: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-leaks-'));
  try {
    const script = join(dir, 'bench.mjs');
    writeFileSync(
      script,
      `import { spawn, spawnSync } from 'node:child_process';
import { benchNetnsName, inThrowawayNodeNetns } from ${JSON.stringify(benchNode)};
if (inThrowawayNodeNetns(import.meta.url, 'mcnibleak')) {
${body}
}
`,
    );
    return spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the benches' leak check", () => {
  it('passes a bench that cleans up after itself', () => {
    const r = runBench(`const ns = benchNetnsName('mcniblp');
spawnSync('ip', ['netns', 'add', ns]);
spawnSync('ip', ['netns', 'del', ns]);`);
    expect(r.stdout).toContain('[bench leak-check] no process');
    expect(r.status).toBe(0);
  });

  it('reports, removes and fails on a process left running and a pod netns left behind', () => {
    const r = runBench(`spawn('sleep', ['300'], { detached: true, stdio: 'ignore' }).unref();
spawnSync('ip', ['netns', 'add', benchNetnsName('mcniblp')]);`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/process \d+ in the node netns: sleep 300/);
    expect(r.stderr).toMatch(/pod netns mcniblp0-/);
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(netns).not.toMatch(/mcnibl/);
  });

  it("reports a test kit fixture's netns the bench left (recorded in the bench's registry)", () => {
    const r = runBench(`const { appendFileSync, statSync } = await import('node:fs');
const name = 'mcniblfix' + process.pid.toString(36);
spawnSync('ip', ['netns', 'add', name]);
appendFileSync(process.env.MINICNI_TEST_REGISTRY, name + ' ' + statSync('/run/netns/' + name).ino + '\\n');`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/fixture netns mcniblfix/);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toMatch(/mcniblfix/);
  });
});
