import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/agent.md', () => {
  it('names every runtime export of @minicni/agent', () => {
    expect(undocumentedExports(index, 'agent.md')).toEqual([]);
  });
});
