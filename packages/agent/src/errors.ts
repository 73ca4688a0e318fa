/** Stable codes: callers and the CLI tell agent errors apart by these, never by message text. */
export type AgentErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CIDR'
  | 'INVALID_NODE'
  | 'INVALID_NODES_FILE'
  | 'INVALID_TEMPLATE'
  | 'NODE_NOT_FOUND'
  | 'POD_NOT_FOUND'
  | 'NO_POD_CIDR'
  | 'CREDENTIALS'
  | 'API_REQUEST'
  | 'API_GONE'
  | 'INSTALL_IO'
  | 'DATAPLANE'
  | 'POLICY';

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}

export function isAgentError(e: unknown, code?: AgentErrorCode): e is AgentError {
  return e instanceof AgentError && (code === undefined || e.code === code);
}
