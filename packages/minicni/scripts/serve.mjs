// `minicni serve` started in a node netns for the demo, the bench and the e2e tests: the shared
// starter of any plugin's `serve` subcommand, in the test kit.
export { startServe } from '@minicni/testkit/serve-process';
