// The executable's entry point: the only module that touches the process. Runtimes call it with
// CNI env and the config on stdin; a person may call it with a subcommand.
import * as sea from 'node:sea';
import { startupSnapshot } from 'node:v8';
import { runPlugin } from '@minicni/spec';
import { setAddonPath } from '@minicni/netlink';
import { bridgePlugin, SUPPORTED_VERSIONS } from './plugin.js';
import { nodeEnv } from './node-env.js';
import { removeNodeRules } from '@minicni/netfilter';
import { extractSeaAddon } from './sea-addon.js';
import { serveCommand, stopOnDemandServer } from '@minicni/fastpath';
import { DEFAULT_SOCKET } from './serve.js';

// The single executable's build id (scripts/build-sea.mjs), stamped into the shim it ships with;
// '' when run from source or tsup's output.
declare const __MINICNI_BUILD_ID__: string | undefined;
const BUILD_ID = typeof __MINICNI_BUILD_ID__ === 'string' ? __MINICNI_BUILD_ID__ : '';

async function main(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    // VERSION is called constantly (podman: every plugin, every process): no file work for it.
    if (process.env.CNI_COMMAND !== 'VERSION') {
      const addon = extractSeaAddon(sea);
      if (addon) setAddonPath(addon);
    }
    await runPlugin(bridgePlugin(), { supportedVersions: SUPPORTED_VERSIONS });
    return;
  }
  if (sub === 'serve') {
    const addon = extractSeaAddon(sea);
    if (addon) setAddonPath(addon);
    await serveCommand(rest, {
      name: 'minicni',
      handlers: bridgePlugin(),
      run: { supportedVersions: SUPPORTED_VERSIONS },
      buildId: BUILD_ID,
    });
    return;
  }
  if (sub === 'uninstall') {
    const opt = (flag: string): string | undefined => {
      const i = rest.indexOf(flag);
      if (i < 0) return undefined;
      const v = rest[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    const socket = opt('--socket') ?? DEFAULT_SOCKET;
    const network = opt('--network');
    // The on-demand server first: it could otherwise ensure the rules again for a call in flight.
    const pid = await stopOnDemandServer(socket);
    process.stdout.write(
      pid === undefined
        ? 'minicni: no on-demand plugin server was running\n'
        : `minicni: on-demand plugin server (pid ${pid}) stopped\n`,
    );
    await removeNodeRules(nodeEnv().rulesExec, network);
    process.stdout.write('minicni: node rules removed\n');
    return;
  }
  if (sub === 'version' || sub === '--version') {
    process.stdout.write(
      `minicni CNI plugin, spec versions ${SUPPORTED_VERSIONS.join(', ')}, build ${BUILD_ID || '(none)'}\n`,
    );
    return;
  }
  process.stderr.write(
    'usage: minicni                  (as a CNI plugin: CNI_COMMAND and friends in the environment)\n' +
      '       minicni serve [--socket PATH] [--idle-exit SECONDS] [--build-id ID] [--pid-file PATH]\n' +
      `                                            serve the plugin to the fast-path shim (default ${DEFAULT_SOCKET})\n` +
      '       minicni uninstall [--network NAME] [--socket PATH]\n' +
      '                                            stop the on-demand plugin server, remove the node rules\n' +
      '       minicni version\n',
  );
  process.exitCode = 2;
}

function start(): void {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`minicni: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

// In the single executable this module is evaluated once, at build time, into a V8 startup
// snapshot: every module is already loaded and initialised when the plugin starts, which is
// most of the cost of a Node start. Nothing above reads the environment at load time.
if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(start);
else start();
