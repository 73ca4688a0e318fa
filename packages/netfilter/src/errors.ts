/** A firewall tool failed, or none could run: the message carries the tool's stderr. */
export class NodeRulesError extends Error {
  readonly code = 'NODE_RULES_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'NodeRulesError';
  }
}
