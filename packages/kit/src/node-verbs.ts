import type {
  AddContext,
  CheckContext,
  DelContext,
  GcContext,
  HandlerResult,
  PluginHandlers,
  StatusContext,
} from '@minicni/spec';

type MaybePromise<T> = T | Promise<T>;

/** A plugin's verbs written as functions of the call and the node they act on. */
export interface NodeVerbs<N> {
  add(ctx: AddContext, node: N): MaybePromise<HandlerResult>;
  del(ctx: DelContext, node: N): MaybePromise<void>;
  check(ctx: CheckContext, node: N): MaybePromise<void>;
  status?(ctx: StatusContext, node: N): MaybePromise<void>;
  gc?(ctx: GcContext, node: N): MaybePromise<unknown>;
}

/**
 * The verbs bound to one node environment, as runPlugin's handlers: a plugin writes each verb as
 * `(ctx, node)` and decides once, when it is built, which netns is "the node".
 */
export function onNode<N>(node: N, verbs: NodeVerbs<N>): PluginHandlers {
  const { status, gc } = { status: verbs.status?.bind(verbs), gc: verbs.gc?.bind(verbs) };
  return {
    add: (ctx) => verbs.add(ctx, node),
    del: (ctx) => verbs.del(ctx, node),
    check: (ctx) => verbs.check(ctx, node),
    ...(status ? { status: (ctx: StatusContext) => status(ctx, node) } : {}),
    // GC's own outcome (what it released) is for the debug log, not the runtime.
    ...(gc ? { gc: async (ctx: GcContext) => void (await gc(ctx, node)) } : {}),
  };
}
