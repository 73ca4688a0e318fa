import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { latestResult } from '../test/result-arbitraries.js';
import { convertResult } from './result-convert.js';
import { parseResult } from './result-parse.js';
import { SPEC_VERSIONS, compareVersions, type CniVersion } from './versions.js';
import type { AnyResult } from './result-types.js';

const pairs: [CniVersion, CniVersion][] = [];
for (const low of SPEC_VERSIONS) {
  for (const high of SPEC_VERSIONS) if (compareVersions(low, high) < 0) pairs.push([low, high]);
}

function hasIp(r: AnyResult): boolean {
  return (r as { ips?: unknown[] }).ips?.length !== undefined && (r as { ips: unknown[] }).ips.length > 0;
}

describe('result conversion properties', () => {
  it('down then up keeps everything the lower version can hold (every version pair)', () => {
    fc.assert(
      fc.property(latestResult, fc.constantFrom(...pairs), (r, [low, high]) => {
        const legacy = low === '0.1.0' || low === '0.2.0';
        fc.pre(!legacy || hasIp(r));
        const start = convertResult(r, high);
        const down = convertResult(start, low);
        // Going up is lossless: what the lower version holds comes back identical, field for field.
        expect(convertResult(convertResult(down, high), low)).toEqual(down);
        // And the way down does not matter: through any version in between gives the same.
        for (const mid of SPEC_VERSIONS) {
          if (compareVersions(mid, low) > 0 && compareVersions(mid, high) < 0) {
            expect(convertResult(convertResult(start, mid), low)).toEqual(down);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('from 0.3.0 upwards nothing but 1.1.0-only fields is ever dropped', () => {
    fc.assert(
      fc.property(latestResult, (r) => {
        const r100 = convertResult(r, '1.0.0');
        for (const v of ['0.3.0', '0.3.1', '0.4.0'] as const) {
          expect(convertResult(convertResult(r100, v), '1.0.0')).toEqual(r100);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('every conversion output parses as a valid result of its version', () => {
    fc.assert(
      fc.property(latestResult, fc.constantFrom(...SPEC_VERSIONS), (r, v) => {
        fc.pre(v !== '0.1.0' && v !== '0.2.0' ? true : hasIp(r));
        const out = convertResult(r, v);
        expect(parseResult(JSON.parse(JSON.stringify(out)))).toEqual(out);
      }),
      { numRuns: 1000 },
    );
  });
});
