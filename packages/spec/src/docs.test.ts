import { undocumentedExports } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import * as index from './index.js';
import * as invoke from './invoke.js';
import * as runner from './runner.js';

describe('docs/spec.md', () => {
  it('names every runtime export of @minicni/spec', () => {
    expect(undocumentedExports({ ...index, ...invoke, ...runner }, 'spec.md')).toEqual([]);
  });
});
