#!/usr/bin/env node
import { runPlugin, SPEC_VERSIONS } from '@minicni/spec';
import { serveCommand } from '@minicni/fastpath';
import { guidePlugin } from './plugin.js';
const run = { supportedVersions: SPEC_VERSIONS };
if (process.argv[2] === 'serve')
  await serveCommand(process.argv.slice(3), { name: 'minicni-guide', handlers: guidePlugin(), run });
else await runPlugin(guidePlugin(), run);
