import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's docs/ folder. */
export const DOCS_DIR = fileURLToPath(new URL('../../../docs/', import.meta.url));

/**
 * The names among a package's runtime exports that its docs page never mentions (as a whole
 * word), sorted: a package's tests assert this is empty, so an export cannot ship undocumented.
 * Types are not runtime exports and are not checked.
 */
export function undocumentedExports(exports: Record<string, unknown>, page: string): string[] {
  const text = readFileSync(join(DOCS_DIR, page), 'utf8');
  return Object.keys(exports)
    .filter(
      (name) => !new RegExp(`(^|[^A-Za-z0-9_$])${name.replace(/\$/g, '\\$')}($|[^A-Za-z0-9_$])`).test(text),
    )
    .sort();
}
