import { SpecError } from './errors.js';
import { isIP, isMac } from './ip.js';

/** CNI_ARGS parsed: the keys runtimes send typed, every pair kept in order. */
export interface CniArgs {
  ignoreUnknown: boolean;
  k8sPodNamespace?: string;
  k8sPodName?: string;
  k8sPodInfraContainerId?: string;
  k8sPodUid?: string;
  /** `IP=a,b`: static addresses requested (podman, host-local); each an IP, optionally `/prefix`. */
  ips?: string[];
  /** `MAC=`: a static MAC requested. */
  mac?: string;
  /** Every `K=V` pair in the order given (duplicates kept; the last one wins above). */
  pairs: [string, string][];
}

/** Keys this parser knows; a plugin adds its own with `knownKeys`. */
export const KNOWN_CNI_ARGS = [
  'IgnoreUnknown',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
  'IP',
  'MAC',
] as const;

function fail(msg: string, details?: string): never {
  throw new SpecError(
    'CNI_ARGS_INVALID',
    `CNI_ARGS: ${msg}`,
    details === undefined ? undefined : { details },
  );
}

/** Go's UnmarshallableBool: 1/true and 0/false, case-insensitive. */
function parseBool(key: string, v: string): boolean {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  return fail(`${key}=${JSON.stringify(v)} is not a boolean (use 1/true or 0/false)`);
}

/**
 * Parses `K=V;K=V`. Unknown keys are an error unless `IgnoreUnknown` is true (the Go rule),
 * and every unknown key is named in the one error.
 */
export function parseCniArgs(raw: string | undefined, knownKeys: readonly string[] = []): CniArgs {
  const out: CniArgs = { ignoreUnknown: false, pairs: [] };
  if (raw === undefined || raw === '') return out;
  for (const part of raw.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) fail(`${JSON.stringify(part)} is not KEY=VALUE`, raw);
    out.pairs.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  const unknown: string[] = [];
  for (const [k, v] of out.pairs) {
    switch (k) {
      case 'IgnoreUnknown':
        out.ignoreUnknown = parseBool(k, v);
        break;
      case 'K8S_POD_NAMESPACE':
        out.k8sPodNamespace = v;
        break;
      case 'K8S_POD_NAME':
        out.k8sPodName = v;
        break;
      case 'K8S_POD_INFRA_CONTAINER_ID':
        out.k8sPodInfraContainerId = v;
        break;
      case 'K8S_POD_UID':
        out.k8sPodUid = v;
        break;
      case 'IP':
        out.ips = parseIps(v);
        break;
      case 'MAC':
        if (!isMac(v)) fail(`MAC=${JSON.stringify(v)} is not a MAC address`);
        out.mac = v;
        break;
      default:
        if (!knownKeys.includes(k)) unknown.push(k);
    }
  }
  if (unknown.length && !out.ignoreUnknown) {
    fail(`unknown keys ${unknown.join(', ')} (a runtime sets IgnoreUnknown=1 to allow them)`, raw);
  }
  return out;
}

function parseIps(v: string): string[] {
  const ips = v.split(',').map((s) => s.trim());
  for (const ip of ips) {
    const slash = ip.indexOf('/');
    const addr = slash < 0 ? ip : ip.slice(0, slash);
    const prefix = slash < 0 ? undefined : ip.slice(slash + 1);
    const max = addr.includes(':') ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (!isIP(addr) || !prefixOk) fail(`IP=${JSON.stringify(v)}: ${JSON.stringify(ip)} is not an IP address`);
  }
  return ips;
}

/** Formats pairs back into a CNI_ARGS string (for runtimes and delegation). */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}
