import { hostVethNaming } from '@minicni/kit';

/** The ptp plugin's host veths: prefix `ptp`, so they never collide with another plugin's. */
export const hostVeth = hostVethNaming('ptp');
