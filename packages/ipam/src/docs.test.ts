import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/ipam.md', () => {
  it('names every runtime export of @minicni/ipam', () => {
    expect(undocumentedExports(index, 'ipam.md')).toEqual([]);
  });
});
