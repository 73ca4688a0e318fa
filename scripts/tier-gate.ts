import { spawnSync } from 'node:child_process';

export interface TierGate {
  runPrivileged: boolean;
}

/**
 * Decides whether the root and e2e tiers run. They need CAP_NET_ADMIN (creating network
 * namespaces). Outside CI a machine that cannot run them skips them with one loud line;
 * under CI=true they always run, so a missing privilege fails the run instead of hiding.
 */
export function privilegedTierGate(env: NodeJS.ProcessEnv = process.env): TierGate {
  if (env.MINICNI_SKIP_PRIVILEGED === '1' && env.CI !== 'true') return { runPrivileged: false };
  if (env.CI === 'true') return { runPrivileged: true };
  const probe = spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
  if (probe.status === 0) return { runPrivileged: true };
  if (!announced) {
    announced = true;
    process.stderr.write(
      '\n!!! SKIPPING root and e2e test tiers: this user cannot create network namespaces ' +
        '(needs root / CAP_NET_ADMIN). Only the unit tier runs. Under CI=true they run and must pass. !!!\n\n',
    );
  }
  return { runPrivileged: false };
}

let announced = false;
