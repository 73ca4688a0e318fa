// `import { x } from 'node:fs'` in ESM builds fs's module namespace, which runs its lazy getters
// and loads the whole streams stack: 5-10 ms of startup a CNI plugin pays on every call.
// getBuiltinModule (Node 20.16+) hands back the plain module object instead.
export const fs = process.getBuiltinModule('node:fs');
// The same for path and url: an ESM import of each costs ~0.4 ms at startup, this ~0.05 ms.
export const path = process.getBuiltinModule('node:path');
export const url = process.getBuiltinModule('node:url');
