import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/kit.md', () => {
  it('names every runtime export of @minicni/kit', () => {
    expect(undocumentedExports(index, 'kit.md')).toEqual([]);
  });
});
