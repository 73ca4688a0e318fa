import type { RuntimeConfig } from './config-types.js';
import { isCidr, isIP, isMac } from './ip.js';
import { JsonReader, isObject } from './json-check.js';

const r: JsonReader = new JsonReader('RUNTIME_CONFIG_INVALID', 'runtimeConfig');

/**
 * Checks the shape of each well-known capability in `runtimeConfig`; capabilities this library
 * does not know pass through untouched (a plugin may define its own).
 */
export function parseRuntimeConfig(value: unknown): RuntimeConfig {
  const o = r.object(value, '(top level)');
  const out: RuntimeConfig = { ...o };
  const pm = r.optArray(o, 'portMappings', '');
  if (pm) out.portMappings = pm.map((v, i) => portMapping(v, `portMappings[${i}]`));
  const ranges = r.optArray(o, 'ipRanges', '');
  if (ranges) {
    out.ipRanges = ranges.map((set, i) => {
      if (!Array.isArray(set)) r.fail(`ipRanges[${i}]`, 'must be an array of ranges');
      return set.map((v, j) => ipRange(v, `ipRanges[${i}][${j}]`));
    });
  }
  if (o.bandwidth !== undefined && o.bandwidth !== null) {
    const b = r.object(o.bandwidth, 'bandwidth');
    out.bandwidth = {};
    for (const k of ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const) {
      const n = r.optInt(b, k, 'bandwidth.', 0, Number.MAX_SAFE_INTEGER);
      if (n !== undefined) out.bandwidth[k] = n;
    }
  }
  if (o.dns !== undefined && o.dns !== null) {
    const d = r.object(o.dns, 'dns');
    const servers = r.optStrings(d, 'servers', 'dns.');
    servers?.forEach((s, i) => {
      if (!isIP(s)) r.fail(`dns.servers[${i}]`, `is not an IP address: ${JSON.stringify(s)}`);
    });
    const searches = r.optStrings(d, 'searches', 'dns.');
    const options = r.optStrings(d, 'options', 'dns.');
    out.dns = {};
    if (servers) out.dns.servers = servers;
    if (searches) out.dns.searches = searches;
    if (options) out.dns.options = options;
  }
  const ips = r.optStrings(o, 'ips', '');
  ips?.forEach((s, i) => {
    if (!isIP(s) && !isCidr(s)) r.fail(`ips[${i}]`, `is not an IP address or CIDR: ${JSON.stringify(s)}`);
  });
  const mac = r.optString(o, 'mac', '');
  if (mac !== undefined && !isMac(mac)) r.fail('mac', `is not a MAC address: ${JSON.stringify(mac)}`);
  for (const k of ['infinibandGUID', 'cgroupPath', 'deviceID'] as const) r.optString(o, k, '');
  r.optStrings(o, 'aliases', '');
  const ann = o['io.kubernetes.cri.pod-annotations'];
  if (ann !== undefined && ann !== null) {
    if (!isObject(ann)) r.fail('io.kubernetes.cri.pod-annotations', 'must be an object');
    for (const [k, v] of Object.entries(ann)) {
      if (typeof v !== 'string') r.fail(`io.kubernetes.cri.pod-annotations.${k}`, 'must be a string');
    }
  }
  return out;
}

function portMapping(v: unknown, path: string) {
  const o = r.object(v, path);
  const p = `${path}.`;
  const hostPort = r.optInt(o, 'hostPort', p, 0, 65535);
  const containerPort = r.optInt(o, 'containerPort', p, 1, 65535);
  if (hostPort === undefined) r.fail(`${p}hostPort`, 'is required');
  if (containerPort === undefined) r.fail(`${p}containerPort`, 'is required');
  const protocol = r.optString(o, 'protocol', p);
  if (protocol !== undefined && !/^(tcp|udp|sctp)$/i.test(protocol)) {
    r.fail(`${p}protocol`, `must be tcp, udp or sctp, got ${JSON.stringify(protocol)}`);
  }
  const hostIP = r.optString(o, 'hostIP', p);
  if (hostIP !== undefined && hostIP !== '' && !isIP(hostIP)) {
    r.fail(`${p}hostIP`, `is not an IP address: ${JSON.stringify(hostIP)}`);
  }
  return { ...o, hostPort, containerPort };
}

function ipRange(v: unknown, path: string) {
  const o = r.object(v, path);
  const p = `${path}.`;
  const subnet = r.string(o, 'subnet', p);
  if (!isCidr(subnet)) r.fail(`${p}subnet`, `is not a CIDR: ${JSON.stringify(subnet)}`);
  for (const k of ['rangeStart', 'rangeEnd', 'gateway']) {
    const s = r.optString(o, k, p);
    if (s !== undefined && !isIP(s)) r.fail(`${p}${k}`, `is not an IP address: ${JSON.stringify(s)}`);
  }
  return { ...o, subnet };
}
