import { Session } from 'node:inspector/promises';
import { Netlink } from '@minicni/netlink';
import { NetlinkDataplane } from '../src/netlink-dataplane.js';

export async function run(): Promise<void> {
  const dp = new NetlinkDataplane(Netlink.open());
  const ips: string[] = [];
  for (let i = 1; i < 5000; i++) ips.push(`192.168.${i >> 8}.${i & 255}`);
  await dp.read('minicni.1');
  await dp.routesTo(ips);
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const t = performance.now();
  const a = await dp.read('minicni.1');
  const t1 = performance.now();
  await dp.routesTo(ips);
  const t2 = performance.now();
  const { profile } = await s.post('HeapProfiler.stopSampling');
  console.log('routes', a.routes.length, 'read ms', (t1 - t).toFixed(0), 'routesTo ms', (t2 - t1).toFixed(0));
  const agg = new Map<string, number>();
  let tot = 0;
  const walk = (n: any) => { const f = n.callFrame; const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-1)[0]}:${f.lineNumber}`; if (n.selfSize) { agg.set(k, (agg.get(k) ?? 0) + n.selfSize); tot += n.selfSize; } n.children.forEach(walk); };
  walk(profile.head);
  console.log('allocated MB', (tot / 1048576).toFixed(1));
  [...agg].sort((a, b) => b[1] - a[1]).slice(0, 18).forEach(([k, v]) => console.log((v / 1048576).toFixed(2).padStart(7), k));
}
