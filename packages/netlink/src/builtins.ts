// `import { x } from 'node:fs'` in ESM builds fs's module namespace, which runs its lazy getters
// and loads the whole streams stack: 5-10 ms of startup a short-lived tool pays on every run.
// getBuiltinModule (Node 20.16+) hands back the plain module object instead.
export const fs = process.getBuiltinModule('node:fs');
