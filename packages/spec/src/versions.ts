/** Every published CNI specification version, oldest first. */
export const SPEC_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export type CniVersion = (typeof SPEC_VERSIONS)[number];

/** The newest version this library speaks; handlers build results in this shape. */
export const LATEST_VERSION: CniVersion = '1.1.0';

/** Versions whose results use `ip4`/`ip6` instead of `interfaces`/`ips`. */
export type LegacyVersion = '0.1.0' | '0.2.0';
/** Versions whose `ips[]` carry a `version` field. */
export type V04Version = '0.3.0' | '0.3.1' | '0.4.0';
/** Versions whose `ips[]` have no `version` field. */
export type V1Version = '1.0.0' | '1.1.0';

export function isCniVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SPEC_VERSIONS as readonly string[]).includes(v);
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;

/** Parses `x.y.z`; anything else is undefined (the spec only ever uses three numbers). */
export function parseVersion(v: string): [number, number, number] | undefined {
  const m = SEMVER.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Orders two `x.y.z` versions; malformed ones sort before every well-formed one. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return parseVersion(v) !== undefined && compareVersions(v, min) >= 0;
}

export function isLegacyVersion(v: CniVersion): v is LegacyVersion {
  return v === '0.1.0' || v === '0.2.0';
}

export function isV04Version(v: CniVersion): v is V04Version {
  return v === '0.3.0' || v === '0.3.1' || v === '0.4.0';
}

/**
 * Picks the version a runtime uses from a conflist's `cniVersions` (spec 1.1.0): the highest
 * one that the reader supports. Returns undefined when none is supported.
 */
export function pickHighestVersion(
  offered: readonly string[],
  supported: readonly string[] = SPEC_VERSIONS,
): string | undefined {
  let best: string | undefined;
  for (const v of offered) {
    if (!supported.includes(v) || parseVersion(v) === undefined) continue;
    if (best === undefined || compareVersions(v, best) > 0) best = v;
  }
  return best;
}
