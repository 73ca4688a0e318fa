import { describe, expect, it } from 'vitest';
import { CniError } from '@minicni/spec';
import { parseIpamChoice } from './ipam-choice.js';

describe('parseIpamChoice', () => {
  it('takes type "minicni" as the built-in allocator, the rest of the object as its section', () => {
    expect(parseIpamChoice({ type: 'minicni', subnet: '10.244.0.0/24' })).toEqual({
      kind: 'builtin',
      section: { subnet: '10.244.0.0/24' },
    });
  });

  it('delegates to any other plugin name', () => {
    expect(parseIpamChoice({ type: 'host-local', subnet: '10.244.0.0/24' })).toEqual({
      kind: 'delegate',
      type: 'host-local',
    });
  });

  it('reads an untyped object as built in only when the plugin says so', () => {
    expect(parseIpamChoice({ subnet: '10.1.0.0/16' }, { untypedIsBuiltin: true })).toEqual({
      kind: 'builtin',
      section: { subnet: '10.1.0.0/16' },
    });
    expect(() => parseIpamChoice({ subnet: '10.1.0.0/16' })).toThrow(/"ipam.type" must be a plugin name/);
  });

  it.each([
    ['a string', 'host-local'],
    ['an array', []],
    ['null', null],
    ['a path as type', { type: '../../bin/sh' }],
    ['a number as type', { type: 7 }],
    ['an empty type', { type: '' }],
  ])('refuses %s with code 7', (_, ipam) => {
    let code: number | undefined;
    try {
      parseIpamChoice(ipam);
    } catch (err) {
      code = err instanceof CniError ? err.code : -1;
    }
    expect(code).toBe(7);
  });
});
