import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/minicni.md', () => {
  it('names every runtime export of minicni', () => {
    expect(undocumentedExports(index, 'minicni.md')).toEqual([]);
  });
});
