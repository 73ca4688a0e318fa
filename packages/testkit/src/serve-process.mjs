// `<plugin> serve --socket S` (@minicni/fastpath's serveCommand) started the way a node serves a
// plugin, for demos, benchmarks and tests: optionally inside a node netns (nsenter execs the
// server in place, so the child is the server itself), resolved once it listens. Plain JS, so
// the .mjs demo and bench scripts share it with the TypeScript tests.
import { spawn } from 'node:child_process';
import { stopChild } from './bench-node.mjs';

export async function startServe(bin, socket, netns) {
  const [file, ...pre] = Array.isArray(bin) ? bin : [bin];
  const args = [...pre, 'serve', '--socket', socket];
  const child = netns
    ? spawn('nsenter', [`--net=${netns}`, '--', file, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      text += d;
      if (text.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${file} serve exited (${code}): ${text}`)));
  });
  return {
    child,
    socket,
    /** SIGTERM (calls in flight finish, the socket is removed), SIGKILL after 5 s. */
    stop: () => stopChild(child),
  };
}
