import { CniError, ErrorCode } from '@minicni/spec';
import { Netlink } from '@minicni/netlink';

/**
 * ADD's first look into the pod: the netns must open (else CNI code 8) and hold no interface
 * named `ifname` yet (else code 4). Checked before anything is reserved or created, so a
 * runtime's repeated ADD fails without side effects.
 */
export async function checkIfnameFree(netns: string, ifname: string): Promise<void> {
  let pod: Netlink;
  try {
    pod = Netlink.open({ netns });
  } catch (err) {
    throw new CniError(
      ErrorCode.InvalidNetns,
      `cannot open the pod netns ${netns}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    if (await pod.links.find(ifname))
      throw new CniError(ErrorCode.InvalidEnvironment, `interface ${ifname} already exists in ${netns}`);
  } finally {
    pod.close();
  }
}
