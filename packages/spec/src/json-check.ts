import { SpecError, type SpecErrorCode } from './errors.js';

/** A plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Small typed readers for decoded JSON. Each throws a SpecError with the given code and a path
 * such as `ips[1].address`, so a person sees exactly which field is wrong.
 */
export class JsonReader {
  constructor(
    readonly code: SpecErrorCode,
    readonly what: string,
  ) {}

  fail(path: string, problem: string): never {
    throw new SpecError(this.code, `${this.what}: ${path} ${problem}`);
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (!isObject(v)) this.fail(path, `must be an object, got ${typeName(v)}`);
    return v;
  }

  optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(`${path}${key}`, `must be a string, got ${typeName(v)}`);
    return v;
  }

  string(o: Record<string, unknown>, key: string, path: string): string {
    const v = this.optString(o, key, path);
    if (v === undefined) this.fail(`${path}${key}`, 'is required');
    return v;
  }

  optInt(
    o: Record<string, unknown>,
    key: string,
    path: string,
    min = 0,
    max = 2 ** 31 - 1,
  ): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(`${path}${key}`, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  optBool(o: Record<string, unknown>, key: string, path: string): boolean | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(`${path}${key}`, `must be true or false, got ${typeName(v)}`);
    return v;
  }

  optArray(o: Record<string, unknown>, key: string, path: string): unknown[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.fail(`${path}${key}`, `must be an array, got ${typeName(v)}`);
    return v as unknown[];
  }

  optStrings(o: Record<string, unknown>, key: string, path: string): string[] | undefined {
    const arr = this.optArray(o, key, path);
    if (!arr) return undefined;
    arr.forEach((s, i) => {
      if (typeof s !== 'string') this.fail(`${path}${key}[${i}]`, `must be a string, got ${typeName(s)}`);
    });
    return arr as string[];
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
