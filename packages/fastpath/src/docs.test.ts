import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/fastpath.md', () => {
  it('names every runtime export of @minicni/fastpath', () => {
    expect(undocumentedExports(index, 'fastpath.md')).toEqual([]);
  });
});
