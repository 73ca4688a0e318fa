// bench/startup.mjs: load the built package (and its addon), open a handle in this netns, and
// report the process's CPU time.
import process from 'node:process';
import { Netlink } from '../dist/index.js';

Netlink.open().close();
const { user, system } = process.cpuUsage();
process.stdout.write(`${(user + system) / 1000}\n`);
