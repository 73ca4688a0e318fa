export { startServe, type Serve } from '@minicni/testkit/serve-process';
