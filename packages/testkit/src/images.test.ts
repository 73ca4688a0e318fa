import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ociImageLayout } from './images.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('ociImageLayout', () => {
  const layer = Buffer.from('not really a tar, but bytes to digest');
  const files = ociImageLayout(layer, { name: 'localhost/pause:test', entrypoint: ['/bin/sleep', 'inf'] });
  const read = (path: string) => {
    const f = files.get(path);
    if (!f) throw new Error(`missing ${path}`);
    return f;
  };
  const blob = (digest: string) => read(`blobs/sha256/${digest.slice('sha256:'.length)}`);

  it('names the image through the containerd annotation and links index -> manifest -> config/layer by digest', () => {
    expect(JSON.parse(read('oci-layout').toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(read('index.json').toString());
    const entry = index.manifests[0];
    expect(entry.annotations['io.containerd.image.name']).toBe('localhost/pause:test');
    expect(entry.annotations['org.opencontainers.image.ref.name']).toBe('test');
    const manifestBytes = blob(entry.digest);
    expect(sha(manifestBytes)).toBe(entry.digest);
    expect(manifestBytes.length).toBe(entry.size);

    const manifest = JSON.parse(manifestBytes.toString());
    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    const gz = blob(manifest.layers[0].digest);
    expect(gz.length).toBe(manifest.layers[0].size);
    expect(gunzipSync(gz).equals(layer)).toBe(true);

    const config = JSON.parse(blob(manifest.config.digest).toString());
    expect(config.config.Entrypoint).toEqual(['/bin/sleep', 'inf']);
    // diff_ids digest the uncompressed layer, not the gzip blob.
    expect(config.rootfs.diff_ids).toEqual([sha(layer)]);
    expect(config.os).toBe('linux');
  });

  it('holds exactly the layout files and three blobs', () => {
    expect([...files.keys()].filter((k) => k.startsWith('blobs/'))).toHaveLength(3);
    expect(files.has('index.json') && files.has('oci-layout')).toBe(true);
  });
});
