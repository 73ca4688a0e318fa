import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callPlugin } from '../test/plugin-harness.js';
import { CniError } from './errors.js';
import type { PluginHandlers } from './plugin-types.js';
import { parseResult } from './result-parse.js';
import { SPEC_VERSIONS, isCniVersion } from './versions.js';

// 10,000 random and mutated (env, stdin) pairs through runPlugin. Whatever comes in, exactly
// one of these comes out: a valid result (exit 0), nothing (exit 0 for DEL/CHECK/STATUS/GC),
// or one CNI error JSON (exit 1). Never a throw, never a stack trace.

const seeds = [
  { cniVersion: '1.1.0', name: 'net1', type: 'fuzz', ipam: { type: 'host-local', subnet: '10.244.0.0/24' } },
  {
    cniVersion: '0.4.0',
    name: 'net1',
    type: 'fuzz',
    runtimeConfig: {
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }],
      bandwidth: { ingressRate: 1 },
    },
    prevResult: {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:f4:00:05' }],
      ips: [{ version: '4', address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  },
  { cniVersion: '0.2.0', name: 'net-2', type: 'fuzz', args: { cni: { ips: ['10.244.0.7'] } } },
  {
    cniVersion: '1.1.0',
    name: 'n',
    type: 'fuzz',
    'cni.dev/valid-attachments': [{ containerID: 'c', ifname: 'eth0' }],
  },
];

type Json = unknown;

/** Replaces, deletes or adds one value somewhere inside a JSON document. */
function mutate(doc: Json, path: number[], value: Json, op: number): Json {
  if (typeof doc !== 'object' || doc === null) return value;
  const keys = Object.keys(doc);
  if (keys.length === 0 || path.length === 0) return op === 0 ? value : doc;
  const key = keys[(path[0] ?? 0) % keys.length] ?? '';
  const copy = (Array.isArray(doc) ? [...doc] : { ...doc }) as Record<string, Json>;
  if (path.length === 1) {
    if (op === 1) delete copy[key];
    else if (op === 2) copy[`x${path[0]}`] = value;
    else copy[key] = value;
  } else {
    copy[key] = mutate(copy[key], path.slice(1), value, op);
  }
  return copy;
}

const jsonMutation = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(...SPEC_VERSIONS, '', '10.0.0.1/33', 'fd00::1/64'),
    ),
    fc.nat(3),
  )
  .map(([seed, path, value, op]) => JSON.stringify(mutate(seed, path, value, op)));

const byteMutation = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  )
  .map(([seed, flips]) => {
    const b = Buffer.from(JSON.stringify(seed));
    for (const [at, byte] of flips) b[at % b.length] = byte;
    return b;
  });

const truncated = fc.tuple(fc.constantFrom(...seeds), fc.nat()).map(([seed, n]) => {
  const s = JSON.stringify(seed);
  return s.slice(0, n % s.length);
});

const stdin = fc.oneof(
  { weight: 4, arbitrary: jsonMutation },
  { weight: 2, arbitrary: byteMutation },
  { weight: 1, arbitrary: truncated },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.constantFrom(...seeds).map((s) => JSON.stringify(s)) },
);

const maybe = (a: fc.Arbitrary<string>) => fc.option(a, { nil: undefined, freq: 12 });
/** Mostly the well-formed value, sometimes anything: enough valid calls reach the handlers. */
const usually = (good: fc.Arbitrary<string>, any: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: any });
const randomEnv = fc.record({
  CNI_COMMAND: maybe(
    fc.oneof(fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'), fc.string()),
  ),
  CNI_CONTAINERID: maybe(fc.oneof(fc.constant('ctr-1'), fc.string({ maxLength: 20 }))),
  CNI_NETNS: maybe(fc.oneof(fc.constant('/run/netns/p'), fc.string({ maxLength: 20 }))),
  CNI_IFNAME: maybe(fc.oneof(fc.constant('eth0'), fc.string({ maxLength: 20 }))),
  CNI_ARGS: maybe(
    fc.oneof(
      fc.constant(''),
      fc.constant('IgnoreUnknown=1;K8S_POD_NAME=a;K8S_POD_NAMESPACE=b'),
      fc.constant('IP=10.244.0.9;MAC=0a:58:0a:f4:00:09'),
      fc.string({ maxLength: 40 }),
    ),
  ),
  CNI_PATH: maybe(usually(fc.constant('/opt/cni/bin'), fc.string({ maxLength: 20 }))),
});

/** A well-formed env for a random verb, so most mutated configs reach the handlers. */
const validEnv = fc
  .tuple(
    fc.constantFrom('ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'),
    fc.constantFrom('ctr-1', 'c', 'x2.y_z'),
  )
  .map(([cmd, id]) => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: id,
    CNI_NETNS: '/run/netns/p',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=a',
    CNI_PATH: '/opt/cni/bin',
  }));
const env = fc.oneof({ weight: 1, arbitrary: validEnv }, { weight: 1, arbitrary: randomEnv });

/** Handlers whose behaviour depends on the input, including throwing odd things. */
const handlers: PluginHandlers = {
  add(ctx) {
    const n = ctx.containerId.length % 5;
    if (n === 1) throw new CniError(107, 'plugin-specific failure', ctx.containerId);
    if (n === 2) throw new RangeError('boom');
    if (n === 3) return ctx.config.prevResult ?? { ips: [{ address: '10.244.0.5/24' }] };
    return { interfaces: [{ name: ctx.ifname }], ips: [{ address: '10.244.0.5/24', interface: 0 }], dns: {} };
  },
  del(ctx) {
    if (ctx.ifname.length % 3 === 1) throw Object.assign(new Error('nested'), { cause: new Error('inner') });
  },
  check(ctx) {
    if (ctx.args.pairs.length % 2 === 1) throw null as unknown as Error;
  },
  status(ctx) {
    if (ctx.path.length === 0) throw new CniError(50, 'not ready');
  },
};

describe('runPlugin fuzz', () => {
  it('10,000 random and mutated inputs give one valid CNI answer each', async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(env, stdin, async (e, input) => {
        const c = await callPlugin(handlers, e, input);
        expect(c.exitCalls).toHaveLength(1);
        expect(c.exitCalls[0]).toBe(c.status);
        expect(`${c.stdout}${c.stderr}`).not.toMatch(/\n\s+at |Error: .*\n/);
        expect(c.stderr).toBe('');
        const lines = c.stdout.split('\n').filter(Boolean);
        expect(lines.length).toBeLessThanOrEqual(1);
        const j = c.json;
        if (c.status === 1) {
          expect(j).toBeDefined();
          const { cniVersion, code, msg, details, ...rest } = j ?? {};
          expect(rest).toEqual({});
          expect(isCniVersion(cniVersion)).toBe(true);
          expect(Number.isInteger(code)).toBe(true);
          expect(typeof msg === 'string' && msg.length > 0).toBe(true);
          expect(details === undefined || typeof details === 'string').toBe(true);
          outcomes.set(`error ${String(code)}`, (outcomes.get(`error ${String(code)}`) ?? 0) + 1);
          return;
        }
        expect(c.status).toBe(0);
        if (e.CNI_COMMAND === 'VERSION') {
          expect(Object.keys(j ?? {}).sort()).toEqual(['cniVersion', 'supportedVersions']);
        } else if (e.CNI_COMMAND === 'ADD') {
          expect(parseResult(j)).toEqual(j);
          expect(j?.cniVersion).toBe(
            (JSON.parse(Buffer.from(input).toString()) as { cniVersion?: string }).cniVersion || '0.1.0',
          );
        } else {
          expect(c.stdout).toBe('');
        }
        const k = `ok ${String(e.CNI_COMMAND)}`;
        outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
      }),
      { numRuns: 10_000 },
    );
    const summary = [...outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
    process.stderr.write(`[spec fuzz] 10000 inputs -> ${summary.join(', ')}\n`);
    // The generator must reach real successes, not only rejections.
    expect([...outcomes.keys()].filter((k) => k.startsWith('ok ')).length).toBeGreaterThanOrEqual(4);
  }, 60_000);
});
