import { describe, expect, it } from 'vitest';
import { formatCniArgs, parseCniArgs } from './cni-args.js';

describe('CNI_ARGS', () => {
  it('types the Kubernetes keys in any order', () => {
    const a = parseCniArgs(
      'K8S_POD_UID=u-1;IgnoreUnknown=1;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_NAMESPACE=default',
    );
    expect(a).toMatchObject({
      ignoreUnknown: true,
      k8sPodNamespace: 'default',
      k8sPodName: 'web',
      k8sPodInfraContainerId: 'abc',
      k8sPodUid: 'u-1',
    });
    expect(a.pairs).toHaveLength(5);
  });

  it('parses IP lists and MAC', () => {
    const a = parseCniArgs('IP=10.244.0.9,fd00::9/64;MAC=0a:58:0a:f4:00:09');
    expect(a.ips).toEqual(['10.244.0.9', 'fd00::9/64']);
    expect(a.mac).toBe('0a:58:0a:f4:00:09');
  });

  it('refuses unknown keys unless IgnoreUnknown, naming them all', () => {
    expect(() => parseCniArgs('FOO=1;BAR=2')).toThrow(/unknown keys FOO, BAR/);
    expect(parseCniArgs('FOO=1;IgnoreUnknown=true').pairs).toEqual([
      ['FOO', '1'],
      ['IgnoreUnknown', 'true'],
    ]);
    expect(parseCniArgs('FOO=1', ['FOO']).pairs).toEqual([['FOO', '1']]);
  });

  it('rejects malformed input with CNI_ARGS_INVALID', () => {
    for (const bad of ['novalue', '=x', 'IgnoreUnknown=maybe', 'IP=10.0.0.300', 'IP=10.0.0.1/40', 'MAC=zz']) {
      expect(() => parseCniArgs(bad), bad).toThrow(expect.objectContaining({ code: 'CNI_ARGS_INVALID' }));
    }
  });

  it('keeps = inside values and round-trips', () => {
    const a = parseCniArgs('IgnoreUnknown=1;X=a=b');
    expect(a.pairs[1]).toEqual(['X', 'a=b']);
    expect(formatCniArgs(a.pairs)).toBe('IgnoreUnknown=1;X=a=b');
    expect(parseCniArgs('').pairs).toEqual([]);
  });
});
