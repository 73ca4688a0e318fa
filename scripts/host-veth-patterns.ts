import { ownerVethPattern } from '@minicni/netlink';

/**
 * Each plugin's host veth prefix (the kit's `hostVethNaming(prefix)`, on netlink's
 * `ownerVethName`): minicni's `mc`, the ptp example's `ptp`, the guide's `gd`. The leak check matches leaked host veths of every plugin with
 * netlink's own `ownerVethPattern`, so it catches exactly the names the plugins make. A unit
 * test fails when a plugin names its veths with a prefix missing here.
 */
export const PLUGIN_VETH_PREFIXES: Readonly<Record<string, string>> = {
  minicni: 'mc',
  'ptp-plugin': 'ptp',
  'guide-plugin': 'gd',
};

export function pluginVethPatterns(): RegExp[] {
  return Object.values(PLUGIN_VETH_PREFIXES).map((p) => ownerVethPattern(p));
}
