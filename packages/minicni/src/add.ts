import { CniError, ErrorCode, type AddContext, type HandlerResult, type Route } from '@minicni/spec';
import { formatSubnet, parseCidr } from '@minicni/ipam';
import { setupPodVeth, type PodVeth } from '@minicni/netlink';
import { checkIfnameFree, openPodIpam, type PodAddresses } from '@minicni/kit';
import { handOverPod } from '@minicni/fastpath';
import { ensurePodBridge } from './bridge.js';
import { checkMac, parseBridgeConfig, type BridgeConfig } from './config.js';
import { HOST_VETH } from './host-veth.js';
import { ensureNodeRules } from '@minicni/netfilter';
import type { NodeEnv } from './node-env.js';
import { withPidLock } from './pid-lock.js';
import { hasStamp, rulesLockPath, rulesStampPath, writeStamp } from './rules-stamp.js';

/**
 * ADD: reserve addresses, ensure the bridge (with the gateway addresses), put a veth into the pod
 * netns with its addresses and routes, ensure the node's rules once per network, hand the pod to
 * the policy agent when `policySocket` is set. Any failure after the reservation undoes what
 * this call did before the error leaves.
 */
export async function add(ctx: AddContext, node: NodeEnv): Promise<HandlerResult> {
  const cfg = parseBridgeConfig(ctx.config);
  const mac = ctx.config.runtimeConfig?.mac ?? ctx.args.mac ?? cfg.mac;
  if (mac !== undefined) checkMac(mac, 'the requested MAC (runtimeConfig.mac or CNI_ARGS MAC=)');
  const ipam = await openPodIpam(cfg.ipam, ctx);
  let veth: PodVeth | undefined;
  let addrs: PodAddresses | undefined;
  try {
    using host = node.openHost();
    await checkIfnameFree(ctx.netns, ctx.ifname);
    addrs = await ipam.allocate();
    if (!addrs.ips.length)
      throw new CniError(ErrorCode.InvalidNetworkConfig, 'IPAM returned no address for the pod');
    const bridge = await ensurePodBridge(host, cfg.bridge, cfg.mtu);
    const families = new Set(addrs.ips.map((i) => i.family));
    if (cfg.isGateway) {
      for (const ip of addrs.ips) {
        if (!ip.gateway) continue;
        await host.addresses.ensure(bridge.index, `${ip.gateway}/${ip.address.split('/')[1] ?? ''}`, {
          noDad: ip.family === 6,
        });
      }
      for (const family of families) node.enableForwarding(family);
    }
    veth = await setupPodVeth({
      host,
      ...HOST_VETH.ends(ctx),
      mtu: cfg.mtu,
      ...(mac === undefined ? {} : { mac }),
      addresses: addrs.ips.map((i) => i.address),
      routes: podRoutes(cfg, addrs),
      master: bridge.index,
      hairpin: cfg.hairpinMode,
    });
    const rules = {
      network: ctx.config.name,
      podCidrs: [...new Set(addrs.ips.map((i) => networkOf(i.address)))],
      ...(cfg.clusterCidrs ? { noMasqCidrs: cfg.clusterCidrs } : {}),
      masquerade: cfg.ipMasq,
    };
    const stamp = rulesStampPath(rules, bridge.mac ?? '', node);
    if (!hasStamp(stamp)) {
      // The first ADDs on a node race here: save -> plan -> restore must not interleave.
      await withPidLock(rulesLockPath(node), async () => {
        if (hasStamp(stamp)) return;
        await ensureNodeRules(rules, node.rulesExec);
        writeStamp(stamp, rules);
      });
    }
    // Before the runtime learns the pod exists, the policy agent knows it: its policy holds
    // from the first packet. Never fails ADD (see handOverPod: the table fails closed).
    await handOverPod(ctx, { socket: cfg.policySocket, ips: addrs.ips.map((i) => i.address) });
    return result(ctx, cfg, bridge, veth, addrs);
  } catch (err) {
    await undo(ctx, node, veth, addrs?.fresh ? ipam : undefined);
    throw err;
  } finally {
    await ipam.close();
  }
}

function podRoutes(cfg: BridgeConfig, addrs: PodAddresses): { dst: string; gateway?: string }[] {
  const routes: { dst: string; gateway?: string }[] = addrs.routes.map((r: Route) => ({
    dst: r.dst,
    ...(r.gw ? { gateway: r.gw } : {}),
  }));
  if (cfg.isDefaultGateway) {
    for (const ip of addrs.ips) {
      const dst = ip.family === 4 ? '0.0.0.0/0' : '::/0';
      if (ip.gateway && !routes.some((r) => r.dst === dst)) routes.push({ dst, gateway: ip.gateway });
    }
  }
  // A route without a gateway goes out through the default gateway of its family.
  return routes.map((r) => {
    if (r.gateway) return r;
    const gw = addrs.ips.find((i) => (i.family === 6) === r.dst.includes(':'))?.gateway;
    return gw ? { ...r, gateway: gw } : r;
  });
}

function result(
  ctx: AddContext,
  cfg: BridgeConfig,
  bridge: { name: string; mac?: string | undefined },
  veth: PodVeth,
  addrs: PodAddresses,
): HandlerResult {
  const routes = podRoutes(cfg, addrs).map((r) => ({ dst: r.dst, ...(r.gateway ? { gw: r.gateway } : {}) }));
  const dns = { ...addrs.dns, ...(ctx.config.dns ?? {}) };
  return {
    interfaces: [
      { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}) },
      { name: veth.host.name, mac: veth.host.mac },
      { name: veth.pod.name, mac: veth.pod.mac, sandbox: ctx.netns, mtu: cfg.mtu },
    ],
    ips: addrs.ips.map((i) => ({
      address: i.address,
      ...(i.gateway ? { gateway: i.gateway } : {}),
      interface: 2,
    })),
    routes,
    dns,
  };
}

async function undo(
  ctx: AddContext,
  node: NodeEnv,
  veth: PodVeth | undefined,
  ipam: { release(): Promise<void> } | undefined,
) {
  if (veth) {
    try {
      using host = node.openHost();
      await host.links.delete(veth.host.name);
    } catch {
      // The error that made us undo is the one worth reporting.
    }
  }
  if (ipam) await ipam.release().catch(() => undefined);
  ctx.log('ADD failed: undone', { veth: veth?.host.name, released: Boolean(ipam) });
}

export function networkOf(cidr: string): string {
  return formatSubnet(parseCidr(cidr, { allowHostBits: true }).subnet);
}
