import { createHash } from 'node:crypto';
import { IpamError } from './errors.js';

/** Who holds an address: one interface of one container (the CNI attachment key). */
export interface Owner {
  readonly containerId: string;
  readonly ifname: string;
}

// containerID is opaque to CNI before 1.0, so only what would break the on-disk format is refused.
const BAD_ID = /[\r\n\0]/;
const BAD_IFNAME = /[/:\s\0]/;

export function assertOwner(owner: Owner): void {
  if (typeof owner !== 'object' || owner === null)
    throw new IpamError('INVALID_OWNER', 'owner must be {containerId, ifname}');
  const { containerId, ifname } = owner;
  if (typeof containerId !== 'string' || containerId.trim() === '' || BAD_ID.test(containerId)) {
    throw new IpamError(
      'INVALID_OWNER',
      `containerId ${JSON.stringify(containerId)} is empty or holds line breaks`,
    );
  }
  if (
    typeof ifname !== 'string' ||
    ifname === '' ||
    ifname === '.' ||
    ifname === '..' ||
    Buffer.byteLength(ifname) > 15 ||
    BAD_IFNAME.test(ifname)
  ) {
    throw new IpamError(
      'INVALID_OWNER',
      `ifname ${JSON.stringify(ifname)} is not a valid interface name (1-15 bytes, no / : or spaces)`,
    );
  }
}

/**
 * Does a stored owner match a requested one? Old host-local files hold only the container ID
 * (stored ifname ''), which matches any interface of that container, as host-local treats them.
 */
export function ownerMatches(stored: Owner, wanted: Owner): boolean {
  return (
    stored.containerId === wanted.containerId.trim() &&
    (stored.ifname === '' || stored.ifname === wanted.ifname)
  );
}

/** Fixed-length, path-safe key for an owner (the index directory name). */
export function ownerKey(owner: Owner): string {
  return createHash('sha256')
    .update(`${owner.containerId.trim()}\0${owner.ifname}`)
    .digest('hex')
    .slice(0, 40);
}

export function formatOwner(owner: Owner | undefined): string {
  return owner ? `${owner.containerId}/${owner.ifname || '*'}` : '(unowned)';
}
