import { exec } from '@minicni/testkit/exec';

/**
 * One iperf3 client run from inside the netns at `netnsPath` to ip:port for `seconds` (the first
 * second left out): the Gbit/s the server received, or why there is no figure.
 */
export async function iperfGbit(
  netnsPath: string,
  ip: string,
  port: number,
  seconds: number,
): Promise<{ gbit: number } | { error: string }> {
  const r = await exec('nsenter', [
    `--net=${netnsPath}`,
    '--',
    'iperf3',
    '-c',
    ip,
    '-p',
    String(port),
    '-t',
    String(seconds),
    '-O',
    '1',
    '-J',
  ]);
  const j = JSON.parse(r.stdout || '{}') as {
    error?: string;
    end?: { sum_received?: { bits_per_second: number } };
  };
  const bps = j.end?.sum_received?.bits_per_second;
  if (r.code === 0 && !j.error && bps) return { gbit: bps / 1e9 };
  return { error: j.error ?? (r.stderr.trim() || `exit ${r.code}`) };
}
