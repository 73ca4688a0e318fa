import { CniError, ErrorCode, runPlugin, type PluginIo } from '@minicni/spec';

/** static-ip: an IPAM plugin that hands out the addresses asked for with CNI_ARGS `IP=`. */
export const main = (io?: PluginIo) =>
  runPlugin(
    {
      add({ args }) {
        if (!args.ips?.length)
          throw new CniError(ErrorCode.InvalidEnvironment, 'static-ip needs IP= in CNI_ARGS');
        return {
          ips: args.ips.map((ip) => ({
            address: ip.includes('/') ? ip : `${ip}/${ip.includes(':') ? 128 : 32}`,
          })),
        };
      },
      del() {},
      check() {},
    },
    { supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'], ...(io && { io }) },
  );
