import { nodeNetns, podNetns, type TestNetns } from './netns.js';

/** `N` copies of `T` as a tuple, so `const [p1, p2] = pods` needs no checks. */
export type Tuple<N extends number, T, R extends T[] = []> = R['length'] extends N
  ? R
  : Tuple<N, T, [...R, T]>;

/** A throwaway node netns and `count` pod netns, all removed on dispose (even after a failure). */
export interface NodeWithPods<N extends number> extends AsyncDisposable {
  readonly node: TestNetns;
  readonly pods: Tuple<N, TestNetns>;
}

export async function nodeWithPods<N extends number>(count: N): Promise<NodeWithPods<N>> {
  const node = await nodeNetns();
  const pods: TestNetns[] = [];
  try {
    for (let i = 0; i < count; i++) pods.push(await podNetns());
  } catch (err) {
    await Promise.allSettled([...pods, node].map((n) => n[Symbol.asyncDispose]()));
    throw err;
  }
  return {
    node,
    pods: pods as Tuple<N, TestNetns>,
    [Symbol.asyncDispose]: async () => {
      await Promise.allSettled(pods.map((p) => p[Symbol.asyncDispose]()));
      await node[Symbol.asyncDispose]();
    },
  };
}

/**
 * Runs `use` with a fresh pod netns, then removes the netns and returns its now dangling path:
 * what a runtime's DEL gets when the netns went first.
 */
export async function podThenGone(use: (pod: TestNetns) => Promise<void>): Promise<string> {
  await using pod = await podNetns();
  await use(pod);
  return pod.path;
}

/**
 * Wires `pod` to `node` with a veth pair: `hostIf` in the node (up, on bridge `master` if given),
 * `eth0` in the pod with `address` (a CIDR) and up.
 */
export async function wirePod(
  node: TestNetns,
  pod: TestNetns,
  wire: { hostIf: string; address: string; master?: string },
): Promise<void> {
  await node.run('ip', [
    'link',
    'add',
    wire.hostIf,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    pod.path,
  ]);
  const master = wire.master === undefined ? [] : ['master', wire.master];
  await node.run('ip', ['link', 'set', wire.hostIf, ...master, 'up']);
  await pod.run('ip', ['addr', 'add', wire.address, 'dev', 'eth0']);
  await pod.run('ip', ['link', 'set', 'eth0', 'up']);
}
