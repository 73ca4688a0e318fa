import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '@minicni/testkit/k8s-fake-api';
import { DEFAULT_TEMPLATE, renderConflist } from './conflist-template.js';
import { install, uninstall, validatePodCidrs } from './installer.js';
import { KubeClient } from './kube-client.js';

const SEED_TEMPLATE = `{
  "cniVersion": "0.1.0",
  "name": "minicni",
  "type": "minicni",
  "bridge": "minicni0",
  "mtu": 1500,
  "subnet": __NODE_SUBNET__
}`;

describe('renderConflist', () => {
  it("fills the seed's bare __NODE_SUBNET__ and turns its single .conf into a conflist", () => {
    const out = JSON.parse(renderConflist(SEED_TEMPLATE, { nodeName: 'n1', podCIDRs: ['10.244.1.0/24'] }));
    expect(out).toEqual({
      cniVersion: '0.1.0',
      name: 'minicni',
      plugins: [{ type: 'minicni', bridge: 'minicni0', mtu: 1500, subnet: '10.244.1.0/24' }],
    });
  });

  it('fills __POLICY_SOCKET__ with the hand-off socket, the default one when not given, null when off', () => {
    const t = '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x","p":__POLICY_SOCKET__}]}';
    const v = { nodeName: 'n', podCIDRs: ['10.244.1.0/24'] };
    expect(JSON.parse(renderConflist(t, v)).plugins[0].p).toBe('/run/minicni/policy.sock');
    expect(JSON.parse(renderConflist(t, { ...v, policySocket: '/run/x/p.sock' })).plugins[0].p).toBe(
      '/run/x/p.sock',
    );
    expect(JSON.parse(renderConflist(t, { ...v, policySocket: null })).plugins[0].p).toBeNull();
    expect(JSON.parse(renderConflist(DEFAULT_TEMPLATE, v)).plugins[0].policySocket).toBe(
      '/run/minicni/policy.sock',
    );
  });

  it("fills __CLUSTER_CIDRS__ with the cluster CIDRs, else with the node's own pod CIDRs", () => {
    const t = '{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x","c":__CLUSTER_CIDRS__}]}';
    const given = {
      nodeName: 'n',
      podCIDRs: ['10.244.1.0/24'],
      clusterCIDRs: ['10.244.0.0/16', 'fd00::/48'],
    };
    expect(JSON.parse(renderConflist(t, given)).plugins[0].c).toEqual(['10.244.0.0/16', 'fd00::/48']);
    expect(
      JSON.parse(renderConflist(t, { nodeName: 'n', podCIDRs: ['10.244.1.0/24'] })).plugins[0].c,
    ).toEqual(['10.244.1.0/24']);
  });

  it('fills quoted placeholders, per-family ones and the list', () => {
    const t = `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x","a":"__NODE_SUBNET_V6__","b":__NODE_SUBNETS__,"n":"__NODE_NAME__"}]}`;
    const out = JSON.parse(
      renderConflist(t, { nodeName: 'node-1', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] }),
    );
    expect(out.plugins[0]).toEqual({
      type: 'x',
      a: 'fd00:1::/64',
      b: ['10.244.1.0/24', 'fd00:1::/64'],
      n: 'node-1',
    });
  });

  it('rejects unknown or empty placeholders and configs that are not CNI configs', () => {
    const v = { nodeName: 'n', podCIDRs: ['10.244.1.0/24'] };
    const code = { code: 'INVALID_TEMPLATE' };
    expect(() => renderConflist('{"x": __NOPE__}', v)).toThrow(expect.objectContaining(code));
    expect(() =>
      renderConflist('{"cniVersion":"1.0.0","name":"n","type":"t","s":__NODE_SUBNET_V6__}', v),
    ).toThrow(/no such pod CIDR/);
    expect(() => renderConflist('{"cniVersion":"1.0.0","name":"n"}', v)).toThrow(/plugins/);
    expect(() => renderConflist('{"cniVersion":"1.0.0","name":"n","plugins":[]}', v)).toThrow(
      /plugins must list at least one plugin/,
    );
    expect(() => renderConflist('not json', v)).toThrow(/not JSON/);
    expect(() => renderConflist('  \n', v)).toThrow(/template is empty/);
    expect(() => renderConflist('[]', v)).toThrow(/the rendered CNI config must be a JSON object/);
  });

  it('refuses by the CNI spec what a runtime or the plugin would refuse, as INVALID_TEMPLATE', () => {
    const v = { nodeName: 'n', podCIDRs: ['10.244.1.0/24'] };
    const refused = (doc: unknown, reason: RegExp) => {
      const render = () => renderConflist(JSON.stringify(doc), v);
      expect(render).toThrow(expect.objectContaining({ code: 'INVALID_TEMPLATE' }));
      expect(render).toThrow(/^the rendered CNI config is not a valid conflist: /);
      expect(render).toThrow(reason);
    };
    refused({ cniVersion: '1.0.0', name: 'bad name', plugins: [{ type: 'x' }] }, /network name "bad name"/);
    refused({ cniVersion: '9.9.9', name: 'n', plugins: [{ type: 'x' }] }, /9\.9\.9/);
    refused({ name: 'n', plugins: [{ type: 'x' }] }, /cniVersion is required/);
    refused(
      { cniVersion: '1.0.0', name: 'n', plugins: [{ type: '../x' }] },
      /plugins\[0\]\.type must not contain/,
    );
    refused({ cniVersion: '1.0.0', name: 'n', plugins: [{}] }, /plugins\[0\]\.type is required/);
    // A single-plugin .conf is upgraded first, then checked as the conflist it became.
    refused({ name: 'n', type: 'x' }, /cniVersion is required/);
    // What the spec allows passes through as written (CNI 1.1's cniVersions list, flags).
    const ok = { cniVersions: ['1.0.0', '1.1.0'], name: 'n', disableGC: true, plugins: [{ type: 'x' }] };
    expect(JSON.parse(renderConflist(JSON.stringify(ok), v))).toEqual(ok);
  });
});

describe('validatePodCidrs', () => {
  it('accepts one per family, rejects host bits and duplicates', () => {
    expect(validatePodCidrs(['10.244.1.0/24', 'fd00:1:0::/64'])).toEqual(['10.244.1.0/24', 'fd00:1::/64']);
    expect(() => validatePodCidrs(['10.244.1.0/24', '10.244.2.0/24'])).toThrow(
      /one pod CIDR per address family/,
    );
    expect(() => validatePodCidrs(['10.244.1.7/24'])).toThrow(
      expect.objectContaining({ code: 'INVALID_CIDR' }),
    );
    expect(() => validatePodCidrs([])).toThrow(expect.objectContaining({ code: 'NO_POD_CIDR' }));
  });
});

describe('install against the fake API server', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("reads the Node's podCIDRs, writes the conflist, and replaces the binary while a copy of it runs", async () => {
    const api = await FakeKubeApi.start({ token: 't0k' });
    cleanups.push(() => api.close());
    api.addNode({
      name: 'node-a',
      internalIPs: ['192.168.50.1'],
      podCIDRs: ['10.244.7.0/24', 'fd00:10:244:7::/64'],
    });
    const kube = new KubeClient({ server: api.url, token: () => 't0k' });
    const root = mkdtempSync(join(tmpdir(), 'agent-install-'));
    const confDir = join(root, 'etc/cni/net.d');
    const binDir = join(root, 'opt/cni/bin');
    const base = { nodeName: 'node-a', kube, confDir, binDir, template: SEED_TEMPLATE };

    // v1 of "the plugin" is a copy of sleep, so a copy of it can be kept running.
    const r1 = await install({ ...base, binaries: [{ src: '/usr/bin/sleep', name: 'minicni' }] });
    expect(r1.podCIDRs).toEqual(['10.244.7.0/24', 'fd00:10:244:7::/64']);
    expect(api.requests).toContain('/api/v1/nodes/node-a');
    const conf = JSON.parse(readFileSync(r1.confPath, 'utf8'));
    expect(r1.confPath).toBe(join(confDir, '10-minicni.conflist'));
    expect(conf.plugins[0].subnet).toBe('10.244.7.0/24');
    expect(statSync(r1.confPath).mode & 0o777).toBe(0o644);
    const plugin = join(binDir, 'minicni');
    expect(statSync(plugin).mode & 0o777).toBe(0o755);

    const running = spawn(plugin, ['60'], { stdio: 'ignore' });
    cleanups.push(() => void running.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 100));
    expect(running.exitCode).toBeNull();
    // What a naive installer (write in place) runs into while kubelet runs the plugin:
    expect(() => writeFileSync(plugin, 'x')).toThrow(expect.objectContaining({ code: 'ETXTBSY' }));

    // v2 is a different executable (true): the atomic copy must succeed while v1 runs.
    const r2 = await install({ ...base, binaries: [{ src: '/usr/bin/true', name: 'minicni' }] });
    expect(r2.binaries).toEqual([{ path: plugin, changed: true }]);
    expect(r2.confChanged).toBe(false);
    expect(readFileSync(plugin).equals(readFileSync('/usr/bin/true'))).toBe(true);
    expect(spawnSync(plugin).status).toBe(0);
    // The running copy is untouched: alive, still executing the old (now unlinked) file.
    expect(running.exitCode).toBeNull();
    expect(readlinkSync(`/proc/${running.pid}/exe`)).toMatch(/minicni \(deleted\)$/);

    // A restart (install again) keeps the config and rewrites nothing.
    const mtime = statSync(r1.confPath).mtimeMs;
    const r3 = await install({ ...base, binaries: [{ src: '/usr/bin/true', name: 'minicni' }] });
    expect(r3.confChanged).toBe(false);
    expect(r3.binaries[0]!.changed).toBe(false);
    expect(statSync(r1.confPath).mtimeMs).toBe(mtime);

    // A changed podCIDR (node re-created) rewrites the config atomically.
    api.updateNode({ name: 'node-a', internalIPs: ['192.168.50.1'], podCIDRs: ['10.244.8.0/24'] });
    const r4 = await install(base);
    expect(r4.confChanged).toBe(true);
    expect(JSON.parse(readFileSync(r1.confPath, 'utf8')).plugins[0].subnet).toBe('10.244.8.0/24');

    const ready = join(root, 'ready');
    writeFileSync(ready, '');
    const removed = uninstall({ confDir, binDir, binaryNames: ['minicni'], readyFile: ready });
    expect(removed.sort()).toEqual([r1.confPath, plugin, ready].sort());
    expect(existsSync(r1.confPath) || existsSync(plugin)).toBe(false);
    expect(uninstall({ confDir, binDir, binaryNames: ['minicni'], readyFile: ready })).toEqual([]);
  });

  it('uses --pod-cidr flags without asking the API, and fails clearly without any source', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agent-install-'));
    const r = await install({
      nodeName: 'x',
      podCIDRs: ['10.244.3.0/24'],
      confDir: root,
      binDir: join(root, 'bin'),
      template: DEFAULT_TEMPLATE,
    });
    expect(JSON.parse(readFileSync(r.confPath, 'utf8')).plugins[0]).toMatchObject({
      type: 'minicni',
      subnet: '10.244.3.0/24',
    });
    await expect(install({ nodeName: 'x', confDir: root, template: DEFAULT_TEMPLATE })).rejects.toMatchObject(
      {
        code: 'NO_POD_CIDR',
      },
    );
  });

  it('says when the Node has no podCIDR yet', async () => {
    const api = await FakeKubeApi.start();
    cleanups.push(() => api.close());
    api.addNode({ name: 'bare', internalIPs: ['192.168.50.1'] });
    const root = mkdtempSync(join(tmpdir(), 'agent-install-'));
    await expect(
      install({
        nodeName: 'bare',
        kube: new KubeClient({ server: api.url }),
        confDir: root,
        template: DEFAULT_TEMPLATE,
      }),
    ).rejects.toThrow(/allocate-node-cidrs/);
    expect(existsSync(join(root, '10-minicni.conflist'))).toBe(false);
  });
});
