/**
 * Container images for the runtime fixtures, built on this machine from `busybox-static`
 * without any registry.
 *
 * API:
 * - `BUSYBOX_APPLETS`: the applets linked into the rootfs (sh, ip, ping, sleep, wget, nc, cat,
 *   ifconfig, route, httpd, plus a few helpers).
 * - `PAUSE_IMAGE = 'localhost/pause:test'`: the name the pause image is imported under.
 * - `busyboxRootfsTar(): Promise<string>`: path of a tar of a busybox root filesystem, for
 *   `podman import` (it also serves `/var/www/index.html` to `httpd -h /var/www`).
 * - `pauseImageTar(): Promise<string>`: path of an OCI image-layout tar whose entrypoint sleeps
 *   forever, tagged `localhost/pause:test` through the `io.containerd.image.name` annotation,
 *   for `ctr -a <sock> -n k8s.io images import <tar>`.
 * - `ociImageLayout(layerTar, {name, entrypoint})`: the pure part: the files of an OCI image
 *   layout (path -> bytes) for one uncompressed layer.
 *
 * Both tars are built once per test process in a private temp dir: the test run's own dir
 * (removed by the leak check's teardown) or one removed when the process exits.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './exec.js';

export const PAUSE_IMAGE = 'localhost/pause:test';

export const BUSYBOX_APPLETS = [
  'sh',
  'ip',
  'ping',
  'sleep',
  'wget',
  'nc',
  'cat',
  'ifconfig',
  'route',
  'httpd',
  'echo',
  'ls',
  'hostname',
  'kill',
  'true',
] as const;

const BUSYBOX = '/bin/busybox';

export interface OciImageOptions {
  /** Full image name, e.g. `localhost/pause:test`. */
  name: string;
  entrypoint: readonly string[];
  cmd?: readonly string[];
}

/**
 * The files of an OCI image layout holding one image made of one layer. The layer is stored
 * gzip-compressed; its uncompressed digest is the config's diff_id, as the image spec requires.
 */
export function ociImageLayout(layerTar: Buffer, opts: OciImageOptions): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const blob = (content: Buffer) => {
    const digest = `sha256:${sha256(content)}`;
    files.set(`blobs/sha256/${digest.slice(7)}`, content);
    return { digest, size: content.length };
  };
  const layer = blob(gzipSync(layerTar));
  const config = blob(
    json({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: opts.entrypoint,
        ...(opts.cmd ? { Cmd: opts.cmd } : {}),
        Env: ['PATH=/bin'],
        WorkingDir: '/',
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created_by: 'minicni testkit (busybox-static)' }],
    }),
  );
  const manifest = blob(
    json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const tag = opts.name.slice(opts.name.lastIndexOf(':') + 1);
  files.set(
    'index.json',
    json({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': opts.name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  files.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  return files;
}

let cacheDir: string | undefined;
let rootfsTar: Promise<string> | undefined;
let pauseTar: Promise<string> | undefined;

export function busyboxRootfsTar(): Promise<string> {
  rootfsTar ??= buildRootfsTar(join(imageCacheDir(), 'busybox-rootfs.tar')).catch((err: unknown) => {
    rootfsTar = undefined; // let the next caller try again
    throw err;
  });
  return rootfsTar;
}

export function pauseImageTar(): Promise<string> {
  pauseTar ??= (async () => {
    const layer = readFileSync(await busyboxRootfsTar());
    const layout = ociImageLayout(layer, { name: PAUSE_IMAGE, entrypoint: ['/bin/sleep', 'inf'] });
    const dir = join(imageCacheDir(), 'pause-layout');
    for (const [path, content] of layout) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const out = join(imageCacheDir(), 'pause-oci.tar');
    await tarDir(dir, out);
    return out;
  })().catch((err: unknown) => {
    pauseTar = undefined;
    throw err;
  });
  return pauseTar;
}

async function buildRootfsTar(out: string): Promise<string> {
  const root = join(imageCacheDir(), 'busybox-rootfs');
  rmSync(root, { recursive: true, force: true });
  for (const dir of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'root', 'var/www']) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  for (const applet of BUSYBOX_APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
  writeFileSync(join(root, 'var/www/index.html'), 'minicni testkit\n');
  await tarDir(root, out);
  return out;
}

/** A reproducible tar (sorted, root-owned, epoch mtime) of a directory's contents. */
async function tarDir(dir: string, out: string): Promise<void> {
  await run('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '-C',
    dir,
    '-cf',
    out,
    '.',
  ]);
}

/**
 * Inside a privileged test run the images live in that run's own temp dir, which the leak
 * check's teardown removes (vitest may end its workers without an 'exit' event). Elsewhere
 * the process's own temp dir goes when the process exits.
 */
function imageCacheDir(): string {
  if (cacheDir) return cacheDir;
  const registry = process.env.MINICNI_TEST_REGISTRY;
  if (registry && existsSync(dirname(registry))) {
    cacheDir = mkdtempSync(join(dirname(registry), 'images-'));
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'minicni-images-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    cacheDir = dir;
  }
  return cacheDir;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
