/** One line per plugin call in the debug log: what the seed plugin logged, as JSON. */
export interface DebugRecord {
  time: string;
  command: string | undefined;
  containerId: string | undefined;
  netns: string | undefined;
  ifname: string | undefined;
  args: string | undefined;
  path: string | undefined;
  stdin: string;
  [key: string]: unknown;
}

/**
 * Collects records for one call and writes them at the end (one append per call keeps the
 * cost off the hot path and lines from two plugin processes from interleaving).
 */
export class DebugLog {
  #lines: string[] = [];

  constructor(
    private readonly file: string | undefined,
    private readonly append: (path: string, text: string) => void,
  ) {}

  get enabled(): boolean {
    return this.file !== undefined;
  }

  write(record: Record<string, unknown>): void {
    if (this.file === undefined) return;
    try {
      this.#lines.push(JSON.stringify(record));
    } catch {
      this.#lines.push(JSON.stringify({ unserialisable: Object.keys(record) }));
    }
  }

  /** Writes what was collected; a log that cannot be written never fails the plugin. */
  flush(onError: (msg: string) => void): void {
    if (this.file === undefined || this.#lines.length === 0) return;
    try {
      this.append(this.file, `${this.#lines.join('\n')}\n`);
    } catch (err) {
      onError(
        `minicni debug log ${this.file} not written: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.#lines = [];
  }
}
