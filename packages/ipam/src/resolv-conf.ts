import type { Dns } from '@minicni/spec';

export type { Dns };

/** Parses resolv.conf text the way host-local does: nameserver, domain, search, options. */
export function parseResolvConf(text: string): Dns {
  const dns: Dns = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [key, ...rest] = line.split(/\s+/);
    if (rest.length === 0) continue;
    switch (key) {
      case 'nameserver':
        (dns.nameservers ??= []).push(rest[0]!);
        break;
      case 'domain':
        dns.domain = rest[0]!;
        break;
      case 'search':
        (dns.search ??= []).push(...rest);
        break;
      case 'options':
        (dns.options ??= []).push(...rest);
        break;
    }
  }
  return dns;
}
