/**
 * Flattens JSON into `path → leaf value` pairs, so two results can be compared field by field
 * and a test can say how many fields it compared.
 */
export function leafFields(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(path, '[]');
    v.forEach((x, i) => leafFields(x, `${path}[${i}]`, out));
  } else if (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    if (keys.length === 0) out.set(path, '{}');
    for (const k of keys) leafFields((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, v);
  }
  return out;
}

/** Every field of `expected` present with the same value in `actual`, and nothing extra. */
export function fieldDiff(expected: unknown, actual: unknown): string[] {
  const e = leafFields(expected);
  const a = leafFields(actual);
  const diffs: string[] = [];
  for (const [k, v] of e) {
    if (!a.has(k)) diffs.push(`missing ${k} (expected ${JSON.stringify(v)})`);
    else if (a.get(k) !== v)
      diffs.push(`${k}: expected ${JSON.stringify(v)}, got ${JSON.stringify(a.get(k))}`);
  }
  for (const k of a.keys()) if (!e.has(k)) diffs.push(`extra ${k} = ${JSON.stringify(a.get(k))}`);
  return diffs;
}
