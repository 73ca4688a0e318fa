// bench/startup.mjs: as startup-open.mjs, but importing the package by name, the way a plugin
// does ('@minicni/netlink' resolves to dist/ through the package's own exports map).
import process from 'node:process';
import { Netlink } from '@minicni/netlink';

Netlink.open().close();
const { user, system } = process.cpuUsage();
process.stdout.write(`${(user + system) / 1000}\n`);
