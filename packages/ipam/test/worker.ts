// A separate process for the concurrency and crash tests (file store). Bundled by bundle.ts.
import { fail, jobFromEnv, runJob } from './worker-job.js';

runJob(jobFromEnv()).catch(fail);
