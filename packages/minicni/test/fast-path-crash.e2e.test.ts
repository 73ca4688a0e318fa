import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, runPluginInNode, type TestNetns } from '@minicni/testkit';
import { minicniNetConf } from './e2e-networks.js';
import {
  MINICNI,
  MINICNI_SHIM,
  REFERENCE_PLUGINS,
  hostVeths,
  reservations,
  serveInNode,
} from './e2e-plugin.js';

// The fast path when the serving process dies: `minicni serve` is SIGKILLed while 40 ADDs go
// through minicni-shim. Every call must still end in a result or a CNI error 11 (the call was
// cut off); calls after the kill run the standalone executable. DEL of every pod afterwards (the
// server is gone, so the shim falls back) must leave no address and no veth; a new server then
// takes over the dead one's socket file.

const PODS = 40;

describe('fast path: the server killed mid-flight', () => {
  it(`SIGKILL during ${PODS} parallel ADDs: every call answers, DEL leaves nothing, a new server takes over`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'mct-fast-crash-'));
    const { network, dataDir, conf } = minicniNetConf(work, {
      cniVersion: '1.0.0',
      subnet: '10.244.43.0/24',
      ipMasq: true,
    });
    const socket = join(work, 'run', 'plugin.sock');
    const env = { MINICNI_AGENT_SOCKET: socket, MINICNI_STANDALONE: MINICNI };
    const call = (node: TestNetns, command: 'ADD' | 'DEL', id: string, netns: string) =>
      runPluginInNode(
        node,
        MINICNI_SHIM,
        { command, containerId: id, netns, ifname: 'eth0', path: REFERENCE_PLUGINS, extraEnv: env },
        conf,
      );
    try {
      await using node = await nodeNetns();
      const pods = await Promise.all(Array.from({ length: PODS }, () => podNetns()));
      try {
        const server = await serveInNode(node, socket);
        // The node's rules first, so the kill lands on pod work.
        expect((await call(node, 'ADD', 'warm', pods[0]!.path)).code).toBe(0);
        expect((await call(node, 'DEL', 'warm', pods[0]!.path)).code).toBe(0);

        const adds = Promise.all(pods.map((p, i) => call(node, 'ADD', `c${i}`, p.path)));
        await new Promise((r) => setTimeout(r, randomInt(20, 200)));
        server.child.kill('SIGKILL');
        const outcomes = await adds;
        await server[Symbol.asyncDispose]();
        const kinds = { result: 0, cutOff: 0 };
        for (const o of outcomes) {
          const json = o.json as { ips?: unknown[]; code?: number } | undefined;
          expect(json, `${o.code} ${o.stdout} ${o.stderr}`).toBeDefined();
          expect(o.stdout).not.toMatch(/\n\s+at /);
          if (o.code === 0) {
            expect(json!.ips).toHaveLength(1);
            kinds.result++;
          } else {
            expect(json!.code, o.stdout).toBe(11);
            kinds.cutOff++;
          }
        }
        console.log(`fast-path crash: ${kinds.result} ADDs answered, ${kinds.cutOff} cut off (code 11)`);

        // The runtime's answer to a failed or unknown ADD: DEL. The dead server's socket file is
        // still there, so these go to the standalone executable.
        const dels = await Promise.all(pods.map((p, i) => call(node, 'DEL', `c${i}`, p.path)));
        for (const d of dels) expect(d.code, d.stdout + d.stderr).toBe(0);
        expect(reservations(dataDir, network)).toEqual([]);
        expect(await hostVeths(node)).toEqual([]);

        await using again = await serveInNode(node, socket);
        const add = await call(node, 'ADD', 'after', pods[0]!.path);
        expect(add.code, add.stdout).toBe(0);
        expect((await call(node, 'DEL', 'after', pods[0]!.path)).code).toBe(0);
        expect(again.child.exitCode).toBeNull();
        expect(reservations(dataDir, network)).toEqual([]);
      } finally {
        await Promise.allSettled(pods.map((p) => p[Symbol.asyncDispose]()));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);
});
