import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/netfilter.md', () => {
  it('names every runtime export of @minicni/netfilter', () => {
    expect(undocumentedExports(index, 'netfilter.md')).toEqual([]);
  });
});
