/** Path of the built netlink addon. */
export function findAddon(): string;
/** Bundles the agent CLI into `<outDir>/minicni-agent.mjs` with the addon beside it; returns the bundle path. */
export function bundleAgent(outDir: string): Promise<string>;
/** Bundles a TypeScript module of the workspace into `outDir` and imports it. */
export function importBundled(entry: string, outDir: string): Promise<Record<string, unknown>>;
/** The Node flags and environment the image runs the agent with (its package.json, `agentRuntime`). */
export function agentRuntime(): { nodeFlags: string[]; env: Record<string, string> };
/** The image's runtime settings plus BENCH_AGENT_NODE_ARGS and BENCH_AGENT_ENV: what a bench runs the agent with. */
export function benchAgentRuntime(): { nodeArgs: string[]; env: Record<string, string> };
