import type { Dirent } from 'node:fs';
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
  return namesIn(dataDir, (e) => e.isDirectory() && isNetworkName(e.name));
}

/**
 * The addresses a network holds in a dataDir, canonical text, sorted as text: one per address
 * file, whoever wrote it (host-local or FileStore). None if the network has no directory.
 */
export async function listReservedIps(dataDir: string, network: string): Promise<string[]> {
  return namesIn(networkDir(dataDir, network), (e) => e.isFile() && isCanonicalIp(e.name));
}

/** The sorted names of the entries `keep` accepts; a missing directory (or a file) has none. */
async function namesIn(dir: string, keep: (entry: Dirent) => boolean): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new IpamError('STORE_IO', `cannot list ${dir}: ${(cause as Error).message}`, { cause });
  }
  return entries
    .filter(keep)
    .map((e) => e.name)
    .sort();
}
