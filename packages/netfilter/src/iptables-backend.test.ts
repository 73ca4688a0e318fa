import { describe, expect, it } from 'vitest';
import { detectIptablesBackend } from './iptables-backend.js';
import { ensureNodeRules } from './node-rules.js';
import type { RulesExec } from './rules-exec.js';

/** A fake host: which tools exist, and what each backend's save prints. */
function host(tools: Record<string, string>): { exec: RulesExec; calls: string[] } {
  const calls: string[] = [];
  const exec: RulesExec = async (file) => {
    calls.push(file);
    const out = tools[file];
    if (out === undefined) return { code: 127, stdout: '', stderr: `${file}: ENOENT` };
    return { code: 0, stdout: out, stderr: '' };
  };
  return { exec, calls };
}

const empty = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';
const withRules = (n: number) =>
  `*filter\n:FORWARD DROP [0:0]\n${Array.from({ length: n }, (_, i) => `-A FORWARD -s 10.9.${i}.0/24 -j ACCEPT\n`).join('')}COMMIT\n`;
const both = (nft: string, legacy: string) => ({
  'iptables-nft-save': nft,
  'ip6tables-nft-save': empty,
  'iptables-legacy-save': legacy,
  'ip6tables-legacy-save': '',
});

describe('detectIptablesBackend', () => {
  it('picks nft on a fresh node (a tie), legacy when legacy holds more rules', async () => {
    expect(await detectIptablesBackend(host(both(empty, '')).exec)).toBe('nft');
    expect(await detectIptablesBackend(host(both(withRules(1), withRules(3))).exec)).toBe('legacy');
    expect(await detectIptablesBackend(host(both(withRules(3), withRules(1))).exec)).toBe('nft');
  });

  it("follows kubelet's hint chain over rule counts", async () => {
    const hint = '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
    expect(await detectIptablesBackend(host(both(hint, withRules(9))).exec)).toBe('nft');
    expect(await detectIptablesBackend(host(both(withRules(9), hint)).exec)).toBe('legacy');
  });

  it('uses the only backend whose tools run, and says so when none does', async () => {
    expect(await detectIptablesBackend(host({ 'iptables-legacy-save': empty }).exec)).toBe('legacy');
    expect(await detectIptablesBackend(host({ 'iptables-nft-save': empty }).exec)).toBe('nft');
    await expect(detectIptablesBackend(host({}).exec)).rejects.toThrow(/no iptables tools found/);
  });
});

describe('ensureNodeRules without the plain iptables names (the agent image)', () => {
  const spec = { network: 'n', podCidrs: ['10.244.1.0/24'], masquerade: false };

  it('detects the backend once, then saves and restores through its tools', async () => {
    const { exec, calls } = host({ ...both(withRules(1), withRules(4)), 'iptables-legacy-restore': '' });
    await ensureNodeRules(spec, exec);
    expect(calls).toEqual([
      'iptables-save',
      'iptables-nft-save',
      'ip6tables-nft-save',
      'iptables-legacy-save',
      'ip6tables-legacy-save',
      'iptables-legacy-save',
      'iptables-legacy-restore',
    ]);
    calls.length = 0;
    await ensureNodeRules(spec, exec);
    expect(calls).toEqual(['iptables-legacy-save', 'iptables-legacy-restore']);
  });

  it('keeps the plain tools where they run (the host)', async () => {
    const { exec, calls } = host({ 'iptables-save': empty, 'iptables-restore': '' });
    await ensureNodeRules(spec, exec);
    expect(calls).toEqual(['iptables-save', 'iptables-restore']);
  });

  it('fails with a message naming what is missing', async () => {
    await expect(ensureNodeRules(spec, host({}).exec)).rejects.toThrow(/no iptables tools found/);
  });
});
