import { describe, expect, it } from 'vitest';
import { isPolicyError } from './errors.js';
import { EVERYTHING, formatSelector, parseSelector, selectorMatches, selectsAll } from './selector.js';

const sel = (raw: unknown) => parseSelector(raw, 'sel');

describe('label selectors', () => {
  it('the empty selector, null and absent select everything', () => {
    for (const raw of [{}, null, undefined, { matchLabels: {}, matchExpressions: [] }]) {
      const s = sel(raw);
      expect(selectsAll(s)).toBe(true);
      expect(selectorMatches(s, {})).toBe(true);
      expect(selectorMatches(s, { any: 'thing' })).toBe(true);
    }
    expect(selectorMatches(EVERYTHING, { a: 'b' })).toBe(true);
  });

  it('matchLabels needs every pair', () => {
    const s = sel({ matchLabels: { app: 'web', tier: 'front' } });
    expect(selectorMatches(s, { app: 'web', tier: 'front', x: 'y' })).toBe(true);
    expect(selectorMatches(s, { app: 'web' })).toBe(false);
    expect(selectorMatches(s, { app: 'web', tier: 'back' })).toBe(false);
  });

  it.each([
    ['In', ['a', 'b'], { k: 'a' }, true],
    ['In', ['a', 'b'], { k: 'c' }, false],
    ['In', ['a'], {}, false],
    ['NotIn', ['a'], { k: 'b' }, true],
    ['NotIn', ['a'], { k: 'a' }, false],
    ['NotIn', ['a'], {}, true], // a missing key satisfies NotIn
    ['Exists', [], { k: '' }, true],
    ['Exists', [], {}, false],
    ['DoesNotExist', [], {}, true],
    ['DoesNotExist', [], { k: 'x' }, false],
  ] as const)('%s %j on %j is %s', (operator, values, labels, want) => {
    const s = sel({ matchExpressions: [{ key: 'k', operator, values }] });
    expect(selectorMatches(s, labels)).toBe(want);
  });

  it('ANDs matchLabels and every expression', () => {
    const s = sel({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'debug', operator: 'DoesNotExist' },
      ],
    });
    expect(selectorMatches(s, { app: 'web', env: 'prod' })).toBe(true);
    expect(selectorMatches(s, { app: 'web', env: 'prod', debug: '1' })).toBe(false);
    expect(selectorMatches(s, { app: 'db', env: 'prod' })).toBe(false);
    expect(formatSelector(s)).toBe('app=web,env in (prod),!debug');
    expect(formatSelector(EVERYTHING)).toBe('(all)');
  });

  it('a label is not inherited from Object.prototype', () => {
    const s = sel({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] });
    expect(selectorMatches(s, {})).toBe(false);
  });

  it.each([
    [{ matchExpressions: [{ key: 'k', operator: 'In', values: [] }] }, 'needs at least one value'],
    [{ matchExpressions: [{ key: 'k', operator: 'NotIn' }] }, 'needs at least one value'],
    [{ matchExpressions: [{ key: 'k', operator: 'Exists', values: ['x'] }] }, 'takes no values'],
    [{ matchExpressions: [{ key: 'k', operator: 'Gt', values: ['1'] }] }, 'is not one of'],
    [{ matchExpressions: [{ key: 'bad key', operator: 'Exists' }] }, 'not a valid label key'],
    [{ matchLabels: { k: 'spaces are bad' } }, 'not a valid label value'],
    [{ matchLabels: { k: 5 } }, 'not a valid label value'],
    [{ matchLabels: [] }, 'must be a map'],
    [{ matchExpressions: {} }, 'must be a list'],
    ['app=web', 'must be an object'],
  ])('refuses %j (%s)', (raw, why) => {
    try {
      sel(raw);
      expect.unreachable();
    } catch (e) {
      expect(isPolicyError(e, 'INVALID_SELECTOR')).toBe(true);
      expect((e as Error).message).toContain(why);
    }
  });

  it('accepts prefixed keys and empty values', () => {
    const s = sel({ matchLabels: { 'kubernetes.io/metadata.name': 'x', empty: '' } });
    expect(selectorMatches(s, { 'kubernetes.io/metadata.name': 'x', empty: '' })).toBe(true);
  });
});
