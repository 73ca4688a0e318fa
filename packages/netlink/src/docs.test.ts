import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';

describe('docs/netlink.md', () => {
  it('names every runtime export of @minicni/netlink', () => {
    expect(undocumentedExports(index, 'netlink.md')).toEqual([]);
  });
});
