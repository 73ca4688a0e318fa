import { readdir } from 'node:fs/promises';
import { IpamError } from './errors.js';
import { isCanonicalIp } from './file-format.js';
import { DEFAULT_DATA_DIR } from './file-store.js';
import { assertDataDir, isNetworkName, networkDir } from './paths.js';

/*
 * Read-only views of a host-local-format dataDir for monitors (an agent's /metrics, status
 * tools). They read directory listings only: no lock, no file content, nothing created, so a
 * scrape never waits on or disturbs a plugin's ADD. The answer is a snapshot, not a consistent
 * read: to act on reservations, use FileStore under `exclusive`. Unlike FileStore these are
 * asynchronous, because their callers are long-running servers whose event loop must keep
 * answering while a large directory is listed.
 */

/** The networks of a dataDir: subdirectories with a valid network name, sorted. None if it is missing. */
export async function listNetworks(dataDir: string = DEFAULT_DATA_DIR): Promise<string[]> {
  assertDataDir(dataDir);
  const entries = await listDir(dataDir);
  return entries
    .filter((e) => e.isDirectory() && isNetworkName(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * The addresses a network holds in a dataDir, canonical text, sorted as text: one per address
 * file, whoever wrote it (host-local or FileStore). None if the network has no directory.
 */
export async function listReservedIps(dataDir: string, network: string): Promise<string[]> {
  const entries = await listDir(networkDir(dataDir, network));
  return entries
    .filter((e) => e.isFile() && isCanonicalIp(e.name))
    .map((e) => e.name)
    .sort();
}

async function listDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new IpamError('STORE_IO', `cannot list ${dir}: ${(cause as Error).message}`, { cause });
  }
}
