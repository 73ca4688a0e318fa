// `@minicni/spec/runner`: a libcni-like conflist runner with libcni's result cache, for
// runtimes, tools and tests. A separate entry: plugins do not need it.
export { CNI_CACHE_KIND, ResultCache, type CacheFs, type CachedAttachment } from './result-cache.js';
export {
  ConflistRunner,
  type AddOutcome,
  type ConflistRunnerOptions,
  type RuntimeConf,
} from './conflist-runner.js';
