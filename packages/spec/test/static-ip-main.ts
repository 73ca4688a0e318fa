import { main } from './example-plugin.js';

// Entry point of the docs example as a real executable (bundled by test/bundle-plugin.ts).
await main();
