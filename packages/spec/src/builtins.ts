// Node built-ins are fetched on first use with process.getBuiltinModule (Node 20.16+) instead
// of a top-level `import`: an ES import of node:fs builds a facade over every export, which
// runs fs's lazy getters (streams, promises) and costs ~4 ms of every plugin start.
import type * as ChildProcess from 'node:child_process';
import type * as Fs from 'node:fs';

export function nodeFs(): typeof Fs {
  return process.getBuiltinModule('node:fs');
}

export function nodeChildProcess(): typeof ChildProcess {
  return process.getBuiltinModule('node:child_process');
}
