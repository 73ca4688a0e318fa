// bench/startup.mjs: load the built package (and its addon) and open a handle in this netns.
import { Netlink } from '../dist/index.js';

Netlink.open().close();
