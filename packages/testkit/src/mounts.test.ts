import { describe, expect, it } from 'vitest';
import { mountsUnder } from './mounts.js';

const line = (id: number, point: string) =>
  `${id} 1 0:${id} / ${point} rw,relatime shared:1 - tmpfs tmpfs rw`;

describe('mountsUnder', () => {
  const info = [
    line(1, '/'),
    line(2, '/tmp/fx'),
    line(3, '/tmp/fx/root/overlay'),
    line(4, '/tmp/fx/root/overlay/abc/merged'),
    line(5, '/tmp/fxother'),
    line(6, '/tmp/fx/with\\040space'),
    line(7, '/tmp/fx/root/overlay'),
  ].join('\n');

  it('lists the dir and everything below it, deepest first, once each', () => {
    expect(mountsUnder('/tmp/fx/', info)).toEqual([
      '/tmp/fx/root/overlay/abc/merged',
      '/tmp/fx/root/overlay',
      '/tmp/fx/with space',
      '/tmp/fx',
    ]);
  });

  it('ignores siblings that only share a prefix', () => {
    expect(mountsUnder('/tmp/fxo', info)).toEqual([]);
  });
});
