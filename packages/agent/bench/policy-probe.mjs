// The policy-enforce bench's probe, run inside a pod netns (nsenter). `serve PORT...` accepts and
// closes TCP connections. `probe` reads JSON commands on stdin, one per line, and answers each
// with one JSON line:
//   {op:"flip", dst, port, want:"allowed"|"denied"} starts a connect every ~1 ms; each connect
//     is allowed when it completes and denied when nothing answers within DROP_MS (300 ms) (the policy
//     drops the SYN silently). Once the wanted outcome has held for HOLD attempts in a row it
//     answers {at}: the start time (process.hrtime, CLOCK_MONOTONIC, shared by every process
//     on the machine) of the first attempt from which every later one had the wanted outcome.
//   {op:"connects", dst, port, count} makes `count` connects one after the other and answers
//     {us:[...]}: each connect's time to established, in µs.
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const DROP_MS = 300;
const HOLD = 8;
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

function attempt(dst, port, dropMs = DROP_MS) {
  const start = process.hrtime.bigint();
  return new Promise((resolve) => {
    const s = connect({ host: dst, port });
    const timer = setTimeout(() => done('denied'), dropMs);
    function done(outcome) {
      clearTimeout(timer);
      s.destroy();
      resolve({ start, outcome, us: Number(process.hrtime.bigint() - start) / 1000 });
    }
    s.on('connect', () => done('allowed'));
    // Refused or reset: the packet got through the policy (nothing of ours sends a reset).
    s.on('error', () => done('allowed'));
  });
}

async function flip({ dst, port, want, maxMs = 10_000 }) {
  const results = [];
  const pending = new Set();
  const deadline = Date.now() + maxMs;
  const held = () => {
    let n = 0;
    for (let i = results.length - 1; i >= 0 && results[i].outcome === want; i--) n++;
    return n;
  };
  while (held() < HOLD) {
    if (Date.now() > deadline) break;
    const p = attempt(dst, port).then((r) => {
      pending.delete(p);
      // Kept in start order: attempts settle out of order (a drop is known only after DROP_MS).
      let i = results.length;
      while (i > 0 && results[i - 1].start > r.start) i--;
      results.splice(i, 0, r);
    });
    pending.add(p);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  let first = results.length;
  while (first > 0 && results[first - 1].outcome === want) first--;
  if (first === results.length) return { error: `no ${want} outcome within ${maxMs} ms` };
  return { at: results[first].start.toString(), attempts: results.length };
}

async function connects({ dst, port, count }) {
  const us = [];
  for (let i = 0; i < count; i++) {
    // Nothing drops these: a connect not done in 5 s is an error, a slow one is a figure.
    const r = await attempt(dst, port, 5000);
    if (r.outcome !== 'allowed') return { error: `connect ${i} to ${dst}:${port}: no answer in 5 s` };
    us.push(r.us);
  }
  return { us };
}

if (process.argv[2] === 'serve') {
  for (const port of process.argv.slice(3).map(Number)) {
    createServer((s) => s.on('error', () => {}).destroy()).listen(port);
  }
  process.stdout.write('listening\n');
} else {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = JSON.parse(line);
    try {
      out(cmd.op === 'flip' ? await flip(cmd) : await connects(cmd));
    } catch (e) {
      out({ error: String(e) });
    }
  }
}
