import { MINICNI_STAMP_DIR } from '@minicni/testkit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STAMP_DIR } from './rules-stamp.js';

describe('rules stamps', () => {
  it('live where the test kit removes them with a test node', () => {
    // The test kit cannot import minicni (minicni's tests import the kit), so it keeps a copy
    // of the path; this keeps the copy true.
    expect(MINICNI_STAMP_DIR).toBe(DEFAULT_STAMP_DIR);
  });
});
