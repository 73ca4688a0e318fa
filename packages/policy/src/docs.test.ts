import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/policy.md', () => {
  it('names every runtime export of @minicni/policy', () => {
    expect(undocumentedExports(index, 'policy.md')).toEqual([]);
  });
});
