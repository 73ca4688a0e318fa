#!/usr/bin/env node
// The executable's entry: the only module that touches the process (env, stdin, stdout, exit code).
import { runPlugin } from '@minicni/spec';
import { ptpPlugin, SUPPORTED_VERSIONS } from './plugin.js';

await runPlugin(ptpPlugin(), { supportedVersions: SUPPORTED_VERSIONS });
