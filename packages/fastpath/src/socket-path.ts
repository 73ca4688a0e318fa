// The rules both of this package's servers (the plugin's, the policy hand-off's) follow for a
// root-only unix socket: its directory is ours and nobody else can write it; a socket file a
// dead server left is replaced, one a live server answers is refused.
import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type * as Net from 'node:net';
import { dirname } from 'node:path';

type Fail = (message: string) => Error;

export function prepareSocketPath(socketPath: string, fail: Fail): void {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw fail(`${dir} is not a directory`);
  if (st.uid !== process.getuid?.()) throw fail(`${dir} is not owned by this user`);
  if ((st.mode & 0o022) !== 0)
    throw fail(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
}

/** A socket file left by a server that died is removed; one a live server answers is an error. */
export async function removeStaleSocket(net: typeof Net, socketPath: string, fail: Fail): Promise<void> {
  let st;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw fail(`${socketPath} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.createConnection(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw fail(`another server is listening on ${socketPath}`);
  unlinkSync(socketPath);
}
