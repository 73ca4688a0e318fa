export { ptpPlugin, SUPPORTED_VERSIONS, PLUGIN_NAME, type PtpPluginOptions } from './plugin.js';
export { parsePtpConfig, DEFAULT_MTU, type PtpConfig, type IpamChoice } from './config.js';
export { CHECK_MISMATCH } from '@minicni/kit';
