import type { Dataplane, DataplaneOp } from './dataplane.js';
import {
  desiredState,
  underlayIp,
  type DesiredState,
  type Mode,
  type PeerPath,
  type VxlanSettings,
} from './desired-state.js';
import type { NodeInfo } from './node-info.js';
import { silentLogger, type Logger } from './node-source.js';
import { planChanges } from './plan.js';

export interface ReconcilerOptions {
  nodeName: string;
  mode: Mode;
  vxlan: VxlanSettings;
  dataplane: Dataplane;
  logger?: Logger;
  /** Periodic repair of drift (a route deleted by hand). Default 2 s. */
  resyncMs?: number;
  /** Called after each pass that ended with the kernel matching the desired state. */
  onSynced?: (status: ReconcileStatus) => void;
  now?: () => number;
}

export interface ReconcileStatus {
  /** Whether this node itself is known (in the node source) with an underlay IP. */
  selfKnown: boolean;
  peers: number;
  paths: PeerPath[];
  routes: number;
  vxlan: boolean;
  lastSyncMs?: number;
  passes: number;
  opsApplied: number;
  opErrors: number;
  /** Ops of the last pass that changed something (drift repaired or nodes changed). */
  lastOps: DataplaneOp[];
}

/**
 * Keeps the kernel's cross-node routes equal to what the node set asks for. One pass at a
 * time; a change that arrives mid-pass triggers one more pass, so bursts coalesce. A timer
 * re-runs the pass, which is what repairs drift.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #log: Logger;
  #nodes: ReadonlyMap<string, NodeInfo> = new Map();
  #haveNodes = false;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #lastDesired: { nodes: ReadonlyMap<string, NodeInfo>; key: string; state: DesiredState } | undefined;
  readonly status: ReconcileStatus = {
    selfKnown: false,
    peers: 0,
    paths: [],
    routes: 0,
    vxlan: false,
    passes: 0,
    opsApplied: 0,
    opErrors: 0,
    lastOps: [],
  };

  constructor(opts: ReconcilerOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  start(): void {
    this.#timer = setInterval(() => void this.trigger(), this.#o.resyncMs ?? 2000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  setNodes(nodes: ReadonlyMap<string, NodeInfo>): void {
    this.#nodes = nodes;
    this.#haveNodes = true;
    void this.trigger();
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Runs a pass now, or right after the current one; resolves when the kernel has caught up. */
  trigger(): Promise<void> {
    if (this.#stopped || !this.#haveNodes) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.#pass();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async #pass(): Promise<void> {
    const o = this.#o;
    const now = o.now ?? Date.now;
    const started = now();
    const self = this.#nodes.get(o.nodeName);
    this.status.passes++;
    if (!self || !underlayIp(self)) {
      if (this.status.selfKnown || this.status.passes === 1) {
        this.#log(
          'warn',
          'this node is not in the node source (or has no InternalIP); routes left as they are',
          {
            node: o.nodeName,
          },
        );
      }
      this.status.selfKnown = false;
      return;
    }
    this.status.selfKnown = true;
    let desired: DesiredState;
    try {
      desired = await this.#desired(self);
    } catch (e) {
      this.status.opErrors++;
      this.#log('error', 'cannot read the underlay routes', { error: (e as Error).message });
      return;
    }
    const actual = await o.dataplane.read(o.vxlan.name);
    const ops = planChanges(desired, actual);
    let failed = 0;
    for (const op of ops) {
      try {
        await o.dataplane.apply(op);
        this.status.opsApplied++;
      } catch (e) {
        failed++;
        this.status.opErrors++;
        this.#log('error', 'dataplane change failed', { op, error: (e as Error).message });
      }
    }
    if (ops.length) {
      this.status.lastOps = ops;
      this.#log('info', 'routes reconciled', {
        changes: ops.length,
        failed,
        passMs: now() - started,
        // The first pass on a 5,000-node cluster makes 10,000 changes: name a few, count the rest.
        summary: summarize(ops.slice(0, SUMMARY_MAX)),
        ...(ops.length > SUMMARY_MAX ? { notListed: ops.length - SUMMARY_MAX } : {}),
      });
    }
    const previous = new Map(this.status.paths.map((q) => [`${q.node} ${q.podCIDR}`, q.kind]));
    for (const p of desired.paths) {
      const before = previous.get(`${p.node} ${p.podCIDR}`);
      if (before === p.kind) continue;
      const fields = {
        peer: p.node,
        podCIDR: p.podCIDR,
        path: p.kind,
        ...(p.reason ? { reason: p.reason } : {}),
      };
      if (p.kind === 'unreachable') this.#log('warn', 'no path to a peer', fields);
      else this.#log('info', 'peer path', fields);
    }
    this.status.paths = desired.paths;
    this.status.peers = new Set(desired.paths.map((p) => p.node)).size;
    this.status.routes = desired.routes.length;
    this.status.vxlan = desired.vxlan !== undefined;
    if (failed === 0) {
      this.status.lastSyncMs = (o.now ?? Date.now)();
      o.onSynced?.(this.status);
    }
  }

  async #desired(self: NodeInfo): Promise<DesiredState> {
    const o = this.#o;
    const ips = new Set<string>();
    for (const n of this.#nodes.values())
      if (n.name !== self.name) n.internalIPs.forEach((ip) => ips.add(ip));
    const underlay = await o.dataplane.routesTo([...ips]);
    const local = underlayIp(self)!;
    const underlayMtu = await o.dataplane.addressMtu(local);
    // Drift repair runs this every pass; with neither the nodes nor the underlay changed, the
    // answer is the last one (at 5,000 nodes recomputing it was a fifth of an idle agent's CPU).
    const key = `${underlayMtu} ${[...underlay].map(([ip, r]) => `${ip}>${r?.dev}>${r?.gateway}`).join(' ')}`;
    const last = this.#lastDesired;
    if (last && last.nodes === this.#nodes && last.key === key) return last.state;
    const state = desiredState({
      self,
      nodes: this.#nodes,
      mode: o.mode,
      vxlan: o.vxlan,
      underlay,
      ...(underlayMtu ? { underlayMtu } : {}),
    });
    this.#lastDesired = { nodes: this.#nodes, key, state };
    return state;
  }
}

const SUMMARY_MAX = 50;

function summarize(ops: DataplaneOp[]): string[] {
  return ops.map((o) => {
    switch (o.op) {
      case 'replaceRoute':
      case 'delRoute':
        return `${o.op} ${o.route.dst} via ${o.route.via} dev ${o.route.dev}`;
      case 'replaceFdb':
      case 'delFdb':
        return `${o.op} ${o.entry.mac} dst ${o.entry.dst}`;
      case 'replaceNeighbour':
      case 'delNeighbour':
        return `${o.op} ${o.entry.ip} lladdr ${o.entry.mac}`;
      case 'createVxlan':
        return `createVxlan ${o.device.name} vni ${o.device.vni} local ${o.device.local}`;
      case 'addAddress':
      case 'delAddress':
        return `${o.op} ${o.address} dev ${o.dev}`;
      default:
        return `${o.op} ${o.name}`;
    }
  });
}
