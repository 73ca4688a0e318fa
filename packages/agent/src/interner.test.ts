import { describe, expect, it } from 'vitest';
import { Interner } from './interner.js';

describe('Interner', () => {
  it('shares equal label sets and keeps different ones apart', () => {
    const i = new Interner();
    const a = i.labels({ app: 'web', 'pod-template-hash': '7d9f' });
    expect(i.labels({ app: 'web', 'pod-template-hash': '7d9f' })).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    // Same text run together differently, a subset, a superset: each its own set.
    const b = i.labels({ app: 'we', 'bpod-template-hash': '7d9f' });
    const c = i.labels({ app: 'web' });
    const d = i.labels({ app: 'web', 'pod-template-hash': '7d9f', tier: 'db' });
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(b).toEqual({ app: 'we', 'bpod-template-hash': '7d9f' });
    expect(i.labels({})).toBe(i.labels({}));
  });

  it('starts a table afresh past its limit; values handed out stay valid', () => {
    const i = new Interner({ limit: 4 });
    const first = i.labels({ n: '0' });
    for (let n = 1; n < 10; n++) i.labels({ n: String(n) });
    expect(first).toEqual({ n: '0' });
    const again = i.labels({ n: '9' });
    expect(i.labels({ n: '9' })).toBe(again);
  });
});
