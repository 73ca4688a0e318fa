/**
 * What the Kubernetes API server asks RBAC about a request: its API group, resource and verb,
 * worked out from the method and path the way the server's request-info resolver does, so a
 * test can compare the calls an agent really made with what its ClusterRole grants.
 *
 * API:
 * - `rbacAttributes(method, url) -> {apiGroup, resource, verb}`: `/api/v1/...` is the core
 *   group (""), `/apis/<group>/<version>/...` a named one; `namespaces/<ns>/` before a resource
 *   is skipped (the namespace itself is the resource `namespaces` when nothing follows); a
 *   subresource is named `resource/sub`. GET on a collection is `list`, or `watch` with
 *   `watch=1|true`; GET on a name is `get`; POST `create`, PUT `update`, PATCH `patch`, DELETE
 *   `delete` (on a collection `deletecollection`). Anything else throws.
 * - `grants(rules, attrs) -> boolean`: whether ClusterRole rules allow it (`*` honoured).
 */
export interface RbacAttributes {
  apiGroup: string;
  resource: string;
  verb: string;
}

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export function rbacAttributes(method: string, url: string): RbacAttributes {
  const u = new URL(url, 'http://api');
  const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let apiGroup: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    apiGroup = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiGroup = parts[1]!;
    rest = parts.slice(3);
  } else {
    throw new Error(`not a resource request: ${method} ${url}`);
  }
  // namespaces/<ns>/<resource>...: the namespace scopes the request; alone it is the object.
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (!resource) throw new Error(`no resource in ${method} ${url}`);
  const watch = ['1', 'true'].includes(u.searchParams.get('watch') ?? '');
  const verbs: Record<string, string | undefined> = {
    GET: name ? 'get' : watch ? 'watch' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  const verb = verbs[method.toUpperCase()];
  if (!verb) throw new Error(`no RBAC verb for ${method} ${url}`);
  return { apiGroup, resource: sub ? `${resource}/${sub}` : resource, verb };
}

export function grants(rules: readonly RbacRule[], a: RbacAttributes): boolean {
  const has = (list: readonly string[], x: string) => list.includes('*') || list.includes(x);
  return rules.some(
    (r) => has(r.apiGroups, a.apiGroup) && has(r.resources, a.resource) && has(r.verbs, a.verb),
  );
}
