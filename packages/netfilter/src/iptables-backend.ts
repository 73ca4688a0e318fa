import { NodeRulesError } from './errors.js';
import type { Family, RulesExec } from './rules-exec.js';

/**
 * Which iptables binaries to run. `system`: the plain names (the host's alternatives choice).
 * `nft` / `legacy`: the backend-suffixed names, which is all the agent image carries: the image
 * has no alternatives of its own and must write to the backend the host uses, since a FORWARD
 * DROP in one backend is not lifted by an accept in the other.
 */
export type IptablesBackend = 'system' | 'nft' | 'legacy';

export function iptablesTools(family: Family, backend: IptablesBackend): { save: string; restore: string } {
  const base = `${family === 4 ? 'iptables' : 'ip6tables'}${backend === 'system' ? '' : `-${backend}`}`;
  return { save: `${base}-save`, restore: `${base}-restore` };
}

/** Chains kubelet (and kube-proxy) create to say which backend the node uses. */
const HINT_CHAINS = [':KUBE-IPTABLES-HINT ', ':KUBE-KUBELET-CANARY '];

/**
 * Picks the backend the host uses, as kubernetes-sigs/iptables-wrappers does: a backend holding
 * kubelet's hint chains wins; otherwise the one holding more rules (v4 and v6 together), nft on a
 * tie (a fresh node). A backend whose tools cannot run does not count.
 */
export async function detectIptablesBackend(exec: RulesExec): Promise<'nft' | 'legacy'> {
  const dump = async (backend: 'nft' | 'legacy') => {
    let text = '';
    let ran = false;
    for (const family of [4, 6] as const) {
      const r = await exec(iptablesTools(family, backend).save, []);
      if (r.code === 0) {
        ran = true;
        text += r.stdout;
      }
    }
    return { ran, text, rules: text.split('\n').filter((l) => l.startsWith('-')).length };
  };
  const nft = await dump('nft');
  const legacy = await dump('legacy');
  if (!nft.ran && !legacy.ran)
    throw new NodeRulesError(
      'no iptables tools found (neither iptables-save, iptables-nft-save nor iptables-legacy-save runs)',
    );
  if (!legacy.ran) return 'nft';
  if (!nft.ran) return 'legacy';
  const hinted = (t: string) => HINT_CHAINS.some((c) => t.includes(c));
  if (hinted(nft.text)) return 'nft';
  if (hinted(legacy.text)) return 'legacy';
  return legacy.rules > nft.rules ? 'legacy' : 'nft';
}

/** A tool that could not be started reads as exit 127 (see RulesExec). */
const NOT_FOUND = 127;
const detected = new WeakMap<RulesExec, Promise<IptablesBackend>>();

/**
 * The backend to use through `exec`: the plain tools when they run, else the detected one. Decided
 * once per exec (a process's backend does not change under it), as the wrappers decide once at start.
 */
function backendFor(exec: RulesExec, firstSave: { code: number | null }): Promise<IptablesBackend> {
  if (firstSave.code !== NOT_FOUND) return Promise.resolve('system');
  let p = detected.get(exec);
  if (!p) {
    p = detectIptablesBackend(exec);
    detected.set(exec, p);
    p.catch(() => detected.delete(exec));
  }
  return p;
}

/** `iptables-save` for a family through the right backend; the save's result and the tools used. */
export async function saveVia(exec: RulesExec, family: Family) {
  const plain = iptablesTools(family, 'system');
  const known = detected.get(exec);
  const first = known ? undefined : await exec(plain.save, []);
  const backend = known ? await known : await backendFor(exec, first!);
  const tools = iptablesTools(family, backend);
  const saved = first && backend === 'system' ? first : await exec(tools.save, []);
  return { saved, tools };
}
