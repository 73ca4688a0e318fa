import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ListSplitter } from './list-splitter.js';

/** Feeds `text` to a splitter cut at `cuts` (byte offsets); returns the items and the rest. */
function split(text: string, cuts: number[] = []) {
  const bytes = Buffer.from(text);
  const items: unknown[] = [];
  const s = new ListSplitter((i) => items.push(i));
  let at = 0;
  for (const c of [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)) {
    s.push(bytes.subarray(at, c));
    at = c;
  }
  s.push(bytes.subarray(at));
  return { items, rest: s.end<Record<string, unknown>>(), count: s.items };
}

describe('ListSplitter', () => {
  it('yields every item and the list without them, however the bytes are cut', () => {
    const item = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 8 }),
        fc.record({ resourceVersion: fc.string(), continue: fc.string() }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        (items, metadata, cuts, itemsFirst) => {
          const list = itemsFirst
            ? { items, kind: 'PodList', metadata }
            : { kind: 'PodList', apiVersion: 'v1', metadata, items };
          const text = JSON.stringify(list, null, cuts.length % 2 ? 1 : undefined);
          const r = split(
            text,
            cuts.map((c) => c % (Buffer.byteLength(text) + 1)),
          );
          expect(r.items).toEqual(JSON.parse(JSON.stringify(items)));
          expect(r.count).toBe(items.length);
          expect(r.rest).toEqual({ ...JSON.parse(JSON.stringify(list)), items: [] });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is not fooled by braces, brackets, quotes and "items" inside strings, nor by multi-byte text', () => {
    const tricky = {
      metadata: { resourceVersion: '7', note: 'a "items":[ {x} ]\\' },
      items: [{ s: '}]{["\\"', n: 'ünïcødé ✓ 😀', items: ['nested'] }, { k: { items: [1, { a: [] }] } }],
    };
    const text = JSON.stringify(tricky);
    for (let cut = 0; cut <= Buffer.byteLength(text); cut++) {
      const r = split(text, [cut]);
      expect(r.items).toEqual(tricky.items);
      expect(r.rest.metadata).toEqual(tricky.metadata);
    }
  });

  it('fails on a body that ends early or an item that is not an object', () => {
    expect(() => split('{"metadata":{},"items":[{"a":1},{"b"')).toThrow(/ended early/);
    expect(() => split('{"items":[1,2]}')).toThrow(/not an object/);
    expect(() => split('{"items":[]}}')).toThrow(/unbalanced/);
  });
});
