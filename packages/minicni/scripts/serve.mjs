// `minicni serve` started the way the agent serves the plugin on a node, for the demo, the
// benchmark and the e2e tests: optionally inside a node netns (nsenter execs the server in place,
// so the child is the server itself), resolved once it listens.
import { spawn } from 'node:child_process';

export async function startServe(bin, socket, netns) {
  const args = ['serve', '--socket', socket];
  const child = netns
    ? spawn('nsenter', [`--net=${netns}`, '--', bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      text += d;
      if (text.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`minicni serve exited (${code}): ${text}`)));
  });
  return {
    child,
    socket,
    /** SIGTERM (calls in flight finish, the socket is removed), SIGKILL after 5 s. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
