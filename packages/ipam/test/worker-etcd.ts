// A separate process for the etcd tests; kept apart so file-store workers never load gRPC.
import { EtcdStore } from '../src/etcd.js';
import { fail, jobFromEnv, runJob } from './worker-job.js';

const job = jobFromEnv();
runJob(job, new EtcdStore({ network: job.network, hosts: job.etcd! })).catch(fail);
