import { describe, expect, it } from 'vitest';
import { confListFromConf, parseConfList, parseNetConf } from './config.js';
import { SpecError } from './errors.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SpecError ? err.code : 'OTHER';
  }
}

describe('parseNetConf', () => {
  it('keeps plugin fields, defaults cniVersion to 0.1.0', () => {
    const c = parseNetConf('{"name":"n","type":"bridge","bridge":"cni0","mtu":1450}');
    expect(c).toMatchObject({ cniVersion: '0.1.0', name: 'n', type: 'bridge', bridge: 'cni0', mtu: 1450 });
  });

  it('tells decode failures (6) from invalid config (7)', () => {
    expect(codeOf(() => parseNetConf(''))).toBe('CONFIG_DECODE');
    expect(codeOf(() => parseNetConf('{"name":'))).toBe('CONFIG_DECODE');
    expect(codeOf(() => parseNetConf('"str"'))).toBe('CONFIG_DECODE');
    expect(codeOf(() => parseNetConf('{"cniVersion":1,"name":"n","type":"t"}'))).toBe('CONFIG_DECODE');
    expect(codeOf(() => parseNetConf('{"name":"n","type":"t","capabilities":{"x":"yes"}}'))).toBe(
      'CONFIG_DECODE',
    );
    expect(codeOf(() => parseNetConf('{"name":"n"}'))).toBe('CONFIG_INVALID');
    expect(codeOf(() => parseNetConf('{"type":"t"}'))).toBe('NETWORK_NAME_INVALID');
    expect(codeOf(() => parseNetConf('{"name":"n","type":"t","ipam":{}}'))).toBe('CONFIG_INVALID');
    expect(codeOf(() => parseNetConf('{"name":"n","type":"t","ipam":{"type":"../x"}}'))).toBe(
      'CONFIG_INVALID',
    );
    expect(codeOf(() => parseNetConf('{"cniVersion":"0.5.0","name":"n","type":"t"}'))).toBe(
      'VERSION_UNSUPPORTED',
    );
  });

  it('parses prevResult of another version into the config version, then the 1.1.0 shape', () => {
    const c = parseNetConf(
      JSON.stringify({
        cniVersion: '0.2.0',
        name: 'n',
        type: 't',
        prevResult: {
          cniVersion: '1.0.0',
          interfaces: [{ name: 'eth0' }],
          ips: [{ address: '10.0.0.2/24', interface: 0 }, { address: '10.0.0.3/24' }],
        },
      }),
    );
    // Through 0.2.0: interfaces and the second IPv4 address cannot survive.
    expect(c.prevResult).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] });
    const noVersion = parseNetConf(
      JSON.stringify({
        cniVersion: '0.4.0',
        name: 'n',
        type: 't',
        prevResult: { ips: [{ version: '4', address: '10.0.0.2/24' }] },
      }),
    );
    expect(noVersion.prevResult?.ips).toEqual([{ address: '10.0.0.2/24' }]);
    expect(
      codeOf(() =>
        parseNetConf(
          JSON.stringify({ cniVersion: '0.2.0', name: 'n', type: 't', prevResult: { cniVersion: '1.0.0' } }),
        ),
      ),
    ).toBe('PREV_RESULT_INVALID');
  });

  it('validates runtimeConfig per capability and keeps unknown ones', () => {
    const rc = {
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'TCP', hostIP: '10.0.0.1' }],
      ipRanges: [[{ subnet: '10.244.0.0/24', gateway: '10.244.0.1' }]],
      bandwidth: { ingressRate: 1000, egressBurst: 10 },
      dns: { servers: ['10.96.0.10'], searches: ['svc'], options: ['ndots:5'] },
      ips: ['10.244.0.9/24', 'fd00::9'],
      mac: '0a:58:0a:f4:00:09',
      aliases: ['a'],
      cgroupPath: '/kubepods',
      'io.kubernetes.cri.pod-annotations': { a: 'b' },
      custom: { anything: true },
    };
    expect(parseNetConf(JSON.stringify({ name: 'n', type: 't', runtimeConfig: rc })).runtimeConfig).toEqual(
      rc,
    );
    for (const bad of [
      { portMappings: [{ hostPort: 70000, containerPort: 1 }] },
      { portMappings: [{ hostPort: 80, containerPort: 1, protocol: 'icmp' }] },
      { portMappings: [{ containerPort: 1 }] },
      { ipRanges: [{ subnet: '10.0.0.0/8' }] },
      { ipRanges: [[{ subnet: '10.0.0.0/40' }]] },
      { bandwidth: { ingressRate: -1 } },
      { dns: { servers: ['dns.example'] } },
      { ips: ['x'] },
      { mac: 'zz' },
      { 'io.kubernetes.cri.pod-annotations': { a: 1 } },
    ]) {
      expect(
        codeOf(() => parseNetConf(JSON.stringify({ name: 'n', type: 't', runtimeConfig: bad }))),
        JSON.stringify(bad),
      ).toBe('RUNTIME_CONFIG_INVALID');
    }
  });
});

describe('parseConfList', () => {
  it('parses lists and flags given as strings', () => {
    const l = parseConfList(
      '{"cniVersion":"1.0.0","name":"n","disableCheck":"true","plugins":[{"type":"a"},{"type":"b"}]}',
    );
    expect(l).toMatchObject({ cniVersion: '1.0.0', name: 'n', disableCheck: true, disableGC: false });
    expect(l.plugins.map((p) => p.type)).toEqual(['a', 'b']);
  });

  it('refuses lists without plugins, version, or with no supported cniVersions', () => {
    expect(codeOf(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[]}'))).toBe(
      'CONFIG_INVALID',
    );
    expect(codeOf(() => parseConfList('{"name":"n","plugins":[{"type":"a"}]}'))).toBe('CONFIG_INVALID');
    expect(codeOf(() => parseConfList('{"cniVersions":["2.0.0"],"name":"n","plugins":[{"type":"a"}]}'))).toBe(
      'VERSION_UNSUPPORTED',
    );
    expect(codeOf(() => parseConfList('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a/b"}]}'))).toBe(
      'CONFIG_INVALID',
    );
  });

  it('turns a plain .conf into a one-plugin list', () => {
    const l = confListFromConf('{"cniVersion":"0.3.1","name":"n","type":"bridge","bridge":"cni0"}');
    expect(l.cniVersion).toBe('0.3.1');
    expect(l.plugins).toEqual([{ cniVersion: '0.3.1', name: 'n', type: 'bridge', bridge: 'cni0' }]);
  });
});
