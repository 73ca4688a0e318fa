export { exec, run, type ExecOptions, type ExecResult } from './exec.js';
export { TEST_PREFIX, testName } from './names.js';
export { MINICNI_STAMP_DIR, NETNS_DIR, TestNetns, nodeNetns, podNetns, removeNodeStamps } from './netns.js';
export { cniEnv, runPluginInNode, type PluginCall, type PluginOutcome } from './plugin-runner.js';
export { callInProcess, cniCodeOf, type InProcessOutcome, type RunPlugin } from './in-process.js';
export { nodeWithPods, podThenGone, wirePod, type NodeWithPods, type Tuple } from './pods.js';
export { findLeaks, describeLeaks, type Leaks } from './leaks.js';
export { DOCS_DIR, undocumentedExports } from './docs-coverage.js';
