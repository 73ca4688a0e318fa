import type { GcAttachment, IpamConfig, NetConf, NetConfList, PluginConf } from './config-types.js';
import { SpecError } from './errors.js';
import { JsonReader, isObject, typeName } from './json-check.js';
import { validateNetworkName } from './names.js';
import { convertResult, toLatest } from './result-convert.js';
import { parseResult } from './result-parse.js';
import { parseRuntimeConfig } from './runtime-config.js';
import { isCniVersion, pickHighestVersion, SPEC_VERSIONS, type CniVersion } from './versions.js';

// Wrong JSON types are decoding failures (6), as they are for Go's json.Unmarshal; missing or
// semantically wrong values are invalid configuration (7).
const decode: JsonReader = new JsonReader('CONFIG_DECODE', 'network config');
const invalid: JsonReader = new JsonReader('CONFIG_INVALID', 'network config');

/** Decodes JSON bytes into an object; anything else is CONFIG_DECODE. */
export function decodeJsonObject(raw: string | Uint8Array, what = 'network config'): Record<string, unknown> {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new SpecError(
      'CONFIG_DECODE',
      text.trim() === '' ? `${what} is empty (expected JSON on stdin)` : `${what} is not JSON: ${why}`,
    );
  }
  if (!isObject(v)) throw new SpecError('CONFIG_DECODE', `${what} must be a JSON object, got ${typeName(v)}`);
  return v;
}

/** The config's cniVersion: missing or empty means 0.1.0 (as in Go); unknown is an error. */
export function readCniVersion(o: Record<string, unknown>, what = 'network config'): CniVersion {
  const v = o.cniVersion;
  if (v === undefined || v === null || v === '') return '0.1.0';
  if (typeof v !== 'string') throw new SpecError('CONFIG_DECODE', `${what}: cniVersion must be a string`);
  if (!isCniVersion(v)) {
    throw new SpecError(
      'VERSION_UNSUPPORTED',
      `${what}: cniVersion ${JSON.stringify(v)} is not a CNI version (known: ${SPEC_VERSIONS.join(', ')})`,
      { details: `config is ${JSON.stringify(v)}` },
    );
  }
  return v;
}

/**
 * Parses and validates the configuration a plugin reads on stdin. `prevResult` is parsed in its
 * own version (the config's when it has none), converted to the config's version the way Go's
 * `ParsePrevResult` does, then handed over in the 1.1.0 shape.
 */
export function parseNetConf(raw: string | Uint8Array): NetConf {
  const o = decodeJsonObject(raw);
  const cniVersion = readCniVersion(o);
  const name = decode.optString(o, 'name', '') ?? '';
  validateNetworkName(name);
  const type = decode.optString(o, 'type', '');
  if (type === undefined || type === '') invalid.fail('type', 'is required (the plugin binary name)');
  const out: NetConf = { ...o, cniVersion, name, type };
  const caps = readCapabilities(o);
  if (caps) out.capabilities = caps;
  if (o.ipam !== undefined && o.ipam !== null) out.ipam = readIpam(o.ipam);
  if (o.args !== undefined && o.args !== null) out.args = decode.object(o.args, 'args');
  if (o.runtimeConfig !== undefined && o.runtimeConfig !== null) {
    out.runtimeConfig = parseRuntimeConfig(o.runtimeConfig);
  }
  if (o.prevResult !== undefined && o.prevResult !== null) {
    out.prevResult = parsePrevResult(o.prevResult, cniVersion);
  } else {
    delete out.prevResult;
  }
  return out;
}

/** prevResult of any version → config version (dropping what it cannot hold) → 1.1.0 shape. */
export function parsePrevResult(value: unknown, configVersion: CniVersion) {
  const parsed = parseResult(value, {
    defaultVersion: configVersion,
    code: 'PREV_RESULT_INVALID',
    what: 'prevResult',
  });
  try {
    return toLatest(convertResult(parsed, configVersion));
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    throw new SpecError('PREV_RESULT_INVALID', `prevResult: ${err.message}`, { cause: err });
  }
}

function readCapabilities(o: Record<string, unknown>): Record<string, boolean> | undefined {
  if (o.capabilities === undefined || o.capabilities === null) return undefined;
  const caps = decode.object(o.capabilities, 'capabilities');
  for (const [k, v] of Object.entries(caps)) {
    if (typeof v !== 'boolean') decode.fail(`capabilities.${k}`, `must be true or false, got ${typeName(v)}`);
  }
  return caps as Record<string, boolean>;
}

function readIpam(v: unknown): IpamConfig {
  const ipam = decode.object(v, 'ipam');
  const type = decode.optString(ipam, 'type', 'ipam.');
  if (type === undefined || type === '') invalid.fail('ipam.type', 'is required');
  if (type.includes('/')) invalid.fail('ipam.type', `must be a plugin name without "/": ${type}`);
  return { ...ipam, type };
}

/** GC's `cni.dev/valid-attachments` (missing means none are valid). */
export function readValidAttachments(o: Record<string, unknown>): GcAttachment[] {
  const key = 'cni.dev/valid-attachments';
  const list = decode.optArray(o, key, '') ?? [];
  return list.map((v, i) => {
    const a = decode.object(v, `${key}[${i}]`);
    return {
      containerID: decode.string(a, 'containerID', `${key}[${i}].`),
      ifname: decode.string(a, 'ifname', `${key}[${i}].`),
    };
  });
}

/** libcni accepts `true`/`false` as booleans or strings for disableCheck/disableGC. */
function readFlag(o: Record<string, unknown>, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  return decode.fail(key, `must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * Parses a `.conflist`. With `cniVersions` (1.1.0) the list runs at the highest version both
 * it and `supported` have; otherwise at `cniVersion`.
 */
export function parseConfList(
  raw: string | Uint8Array,
  supported: readonly string[] = SPEC_VERSIONS,
): NetConfList {
  const o = decodeJsonObject(raw, 'network config list');
  const name = decode.optString(o, 'name', '') ?? '';
  validateNetworkName(name);
  const offered = decode.optStrings(o, 'cniVersions', '');
  let cniVersion: CniVersion;
  if (offered) {
    const pick = pickHighestVersion(offered, supported);
    if (pick === undefined || !isCniVersion(pick)) {
      throw new SpecError(
        'VERSION_UNSUPPORTED',
        `network config list ${name}: none of cniVersions [${offered.join(', ')}] is supported (supported: ${supported.join(', ')})`,
      );
    }
    cniVersion = pick;
  } else {
    if (o.cniVersion === undefined) invalid.fail('cniVersion', 'is required in a network config list');
    cniVersion = readCniVersion(o, 'network config list');
  }
  const pluginsRaw = decode.optArray(o, 'plugins', '');
  if (!pluginsRaw || pluginsRaw.length === 0) invalid.fail('plugins', 'must list at least one plugin');
  const plugins = pluginsRaw.map((v, i): PluginConf => {
    const p = decode.object(v, `plugins[${i}]`);
    const type = decode.optString(p, 'type', `plugins[${i}].`);
    if (type === undefined || type === '') invalid.fail(`plugins[${i}].type`, 'is required');
    if (type.includes('/')) invalid.fail(`plugins[${i}].type`, `must not contain "/": ${type}`);
    const caps = readCapabilities(p);
    return caps ? { ...p, type, capabilities: caps } : { ...p, type };
  });
  const out: NetConfList = {
    cniVersion,
    name,
    disableCheck: readFlag(o, 'disableCheck'),
    disableGC: readFlag(o, 'disableGC'),
    plugins,
  };
  if (offered) out.cniVersions = offered;
  out.source = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  return out;
}

/** A plain `.conf` as a one-plugin list (what libcni does with deprecated `.conf` files). */
export function confListFromConf(raw: string | Uint8Array): NetConfList {
  const conf = decodeJsonObject(raw);
  const list = { cniVersion: conf.cniVersion ?? '0.1.0', name: conf.name, plugins: [conf] };
  return parseConfList(JSON.stringify(list));
}
