import { PolicyError } from './errors.js';
import type { LabelSelector, Labels, SelectorOperator, SelectorRequirement } from './model.js';

/** Selects everything: `{}` as a podSelector or namespaceSelector. */
export const EVERYTHING: LabelSelector = Object.freeze({
  matchLabels: Object.freeze({}),
  matchExpressions: [],
});

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True when `key` is a qualified label key (`[prefix/]name`) as apimachinery validates it. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && NAME.test(key.slice(slash + 1));
}

/** True when `value` is a valid label value: empty, or up to 63 name characters. */
export function isLabelValue(value: string): boolean {
  return value === '' || NAME.test(value);
}

function fail(where: string, why: string): never {
  throw new PolicyError('INVALID_SELECTOR', `${where}: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates a label map (`metadata.labels`, `matchLabels`); null or absent is the empty map. */
export function parseLabels(
  raw: unknown,
  where: string,
  code: 'INVALID_SELECTOR' | 'INVALID_OBJECT',
): Labels {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new PolicyError(code, `${where} must be a map of strings`);
  const out: Record<string, string> = {};
  for (const key of Object.keys(raw).sort()) {
    const value = raw[key];
    if (!isLabelKey(key)) throw new PolicyError(code, `${where}: "${key}" is not a valid label key`);
    if (typeof value !== 'string' || !isLabelValue(value)) {
      throw new PolicyError(code, `${where}.${key}: ${JSON.stringify(value)} is not a valid label value`);
    }
    out[key] = value;
  }
  return out;
}

function parseRequirement(raw: unknown, where: string): SelectorRequirement {
  if (!isRecord(raw)) fail(where, 'must be an object with key, operator and values');
  const { key, operator, values } = raw;
  if (typeof key !== 'string' || !isLabelKey(key))
    fail(where, `key ${JSON.stringify(key)} is not a valid label key`);
  if (typeof operator !== 'string' || !OPERATORS.includes(operator as SelectorOperator)) {
    fail(where, `operator ${JSON.stringify(operator)} is not one of ${OPERATORS.join(', ')}`);
  }
  const op = operator as SelectorOperator;
  if (values !== undefined && values !== null && !Array.isArray(values)) fail(where, 'values must be a list');
  const list = (values ?? []) as unknown[];
  for (const v of list) {
    if (typeof v !== 'string' || !isLabelValue(v))
      fail(where, `value ${JSON.stringify(v)} is not a valid label value`);
  }
  if ((op === 'In' || op === 'NotIn') && list.length === 0) fail(where, `${op} needs at least one value`);
  if ((op === 'Exists' || op === 'DoesNotExist') && list.length > 0) fail(where, `${op} takes no values`);
  return { key, operator: op, values: [...new Set(list as string[])].sort() };
}

/** Validates a metav1.LabelSelector as the API server returns it. */
export function parseSelector(raw: unknown, where: string): LabelSelector {
  if (raw === null || raw === undefined) return EVERYTHING;
  if (!isRecord(raw)) fail(where, 'must be an object');
  const matchLabels = parseLabels(raw.matchLabels, `${where}.matchLabels`, 'INVALID_SELECTOR');
  const exprs = raw.matchExpressions;
  if (exprs !== undefined && exprs !== null && !Array.isArray(exprs))
    fail(where, 'matchExpressions must be a list');
  const matchExpressions = ((exprs ?? []) as unknown[]).map((e, i) =>
    parseRequirement(e, `${where}.matchExpressions[${i}]`),
  );
  return { matchLabels, matchExpressions };
}

/** True when `labels` satisfy every matchLabels entry and every expression (an AND of all). */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const key in selector.matchLabels) {
    if (labels[key] !== selector.matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    switch (req.operator) {
      case 'In':
        if (!has || !req.values.includes(labels[req.key]!)) return false;
        break;
      case 'NotIn':
        // apimachinery: a missing key satisfies NotIn.
        if (has && req.values.includes(labels[req.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** True for the selector that selects everything. */
export function selectsAll(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}

/** Stable text of a selector, for reasons and keys: `app=a,tier in (x,y),!debug`. */
export function formatSelector(selector: LabelSelector): string {
  const parts = Object.keys(selector.matchLabels)
    .sort()
    .map((k) => `${k}=${selector.matchLabels[k]}`);
  for (const r of selector.matchExpressions) {
    if (r.operator === 'Exists') parts.push(r.key);
    else if (r.operator === 'DoesNotExist') parts.push(`!${r.key}`);
    else parts.push(`${r.key} ${r.operator === 'In' ? 'in' : 'notin'} (${r.values.join(',')})`);
  }
  return parts.length ? parts.join(',') : '(all)';
}
