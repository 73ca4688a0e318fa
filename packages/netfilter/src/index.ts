// @minicni/netfilter: the node's firewall rules for CNI plugins and agents.
export {
  ensureNodeRules,
  removeNodeRules,
  chainNames,
  desiredRules,
  parseSave,
  planRestore,
  familyOf,
  type NodeRulesSpec,
} from './node-rules.js';
export { detectIptablesBackend, iptablesTools, type IptablesBackend } from './iptables-backend.js';
export { rulesExecVia, spawnRulesExec, type RulesExec, type Family } from './rules-exec.js';
export { NodeRulesError } from './errors.js';
export { DEFAULT_RULES_DIR, readRulesRecords, rulesRecordPath, writeRulesRecord } from './rules-record.js';
