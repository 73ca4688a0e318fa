import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { serveHandoff, type HandoffServer } from '@minicni/fastpath';
import { AgentError } from './errors.js';
import { writeFileAtomic } from './atomic-file.js';
import type { Dataplane } from './dataplane.js';
import { DEFAULT_VXLAN, type Mode, type VxlanSettings } from './desired-state.js';
import { HealthServer } from './health-server.js';
import { DEFAULT_IPAM_DATA_DIR, ipamUsage } from './ipam-usage.js';
import { renderMetrics } from './metrics.js';
import type { NodeInfo } from './node-info.js';
import { silentLogger, type Logger, type NodeSource } from './node-source.js';
import type { PolicyController } from './policy-controller.js';
import { Reconciler } from './reconciler.js';

export interface AgentOptions {
  nodeName: string;
  mode: Mode;
  source: NodeSource;
  dataplane: Dataplane;
  vxlan?: VxlanSettings;
  /** Drift repair period. Default 2 s. */
  resyncMs?: number;
  /** host:port for /healthz, /readyz, /metrics; null = no server. Default 127.0.0.1:9153. */
  metricsAddress?: string | null;
  /** Written once the node is set up; null = none. Default /run/minicni/ready. */
  readyFile?: string | null;
  ipamDataDir?: string;
  /** Counters of the node source, for /metrics. */
  sourceStats?: () => { lists: number; watches: number; gone: number; failures: number };
  /** NetworkPolicy enforcement; started and stopped with the agent, fed this node's addresses. */
  policy?: PolicyController;
  /**
   * With `policy`: the unix socket on which plugins hand over new pods at ADD (the
   * `@minicni/fastpath` hand-off); null or absent = none.
   */
  policySocket?: string | null;
  logger?: Logger;
}

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9153';

/**
 * The running agent: node source -> reconciler -> kernel, plus the health endpoints and the
 * readiness file. Stopping it leaves routes and the readiness file in place: pods keep
 * working across an agent restart, and only `uninstall` takes the node out of service.
 */
export class Agent {
  readonly #o: AgentOptions;
  readonly #log: Logger;
  readonly reconciler: Reconciler;
  #server: HealthServer | undefined;
  #handoff: HandoffServer | undefined;
  #self: NodeInfo | undefined;
  #ready = false;
  readonly #started = Date.now();

  constructor(opts: AgentOptions) {
    this.#o = opts;
    this.#log = opts.logger ?? silentLogger;
    this.reconciler = new Reconciler({
      nodeName: opts.nodeName,
      mode: opts.mode,
      vxlan: opts.vxlan ?? DEFAULT_VXLAN,
      dataplane: opts.dataplane,
      logger: this.#log,
      resyncMs: opts.resyncMs ?? 2000,
      onSynced: () => this.#markReady(),
    });
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** The health server's bound address (host:port), once started. */
  get metricsAddress(): string | undefined {
    return this.#server?.address;
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.metricsAddress !== null) {
      this.#server = await HealthServer.listen(o.metricsAddress ?? DEFAULT_METRICS_ADDRESS, {
        healthy: () => this.#healthy(),
        ready: () => ({
          ok: this.#ready,
          detail: this.#ready ? 'ready' : 'not ready: routes not programmed yet',
        }),
        metrics: () => this.metrics(),
      });
    }
    this.reconciler.start();
    const policy = o.policy;
    policy?.start();
    if (policy && o.policySocket) {
      try {
        this.#handoff = await serveHandoff({
          socketPath: o.policySocket,
          onAnnounce: (a) => policy.announce(a),
          log: (line) => this.#log('warn', `policy hand-off: ${line}`),
        });
      } catch (e) {
        await this.stop().catch(() => {});
        throw new AgentError(
          'POLICY',
          `cannot serve the policy hand-off on ${o.policySocket}: ${(e as Error).message} (is another agent running on this node? --policy-socket names another path)`,
          { cause: e },
        );
      }
    }
    o.source.start((nodes) => {
      this.#log('info', 'node set changed', { nodes: nodes.size });
      this.#self = nodes.get(o.nodeName);
      this.reconciler.setNodes(nodes);
      policy?.setNodeIps(this.#self?.internalIPs ?? []);
      policy?.setPodCidrs(this.#self?.podCIDRs ?? []);
    });
    this.#log('info', 'agent started', {
      node: o.nodeName,
      mode: o.mode,
      metrics: this.#server?.address,
      ...(this.#handoff ? { policySocket: this.#handoff.socketPath } : {}),
    });
  }

  async stop(): Promise<void> {
    // New hand-offs find no agent (the table keeps failing closed for unknown pods); the ones
    // in flight are refused once the controller stops, then the socket goes.
    const handoffClosed = this.#handoff?.close();
    await this.#o.source.stop();
    // The policy table stays: pods stay isolated across an agent restart.
    await this.#o.policy?.stop();
    await handoffClosed;
    await this.reconciler.stop();
    await this.#server?.close();
    this.#log('info', 'agent stopped; routes left in place');
  }

  async metrics(): Promise<string> {
    const mem = process.memoryUsage.rss();
    const cpu = process.cpuUsage();
    const ipam = this.#self
      ? await ipamUsage(this.#o.ipamDataDir ?? DEFAULT_IPAM_DATA_DIR, this.#self.podCIDRs)
      : [];
    const policyDrops = await this.#o.policy?.drops();
    return renderMetrics({
      status: this.reconciler.status,
      ready: this.#ready,
      ipam,
      ...(this.#o.sourceStats ? { source: this.#o.sourceStats() } : {}),
      ...(this.#o.policy ? { policy: this.#o.policy.status } : {}),
      ...(policyDrops ? { policyDrops } : {}),
      process: {
        rssBytes: mem,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        startTimeSeconds: Math.floor(this.#started / 1000),
      },
    });
  }

  #healthy(): { ok: boolean; detail: string } {
    const s = this.reconciler.status;
    const period = this.#o.resyncMs ?? 2000;
    // A pass runs every period; three missed in a row means the loop is stuck.
    const last = s.lastSyncMs ?? this.#started;
    const ok = !s.selfKnown || Date.now() - last < Math.max(3 * period, 10_000);
    return {
      ok,
      detail: ok ? 'ok' : `no successful reconcile for ${Math.round((Date.now() - last) / 1000)} s`,
    };
  }

  #markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    const file = this.#o.readyFile === undefined ? '/run/minicni/ready' : this.#o.readyFile;
    if (file) {
      try {
        mkdirSync(dirname(file), { recursive: true });
        writeFileAtomic(
          file,
          `${JSON.stringify({ node: this.#o.nodeName, mode: this.#o.mode, since: new Date().toISOString() })}\n`,
        );
      } catch (e) {
        this.#log('error', 'cannot write the readiness file', { file, error: (e as Error).message });
      }
    }
    this.#log('info', 'node set up: routes programmed', { readyFile: file });
  }
}
