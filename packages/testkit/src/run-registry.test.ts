import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRegistry, recordName, recordNetns, REGISTRY_ENV } from './run-registry.js';

describe('run registry', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads back the netns and names a run recorded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mct-registry-'));
    dirs.push(dir);
    const env = { [REGISTRY_ENV]: join(dir, 'netns') };
    recordNetns('mctnode1a2b3c', 4026532001, env);
    recordNetns('mctpod4d5e6f', 4026532002, env);
    recordName('mctbr7a8b9c', env);
    expect(readRegistry(env[REGISTRY_ENV])).toEqual({
      netns: new Set(['mctnode1a2b3c', 'mctpod4d5e6f']),
      inodes: new Set([4026532001, 4026532002]),
      names: new Set(['mctbr7a8b9c']),
    });
  });

  it('records nothing outside a privileged run, and reads an absent registry as empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mct-registry-'));
    dirs.push(dir);
    recordName('mctbr7a8b9c', {});
    recordNetns('mctnode1a2b3c', 1, {});
    expect(readRegistry(join(dir, 'netns'))).toEqual({
      netns: new Set(),
      inodes: new Set(),
      names: new Set(),
    });
  });
});
