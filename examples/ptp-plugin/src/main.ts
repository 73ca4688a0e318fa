#!/usr/bin/env node
// The executable's entry: the only module that touches the process (env, stdin, stdout, exit code).
//   minicni-ptp                          a CNI plugin call (CNI_COMMAND and friends in the env)
//   minicni-ptp serve [--socket PATH]    serve the plugin to the fast-path shim installed as
//                                        `minicni-ptp` (default /run/minicni-ptp/plugin.sock)
import { runPlugin } from '@minicni/spec';
import { PLUGIN_NAME, ptpPlugin, SUPPORTED_VERSIONS } from './plugin.js';

const [sub, ...rest] = process.argv.slice(2);
if (sub === undefined) {
  await runPlugin(ptpPlugin(), { supportedVersions: SUPPORTED_VERSIONS });
} else if (sub === 'serve') {
  // Loaded only to serve: a plugin call does not pay for the server's modules.
  const { serveCommand } = await import('@minicni/fastpath');
  await serveCommand(rest, {
    name: PLUGIN_NAME,
    handlers: ptpPlugin(),
    run: { supportedVersions: SUPPORTED_VERSIONS },
  }).catch((err: unknown) => {
    process.stderr.write(`${PLUGIN_NAME} serve: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(`usage: ${PLUGIN_NAME} | ${PLUGIN_NAME} serve [--socket PATH]\n`);
  process.exitCode = 2;
}
