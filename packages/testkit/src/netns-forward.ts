/**
 * A TCP port inside a test netns that leads to a server of the test's own (on loopback in the
 * machine's netns), so a process in that netns, such as a container with the host network of a
 * "node", reaches an API stand-in the test runs; and the other way, a unix socket that leads to
 * a server listening inside a test netns (an agent's health server on the node's loopback).
 * Nothing in the machine's network changes: the two ends meet on a unix socket in a private
 * temp dir, which is not bound to any netns.
 *
 * API:
 * - `forwardIntoNetns(netns, target) -> Promise<NetnsForward>`: listens on 127.0.0.1:<port>
 *   inside `netns` (a `{path}`, e.g. a `TestNetns`) and pipes each connection to
 *   `target.host:target.port`. `forward.port`; `await using` or `close()` stops both ends and
 *   removes the socket.
 * - `forwardOutOfNetns(netns, target) -> Promise<NetnsSocket>`: a unix socket (`.socketPath`,
 *   for `http.get({ socketPath })`) whose connections go to `target.host:target.port` as seen
 *   inside `netns`; one long-lived process, so a request costs no process start. `close()`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

export interface NetnsForward extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

// Runs inside the netns: a TCP listener whose connections go to the unix socket in argv[1].
const INSIDE = `
const net = require('node:net');
const server = net.createServer((c) => {
  const up = net.connect(process.argv[1]);
  c.on('error', () => up.destroy());
  up.on('error', () => c.destroy());
  c.pipe(up).pipe(c);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

// Runs inside the netns: a unix socket listener whose connections go to argv[2]:argv[3] there.
const OUTSIDE = `
const net = require('node:net');
const [sock, host, port] = process.argv.slice(1);
const server = net.createServer((c) => {
  const up = net.connect(Number(port), host);
  c.on('error', () => up.destroy());
  up.on('error', () => c.destroy());
  c.pipe(up).pipe(c);
});
server.listen(sock, () => process.stdout.write('ready\\n'));
process.stdin.on('end', () => process.exit(0)).resume();
`;

export interface NetnsSocket extends AsyncDisposable {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function forwardOutOfNetns(
  netns: { readonly path: string },
  target: { host: string; port: number },
): Promise<NetnsSocket> {
  const dir = mkdtempSync(join(tmpdir(), 'mct-forward-'));
  const socketPath = join(dir, 'out.sock');
  // stdin stays open as the child's lifeline: it exits when the test process goes away.
  const child = spawn(
    'nsenter',
    [
      `--net=${netns.path}`,
      '--',
      process.execPath,
      '-e',
      OUTSIDE,
      socketPath,
      target.host,
      String(target.port),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`forwarder in ${netns.path} exited ${code}`)));
      child.once('error', reject);
    });
    return { socketPath, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}

function pipeBoth(a: Socket, b: Socket): void {
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.pipe(b).pipe(a);
}

export async function forwardIntoNetns(
  netns: { readonly path: string },
  target: { host: string; port: number },
): Promise<NetnsForward> {
  const dir = mkdtempSync(join(tmpdir(), 'mct-forward-'));
  const sock = join(dir, 'api.sock');
  const open = new Set<Socket>();
  const server: Server = createServer((c) => {
    const up = createConnection(target.port, target.host);
    for (const s of [c, up]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    pipeBoth(c, up);
  });
  server.listen(sock);
  await once(server, 'listening');
  // stdin stays open as the child's lifeline: it exits when the test process goes away.
  const child = spawn('nsenter', [`--net=${netns.path}`, '--', process.execPath, '-e', INSIDE, sock], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    // A watch stays open for as long as the client lives: cut what is still connected.
    for (const s of open) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.once('exit', (code) => reject(new Error(`forwarder in ${netns.path} exited ${code}`)));
      child.once('error', reject);
    });
    return { port, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** GET over a unix socket (such as a forward out of a netns); the body. */
export function getOverSocket(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}
