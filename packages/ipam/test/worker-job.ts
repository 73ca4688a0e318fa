import { openIpam, type Owner, type Store } from '../src/index.js';

export interface Job {
  network: string;
  ipam: unknown;
  dataDir?: string;
  etcd?: string;
  /** churn: allocate each owner, and release every other one right after (crash tests). */
  op: 'allocate' | 'release' | 'churn';
  owners: Owner[];
}

const line = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

/** Runs a job and prints one JSON line per result; `{"ready":true}` once the store is open. */
export async function runJob(job: Job, store?: Store): Promise<void> {
  const ipam = await openIpam({ config: job.ipam, network: job.network, dataDir: job.dataDir, store });
  line({ ready: true });
  for (const [i, owner] of job.owners.entries()) {
    try {
      if (job.op === 'release') {
        line({ owner, released: await ipam.release(owner) });
        continue;
      }
      const r = await ipam.allocate(owner);
      line({ owner, ips: r.ips.map((x) => x.address) });
      if (job.op === 'churn' && i % 2 === 1) line({ owner, released: await ipam.release(owner) });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      line({ owner, error: err.code ?? 'UNKNOWN', message: err.message });
    }
  }
  await ipam.close();
}

export function jobFromEnv(): Job {
  return JSON.parse(process.env.IPAM_WORKER_JOB ?? '{}') as Job;
}

export function fail(e: unknown): never {
  process.stderr.write(`${String(e)}\n`);
  process.exit(2);
}
