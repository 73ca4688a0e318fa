import { readdirSync, readlinkSync } from 'node:fs';

/** The netns of every thread of this process (main, libuv threadpool, V8 and vitest helpers). */
export function threadNetns(): Map<string, string> {
  const out = new Map<string, string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.set(tid, readlinkSync(`/proc/self/task/${tid}/ns/net`));
    } catch {
      // A thread that exited between the listing and the read.
    }
  }
  return out;
}
