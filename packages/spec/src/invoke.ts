// `@minicni/spec/invoke`: running other plugins, the way a plugin delegates to an IPAM plugin
// (Go's pkg/invoke). A separate entry so a plugin that never delegates does not load it.
export {
  nsenterExec,
  spawnExec,
  toolRunner,
  type ExecOutcome,
  type ExecRequest,
  type PluginExec,
  type ToolOutcome,
  type ToolRun,
} from './exec.js';
export { findInPath } from './find-plugin.js';
export { execPlugin, parsePluginResult, type InvokeOptions } from './exec-plugin.js';
export {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  withDelegatedAdd,
} from './delegate.js';
