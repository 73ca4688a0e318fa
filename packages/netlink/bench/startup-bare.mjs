// The baseline of bench/startup.mjs: a node process that does nothing but report its CPU time.
import process from 'node:process';

const { user, system } = process.cpuUsage();
process.stdout.write(`${(user + system) / 1000}\n`);
