import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nodeNetns, podNetns, type TestNetns } from '@minicni/testkit';
import { FileStore, decodeOwner } from '@minicni/ipam';
import { minicniNetConf } from './e2e-networks.js';
import { REFERENCE_PLUGINS, hostVeths, reservations, runMinicni, spawnMinicni } from './e2e-plugin.js';

// 200 ADDs of the built executable, each SIGKILLed at a random moment, then cleaned up by DEL
// (what kubelet does when a sandbox fails) or by one GC with no valid attachment (what a runtime
// does after a reboot): nothing may leak, and every reader must still parse the store.

const ADDS = 200;
const BATCH = 20;
// The kill lands uniformly in [0, the p90 of an unkilled ADD's duration under the same load]:
// on a 2-core machine running 20 at once, an ADD takes far longer than the ~150 ms it takes alone,
// and a fixed 150 ms window would only ever kill plugins that had not started working.
const MIN_WINDOW_MS = 150;

/** Runs one batch of ADDs to completion, DELs them, and returns the p90 of their durations. */
async function calibrate(node: TestNetns, conf: Record<string, unknown>): Promise<number> {
  // One ADD first, alone: concurrent first ADDs on a fresh node race on the node rules (see
  // parallel.e2e.test.ts); this file is about kills, so the rules exist before any of them.
  {
    await using pod = await podNetns();
    const call = { containerId: 'warm-up', netns: pod.path, ifname: 'eth0', path: REFERENCE_PLUGINS };
    const r = await runMinicni(node, { command: 'ADD', ...call }, conf);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await runMinicni(node, { command: 'DEL', ...call }, conf)).code).toBe(0);
  }
  const pods = await Promise.all(Array.from({ length: BATCH }, () => podNetns()));
  try {
    const durations = await Promise.all(
      pods.map(async (pod, i) => {
        const call = { containerId: `calib-${i}`, netns: pod.path, ifname: 'eth0', path: REFERENCE_PLUGINS };
        const t = Date.now();
        const r = await runMinicni(node, { command: 'ADD', ...call }, conf);
        const ms = Date.now() - t;
        expect(r.code, r.stdout + r.stderr).toBe(0);
        return ms;
      }),
    );
    for (const [i, pod] of pods.entries()) {
      const call = { containerId: `calib-${i}`, netns: pod.path, ifname: 'eth0', path: REFERENCE_PLUGINS };
      expect((await runMinicni(node, { command: 'DEL', ...call }, conf)).code).toBe(0);
    }
    durations.sort((a, b) => a - b);
    return Math.max(MIN_WINDOW_MS, durations[Math.floor(durations.length * 0.9)]!);
  } finally {
    await Promise.allSettled(pods.map((p) => p[Symbol.asyncDispose]()));
  }
}

interface Crashed {
  pods: TestNetns[];
  killed: number;
  completed: number;
  failed: number;
  ms: number;
}

async function crashAdds(node: TestNetns, conf: Record<string, unknown>, windowMs: number): Promise<Crashed> {
  const pods: TestNetns[] = [];
  let killed = 0;
  let completed = 0;
  let failed = 0;
  const t0 = Date.now();
  for (let b = 0; b < ADDS; b += BATCH) {
    const batch = await Promise.all(Array.from({ length: BATCH }, () => podNetns()));
    pods.push(...batch);
    const outcomes = await Promise.all(
      batch.map((pod, i) => {
        const p = spawnMinicni(
          node,
          {
            command: 'ADD',
            containerId: `crash-${b + i}`,
            netns: pod.path,
            ifname: 'eth0',
            path: REFERENCE_PLUGINS,
          },
          conf,
        );
        const timer = setTimeout(() => p.child.kill('SIGKILL'), randomInt(0, windowMs + 1));
        return p.done.finally(() => clearTimeout(timer));
      }),
    );
    for (const o of outcomes) {
      if (o.signal === 'SIGKILL') killed += 1;
      else if (o.code === 0) completed += 1;
      else {
        failed += 1;
        // A plugin that finished on its own must have answered properly, error or not.
        expect(() => JSON.parse(o.stdout) as unknown, o.stdout + o.stderr).not.toThrow();
      }
    }
  }
  return { pods, killed, completed, failed, ms: Date.now() - t0 };
}

/** Every file of the network's store is one a reader understands; returns the stray temp files. */
async function checkStore(dataDir: string, network: string, subnetPrefix: string): Promise<number> {
  const dir = join(dataDir, network);
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (f === 'lock' || f === '.minicni') continue;
    if (f.startsWith('last_reserved_ip.')) {
      expect(readFileSync(p, 'utf8').trim()).toMatch(
        new RegExp(`^${subnetPrefix.replaceAll('.', '\\.')}\\d+\\.\\d+$`),
      );
      continue;
    }
    // An address file never exists without its owner.
    expect(decodeOwner(readFileSync(p, 'utf8')), `${f}`).toBeDefined();
  }
  const store = new FileStore({ dataDir, network });
  const stats = await store.stats();
  expect(stats).toEqual({ reservations: 0, unowned: 0 });
  const owners = join(dir, '.minicni', 'owners');
  const ownerEntries = existsSync(owners)
    ? readdirSync(owners).flatMap((k) => readdirSync(join(owners, k)).map((ip) => `${k}/${ip}`))
    : [];
  expect(ownerEntries).toEqual([]);
  const tmpDir = join(dir, '.minicni', 'tmp');
  return existsSync(tmpDir) ? readdirSync(tmpDir).length : 0;
}

/** Another reader of the same store: the reference host-local allocates from it and releases. */
async function hostLocalReads(
  node: TestNetns,
  dataDir: string,
  network: string,
  subnet: string,
  prefix: string,
) {
  const conf = { cniVersion: '1.0.0', name: network, ipam: { type: 'host-local', subnet, dataDir } };
  const call = {
    containerId: 'crash-hl',
    netns: '/proc/self/ns/net',
    ifname: 'eth9',
    path: REFERENCE_PLUGINS,
  };
  const add = await node.exec(`${REFERENCE_PLUGINS}/host-local`, [], {
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifname,
      CNI_PATH: call.path,
    },
    stdin: JSON.stringify(conf),
  });
  expect(add.code, add.stdout + add.stderr).toBe(0);
  const ip = (JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0]!.address;
  expect(ip.startsWith(prefix)).toBe(true);
  const del = await node.exec(`${REFERENCE_PLUGINS}/host-local`, [], {
    env: {
      CNI_COMMAND: 'DEL',
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.netns,
      CNI_IFNAME: call.ifname,
      CNI_PATH: call.path,
    },
    stdin: JSON.stringify(conf),
  });
  expect(del.code, del.stdout + del.stderr).toBe(0);
}

async function inBatches<T>(items: T[], fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let b = 0; b < items.length; b += BATCH) {
    await Promise.all(items.slice(b, b + BATCH).map((item, i) => fn(item, b + i)));
  }
}

for (const cleanup of ['DEL', 'GC'] as const) {
  describe(`minicni executable: ${ADDS} ADDs killed at random, then ${cleanup}`, () => {
    it(`leaks nothing after ${cleanup === 'DEL' ? 'a DEL for each' : 'one GC with no valid attachment'}`, async () => {
      const work = mkdtempSync(join(tmpdir(), 'mct-minicni-crash-'));
      let pods: TestNetns[] = [];
      try {
        await using node = await nodeNetns();
        const k = randomInt(1, 60) * 4;
        const subnet = `10.244.${k}.0/22`;
        const { network, dataDir, conf } = minicniNetConf(work, { cniVersion: '1.1.0', subnet });

        const windowMs = await calibrate(node, conf);
        const crashed = await crashAdds(node, conf, windowMs);
        pods = crashed.pods;
        const heldBefore = reservations(dataDir, network).length;
        const vethsBefore = (await hostVeths(node)).length;

        const t0 = Date.now();
        if (cleanup === 'DEL') {
          await inBatches(pods, async (pod, i) => {
            const r = await runMinicni(
              node,
              {
                command: 'DEL',
                containerId: `crash-${i}`,
                netns: pod.path,
                ifname: 'eth0',
                path: REFERENCE_PLUGINS,
              },
              conf,
            );
            expect(r.code, r.stdout + r.stderr).toBe(0);
          });
        } else {
          const r = await runMinicni(
            node,
            { command: 'GC', path: REFERENCE_PLUGINS },
            { ...conf, 'cni.dev/valid-attachments': [] },
          );
          expect(r.code, r.stdout + r.stderr).toBe(0);
        }
        const cleanupMs = Date.now() - t0;

        expect(reservations(dataDir, network)).toEqual([]);
        const leftVeths = await hostVeths(node);
        const detail = leftVeths.length
          ? JSON.stringify(
              (await node.ipJson<{ ifname: string; master?: string; operstate: string }[]>('link', 'show'))
                .filter((l) => leftVeths.includes(l.ifname))
                .map((l) => ({ name: l.ifname, master: l.master ?? null, state: l.operstate })),
            )
          : '';
        expect(leftVeths, `host veths left after ${cleanup}: ${detail}`).toEqual([]);
        for (const pod of pods) {
          const links = await pod.ipJson<{ ifname: string }[]>('link', 'show');
          expect(
            links.map((l) => l.ifname),
            pod.name,
          ).toEqual(['lo']);
        }
        const strayTmp = await checkStore(dataDir, network, '10.244.');
        await hostLocalReads(node, dataDir, network, subnet, `10.244.`);
        // And the plugin itself still works on this store and node.
        await using pod = await podNetns();
        const add = await runMinicni(
          node,
          {
            command: 'ADD',
            containerId: 'crash-after',
            netns: pod.path,
            ifname: 'eth0',
            path: REFERENCE_PLUGINS,
          },
          conf,
        );
        expect(add.code, add.stdout + add.stderr).toBe(0);
        const del = await runMinicni(
          node,
          {
            command: 'DEL',
            containerId: 'crash-after',
            netns: pod.path,
            ifname: 'eth0',
            path: REFERENCE_PLUGINS,
          },
          conf,
        );
        expect(del.code, del.stdout).toBe(0);
        expect(reservations(dataDir, network)).toEqual([]);

        console.log(
          `minicni crash+${cleanup}: kill window 0..${windowMs} ms; ` +
            `${ADDS} ADDs in ${crashed.ms} ms (${crashed.killed} killed, ` +
            `${crashed.completed} completed, ${crashed.failed} failed cleanly); before cleanup ` +
            `${heldBefore} reservations, ${vethsBefore} host veths; ${cleanup} in ${cleanupMs} ms; ` +
            `${strayTmp} temp files of killed writers left for the store's grace-period sweep`,
        );
        // The kills hit plugins mid-work: some had reserved an address or made a veth when they died.
        expect(crashed.killed).toBeGreaterThan(ADDS / 4);
        expect(heldBefore + vethsBefore).toBeGreaterThan(0);
      } finally {
        for (let b = 0; b < pods.length; b += BATCH) {
          await Promise.allSettled(pods.slice(b, b + BATCH).map((p) => p[Symbol.asyncDispose]()));
        }
        rmSync(work, { recursive: true, force: true });
      }
    });
  });
}
