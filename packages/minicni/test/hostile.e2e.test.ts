import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nodeNetns, podNetns, testName, type PluginCall, type TestNetns } from '@minicni/testkit';
import { STACK_FRAME, expectCniError, snapshot, tree, type NodeSnapshot } from './e2e-hostile-check.js';
import { reservations, runMinicni } from './e2e-plugin.js';

// Malformed, hostile and fuzzed configs and environments against the built executable, each in a
// fresh node netns: the right CNI error code, exit 1, no stack trace, and nothing changed.

const work = mkdtempSync(join(tmpdir(), 'mct-minicni-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ENV = 4;
const DECODE = 6;
const CONFIG = 7;
const VERSION = 1;

// A JSON value of the wrong type in a field the spec library decodes ("ipam", "cniVersion", GC's
// attachments) is a decoding failure there (6); minicni's own fields report 7. Both say what to fix.
const WRONG_TYPE = [DECODE, CONFIG];
// CNI_NETNS that is no netns: 4 (invalid environment) or 8, the "invalid netns" code Go's
// libraries use, so runtimes treat it as they would a Go plugin's answer.
const BAD_NETNS = [ENV, 8];

interface Case {
  name: string;
  code: number | number[];
  command?: PluginCall['command'];
  /** Changes to the base config (undefined deletes the key), or the whole stdin as a string. */
  config?: Record<string, unknown> | string;
  /** Changes to the call (undefined drops that variable). */
  call?: Partial<PluginCall>;
  /** Files that must not appear because of this call. */
  mustNotExist?: (network: string) => string[];
}

const cases: Case[] = [
  { name: 'path traversal in the network name', code: CONFIG, config: { name: '../../etc' } },
  { name: 'a slash in the network name', code: CONFIG, config: { name: 'a/b' } },
  { name: 'path traversal in the container ID', code: ENV, call: { containerId: '../x' } },
  { name: 'a slash in the container ID', code: ENV, call: { containerId: 'a/../../b' } },
  {
    name: 'path traversal in dataDir (/var/lib/../../etc)',
    code: CONFIG,
    config: { dataDir: '/var/lib/../../etc' },
    mustNotExist: (network) => [`/etc/${network}`, '/etc/last_reserved_ip.0'],
  },
  {
    name: 'path traversal in dataDir, below the temp dir',
    code: CONFIG,
    config: { dataDir: `${work}/data/../../mct-escaped` },
    mustNotExist: () => [join(tmpdir(), 'mct-escaped')],
  },
  { name: 'a relative dataDir', code: CONFIG, config: { dataDir: 'relative/data' } },
  { name: 'path traversal in ifname', code: ENV, call: { ifname: '../eth0' } },
  { name: 'ifname "."', code: ENV, call: { ifname: '.' } },
  { name: 'ifname longer than 15 bytes', code: ENV, call: { ifname: 'e'.repeat(16) } },
  { name: 'ifname with a space', code: ENV, call: { ifname: 'eth 0' } },
  // The kernel reads a '%' in a new link's name as a template ("eth%d" becomes eth0, eth1...; any
  // other use is EINVAL): the pod would get another name than CNI_IFNAME, or ADD fails late.
  { name: "ifname with a '%'", code: ENV, call: { ifname: 'a%' } },
  { name: 'ifname as a kernel name template (eth, percent, d)', code: ENV, call: { ifname: 'eth%d' } },
  { name: 'path traversal in the bridge name', code: CONFIG, config: { bridge: '../br' } },
  { name: 'bridge name longer than 15 bytes', code: CONFIG, config: { bridge: 'b'.repeat(16) } },
  {
    name: 'bridge name as a kernel name template (br, percent, d)',
    code: CONFIG,
    config: { bridge: 'br%d' },
  },
  { name: 'prefix length 33', code: CONFIG, config: { subnet: '10.244.0.0/33' } },
  { name: 'not a CIDR', code: CONFIG, config: { subnet: 'not-a-cidr' } },
  { name: 'an octet of 300', code: CONFIG, config: { subnet: '10.244.1.300/24' } },
  { name: 'a /32 pool', code: CONFIG, config: { subnet: '10.244.5.7/32' } },
  {
    name: 'an IPv6 prefix length 129',
    code: CONFIG,
    config: { subnet: undefined, ranges: [[{ subnet: 'fd00::/129' }]] },
  },
  {
    name: 'ranges not a list of lists',
    code: CONFIG,
    config: { subnet: undefined, ranges: { subnet: '10.244.9.0/24' } },
  },
  { name: 'a gateway outside the subnet', code: CONFIG, config: { gateway: '10.245.0.1' } },
  {
    name: 'rangeStart after rangeEnd',
    code: CONFIG,
    config: { rangeStart: '10.244.9.200', rangeEnd: '10.244.9.10' },
  },
  { name: 'a huge MTU', code: CONFIG, config: { mtu: 1_000_000_000 } },
  { name: 'a negative MTU', code: CONFIG, config: { mtu: -1 } },
  { name: 'a fractional MTU', code: CONFIG, config: { mtu: 1500.5 } },
  { name: 'the MTU as a string', code: CONFIG, config: { mtu: '1500' } },
  { name: 'isGateway as a string', code: CONFIG, config: { isGateway: 'yes' } },
  { name: 'ipMasq as a number', code: CONFIG, config: { ipMasq: 1 } },
  { name: 'the bridge name as a number', code: CONFIG, config: { bridge: 42 } },
  { name: 'subnet as a list', code: WRONG_TYPE, config: { subnet: ['10.244.9.0/24'] } },
  { name: 'ipam as a string', code: WRONG_TYPE, config: { ipam: 'host-local' } },
  { name: 'path traversal in ipam.type', code: CONFIG, config: { ipam: { type: '../../../bin/sh' } } },
  { name: 'a multicast MAC', code: CONFIG, config: { mac: '01:00:5e:00:00:01' } },
  { name: 'no address pool', code: CONFIG, config: { subnet: undefined } },
  { name: 'non-JSON stdin', code: DECODE, config: 'this is not json' },
  { name: 'empty stdin', code: DECODE, config: '' },
  { name: 'truncated JSON', code: DECODE, config: '{"cniVersion":"1.0.0","name":"x",' },
  { name: 'a JSON array', code: DECODE, config: '[1,2,3]' },
  { name: 'binary garbage', code: DECODE, config: '\u0000\u00ff\u0001\ufffd' },
  { name: 'an unsupported cniVersion', code: VERSION, config: { cniVersion: '9.9.9' } },
  { name: 'cniVersion as a number', code: WRONG_TYPE, config: { cniVersion: 1 } },
  { name: 'no CNI_COMMAND', code: ENV, call: { command: undefined } },
  { name: 'an unknown CNI_COMMAND', code: ENV, call: { command: 'FROB' as PluginCall['command'] } },
  { name: 'no CNI_CONTAINERID', code: ENV, call: { containerId: undefined } },
  { name: 'no CNI_NETNS on ADD', code: ENV, call: { netns: undefined } },
  { name: 'no CNI_IFNAME', code: ENV, call: { ifname: undefined } },
  { name: 'CNI_NETNS is not a netns', code: BAD_NETNS, call: { netns: '/etc/hostname' } },
  { name: 'CNI_NETNS does not exist', code: BAD_NETNS, call: { netns: '/run/netns/mct-does-not-exist' } },
  { name: 'an unknown CNI_ARGS key without IgnoreUnknown', code: ENV, call: { args: 'FOO=bar' } },
  { name: 'CNI_ARGS without "="', code: ENV, call: { args: 'garbage' } },
  { name: 'a static IP outside the pool', code: CONFIG, call: { args: 'IgnoreUnknown=1;IP=10.9.9.9' } },
  { name: 'DEL with a traversing container ID', code: ENV, command: 'DEL', call: { containerId: '../x' } },
  { name: 'CHECK without prevResult', code: CONFIG, command: 'CHECK' },
  {
    name: 'CHECK with a garbage prevResult',
    code: CONFIG,
    command: 'CHECK',
    config: { prevResult: { ips: 'no' } },
  },
  {
    name: 'GC with valid-attachments not a list',
    code: WRONG_TYPE,
    command: 'GC',
    config: { 'cni.dev/valid-attachments': 'all' },
  },
];

function baseConfig(dataDir: string, network: string, bridge: string): Record<string, unknown> {
  return { cniVersion: '1.1.0', name: network, type: 'minicni', bridge, subnet: '10.244.9.0/24', dataDir };
}

function stdinOf(c: Case, base: Record<string, unknown>): string {
  if (typeof c.config === 'string') return c.config;
  const conf: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(c.config ?? {})) {
    if (v === undefined) delete conf[k];
    else conf[k] = v;
  }
  return JSON.stringify(conf);
}

describe('hostile input to the minicni executable', () => {
  it.each(cases)('$name: code $code, exit 1, no stack trace, nothing changed', async (c) => {
    const caseDir = mkdtempSync(join(work, 'case-'));
    const dataDir = join(caseDir, 'data');
    const network = testName('net');
    const bridge = testName('br');
    await using node = await nodeNetns();
    await using pod = await podNetns();
    const before = await snapshot(node, pod);
    const mustNotExist = c.mustNotExist?.(network) ?? [];
    for (const p of mustNotExist) expect(existsSync(p), `${p} existed before the test`).toBe(false);

    const call: PluginCall = {
      command: c.command ?? 'ADD',
      containerId: 'hostile',
      netns: pod.path,
      ifname: 'eth0',
      path: '/usr/lib/cni',
    };
    for (const [k, v] of Object.entries(c.call ?? {})) {
      if (v === undefined) delete call[k as keyof PluginCall];
      else (call as unknown as Record<string, unknown>)[k] = v;
    }
    const env: PluginCall = { ...call, extraEnv: {} };
    if (!('command' in call)) {
      // cniEnv always sets CNI_COMMAND: drop it through extraEnv's override.
      env.command = '' as PluginCall['command'];
    }
    const r = await runMinicni(node, env, stdinOf(c, baseConfig(dataDir, network, bridge)));
    expectCniError(r, c.code, c.name);

    expect(await snapshot(node, pod)).toEqual(before);
    // Nothing at all: not a file, not even the store's empty directories.
    expect(tree(caseDir)).toEqual([]);
    expect(reservations(dataDir, network)).toEqual([]);
    for (const p of mustNotExist) expect(existsSync(p), `${p} was created`).toBe(false);
  });
});

// The fuzz: random and mutated configs and env through the executable. Each run gets its own node
// and pod netns, store dir and an empty CNI_PATH (no delegate can be found, so no other plugin
// writes anywhere). Paths the fuzzer makes stay under the run's dir; a "/../" never reaches the
// file system outside the temp dir even if a check were missing.
const FUZZ_RUNS = 300;
const FUZZ_PARALLEL = 8;
// 999 (internal) is not among them: it means an error escaped the mapping to a spec code.
const SPEC_CODES = [1, 2, 3, 4, 5, 6, 7, 8, 11, 100, 101];

const safeString = fc.string({ maxLength: 24 }).filter((s) => !s.split('/').includes('..'));
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, '', -1, 0, 1e9, 1.5, true, [], {}, '../../etc', '10.244.9.0/24', 'fd00::/64'),
);
const cidrish = fc.oneof(
  fc.constantFrom(
    '10.244.9.0/24',
    '10.244.9.0/33',
    '10.244.9.0/32',
    '10.244.9.300/24',
    'fd00:9::/64',
    'fd00::/129',
    '0.0.0.0/0',
    '10.244.9.0',
    '10.244.9.0/24/1',
  ),
  fc.tuple(fc.nat(300), fc.nat(300), fc.nat(40)).map(([a, b, p]) => `10.244.${a}.${b}/${p}`),
  safeString,
);
/** Mostly `usual`, sometimes something else. */
const usually = <T, U>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<U>, weight = 6) =>
  fc.oneof({ weight, arbitrary: usual }, { weight: 1, arbitrary: other });

/** Zero to two config fields replaced, each by a value of the right shape or not. */
const mutation = fc.oneof(
  fc.tuple(
    fc.constant('cniVersion'),
    fc.oneof(fc.constantFrom('0.1.0', '0.3.1', '0.4.0', '1.0.0', '2.0.0', ''), anyValue),
  ),
  fc.tuple(
    fc.constant('name'),
    fc.oneof(
      safeString,
      anyValue.filter((v) => typeof v !== 'string' || !v.includes('..')),
    ),
  ),
  fc.tuple(
    fc.constant('bridge'),
    fc.oneof(
      safeString,
      anyValue.filter((v) => typeof v !== 'string'),
    ),
  ),
  fc.tuple(fc.constant('mtu'), fc.oneof(fc.integer({ min: -10, max: 70_000 }), anyValue)),
  fc.tuple(
    fc.constant('subnet'),
    fc.oneof(
      cidrish,
      cidrish,
      anyValue.filter((v) => typeof v !== 'string'),
    ),
  ),
  fc.tuple(
    fc.constant('ranges'),
    fc.oneof(
      fc.array(fc.array(fc.record({ subnet: cidrish }), { maxLength: 2 }), { maxLength: 2 }),
      anyValue,
    ),
  ),
  fc.tuple(fc.constant('gateway'), fc.oneof(fc.ipV4(), safeString)),
  fc.tuple(fc.constant('rangeStart'), fc.oneof(fc.ipV4(), safeString)),
  fc.tuple(fc.constantFrom('isGateway', 'ipMasq', 'hairpinMode', 'isDefaultGateway'), anyValue),
  fc.tuple(
    fc.constant('mac'),
    fc.oneof(fc.constantFrom('0a:58:0a:f4:00:05', 'ff:ff:ff:ff:ff:ff', 'zz'), safeString),
  ),
  fc.tuple(
    fc.constant('ipam'),
    fc.oneof(
      fc.constantFrom({ type: 'minicni' }, { type: '../x' }, { type: 'nope' }, 'host-local'),
      anyValue,
    ),
  ),
  fc.tuple(fc.constantFrom('prevResult', 'cni.dev/valid-attachments', 'runtimeConfig', 'args'), anyValue),
);

interface FuzzInput {
  command: PluginCall['command'];
  mutations: Record<string, unknown>;
  drop: string[];
  raw: string | undefined;
  containerId: string;
  ifname: string;
  args: string | undefined;
  dataDirSuffix: string | undefined;
}

const fuzzInput: fc.Arbitrary<FuzzInput> = fc.record({
  command: usually(
    fc.constant('ADD' as const),
    fc.constantFrom('DEL', 'CHECK', 'GC', 'STATUS', 'VERSION') as fc.Arbitrary<PluginCall['command']>,
    3,
  ),
  mutations: fc
    .array(mutation, { maxLength: 2 })
    .map((m) => Object.fromEntries(m) as Record<string, unknown>),
  drop: usually(
    fc.constant([]),
    fc.subarray(['cniVersion', 'name', 'type', 'subnet', 'dataDir'], { minLength: 1 }),
  ),
  raw: usually(
    fc.constant(undefined),
    fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    ),
    8,
  ),
  containerId: usually(fc.constant('fuzz-ctr'), fc.oneof(safeString, fc.constant('../x'))),
  // '%' in ifnames has its own table cases above; kept out here so the fuzz looks for new faults.
  ifname: usually(
    fc.constant('eth0'),
    fc.oneof(
      safeString.filter((x) => !x.includes('%')),
      fc.constant('..'),
    ),
  ),
  args: usually(
    fc.constant(undefined),
    fc.oneof(
      fc.constant('IgnoreUnknown=1;K8S_POD_NAME=x'),
      fc.constant('IgnoreUnknown=1;IP=10.244.9.9'),
      safeString,
    ),
    3,
  ),
  dataDirSuffix: usually(fc.constant(undefined), safeString, 4),
});

/** A node and a pod netns a worker reuses while runs change nothing in them. */
interface Slot {
  node: TestNetns;
  pod: TestNetns;
}

async function freshSlot(): Promise<Slot> {
  return { node: await nodeNetns(), pod: await podNetns() };
}

async function disposeSlot(slot: Slot): Promise<void> {
  await slot.pod[Symbol.asyncDispose]();
  await slot.node[Symbol.asyncDispose]();
}

/** Runs one input; returns the outcome and whether the slot is still pristine. */
async function fuzzOne(
  slot: Slot,
  pristine: NodeSnapshot,
  input: FuzzInput,
  i: number,
): Promise<{ code: number | null; cniCode?: number; dirty: boolean }> {
  const { node, pod } = slot;
  const caseDir = join(work, `fuzz-${i}`);
  mkdirSync(join(caseDir, 'bin'), { recursive: true });
  const dataDir =
    input.dataDirSuffix === undefined ? join(caseDir, 'data') : `${caseDir}/data/${input.dataDirSuffix}`;
  let stdin: string;
  if (input.raw !== undefined) stdin = input.raw;
  else {
    const conf: Record<string, unknown> = {
      ...baseConfig(dataDir, testName('net'), testName('br')),
      ...input.mutations,
    };
    for (const k of input.drop) delete conf[k];
    stdin = JSON.stringify(conf);
  }
  const call: PluginCall = {
    command: input.command,
    containerId: input.containerId,
    netns: pod.path,
    ifname: input.ifname,
    path: join(caseDir, 'bin'),
    ...(input.args === undefined ? {} : { args: input.args }),
  };
  const what = `fuzz run ${i}: ${JSON.stringify(call)} stdin ${stdin}`;
  const r = await runMinicni(node, call, stdin);
  expect(r.signal, what).toBeNull();
  expect(r.stderr, what).not.toMatch(STACK_FRAME);
  expect(r.stdout, what).not.toMatch(STACK_FRAME);
  if (r.code === 0) {
    // Accepted: a real attachment (ADD) must be undone by DEL like any other.
    if (input.command === 'ADD') {
      const del = await runMinicni(node, { ...call, command: 'DEL' }, stdin);
      expect(del.code, `${what}\nDEL: ${del.stdout}`).toBe(0);
      const podLinks = (await pod.ipJson<{ ifname: string }[]>('link', 'show')).map((l) => l.ifname);
      expect(podLinks, what).toEqual(['lo']);
    }
    return { code: 0, dirty: true };
  }
  expectCniError(r, SPEC_CODES, what);
  // Rejected: nothing changed, nothing written, not even a directory.
  expect(await snapshot(node, pod), what).toEqual(pristine);
  // (`bin` is the run's own empty CNI_PATH.)
  expect(
    tree(caseDir).filter((p) => p !== join(caseDir, 'bin')),
    what,
  ).toEqual([]);
  return { code: r.code, cniCode: (r.json as { code: number }).code, dirty: false };
}

describe('fuzzed configs and env against the minicni executable', () => {
  it(`${FUZZ_RUNS} random and mutated calls: exit 0, or CNI error JSON + exit 1 with nothing changed; never a crash or a stack trace`, async () => {
    // A fresh seed each run, printed so a failure can be replayed with MINICNI_FUZZ_SEED=<seed>.
    const seed = Number(process.env.MINICNI_FUZZ_SEED ?? Date.now() % 1e9);
    console.log(`minicni fuzz: seed ${seed}`);
    const inputs = fc.sample(fuzzInput, { numRuns: FUZZ_RUNS, seed });
    const codes = new Map<string, number>();
    const t0 = Date.now();
    let next = 0;
    let stop = false;
    const worker = async () => {
      let slot = await freshSlot();
      try {
        const pristine = await snapshot(slot.node, slot.pod);
        while (next < inputs.length && !stop) {
          const i = next++;
          const o = await fuzzOne(slot, pristine, inputs[i]!, i).catch((err: unknown) => {
            stop = true;
            throw err;
          });
          const key = o.code === 0 ? 'exit 0' : `code ${o.cniCode}`;
          codes.set(key, (codes.get(key) ?? 0) + 1);
          if (o.dirty) {
            await disposeSlot(slot);
            slot = await freshSlot();
          }
        }
      } finally {
        await disposeSlot(slot);
      }
    };
    // Every worker finishes (and disposes its netns) before the first failure is reported; the
    // others stop taking inputs once one has failed.
    const settled = await Promise.allSettled(Array.from({ length: FUZZ_PARALLEL }, worker));
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    console.log(
      `minicni fuzz: ${FUZZ_RUNS} runs in ${Date.now() - t0} ms; outcomes ${[...codes]
        .sort()
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    );
    // The fuzzer reached past validation at least sometimes, and hit several kinds of rejection.
    expect(codes.get('exit 0') ?? 0).toBeGreaterThan(0);
    expect([...codes.keys()].filter((k) => k.startsWith('code')).length).toBeGreaterThanOrEqual(3);
  });
});
