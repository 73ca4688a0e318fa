import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.js';

describe('parseEnv', () => {
  it('reports every missing variable of the verb at once', () => {
    expect(() => parseEnv({ CNI_COMMAND: 'ADD' })).toThrow(
      'required environment variables missing for ADD: CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME',
    );
    expect(() => parseEnv({ CNI_COMMAND: 'GC' })).toThrow(/GC: CNI_PATH$/);
    expect(() => parseEnv({})).toThrow(expect.objectContaining({ code: 'ENV_MISSING' }));
    expect(() => parseEnv({ CNI_COMMAND: 'ATTACH' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_COMMAND' }),
    );
  });

  it('lets DEL come without a netns and STATUS with nothing', () => {
    const del = parseEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_NETNS: '' });
    expect(del.netns).toBeUndefined();
    expect(parseEnv({ CNI_COMMAND: 'STATUS' }).command).toBe('STATUS');
  });

  it('splits CNI_PATH', () => {
    const e = parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin::/usr/lib/cni' });
    expect(e.path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
  });
});
