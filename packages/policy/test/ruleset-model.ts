/**
 * A model of what the kernel holds after loading, in order, the nft texts this package writes
 * (a full ruleset from `renderRuleset`, then deltas from `renderRulesetDelta`): per object its
 * definition, its elements and its rules. It refuses what the kernel would refuse for these
 * texts: an element added twice or deleted while absent, a chain or set defined twice, deleted
 * while absent, or deleted while a map element still jumps to it. Only this package's own
 * output shapes are understood; anything else throws.
 */
export interface ModelObject {
  kind: 'set' | 'map' | 'chain' | 'counter';
  head: string;
  elements: Set<string>;
  rules: string[];
}

export type RulesetModel = Map<string, ModelObject>;

function splitElements(body: string): string[] {
  return body.trim() ? body.split(', ').map((e) => e.trim()) : [];
}

const mapKey = (e: string) => (e.includes(' : ') ? e.slice(0, e.indexOf(' : ')) : e);

export function loadInto(model: RulesetModel, text: string, table: string): void {
  const t = `inet ${table}`;
  const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  const define = (name: string, o: ModelObject) => {
    if (model.has(name)) throw new Error(`${name} defined twice`);
    model.set(name, o);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === `table ${t}`) continue;
    if (line === `delete table ${t}`) {
      model.clear();
      continue;
    }
    if (line === `table ${t} {`) {
      for (i++; lines[i] !== '}'; i++) {
        const l = lines[i]!;
        let m: RegExpExecArray | null;
        if ((m = /^ {2}counter (\S+) \{ \}$/.exec(l))) define(m[1]!, obj('counter', ''));
        else if ((m = /^ {2}(set|map) (\S+) \{ (.*?);(?: elements = \{ (.*) \})? \}$/.exec(l))) {
          const o = obj(m[1] as 'set' | 'map', m[3]!);
          for (const e of splitElements(m[4] ?? '')) o.elements.add(e);
          define(m[2]!, o);
        } else if ((m = /^ {2}chain (\S+) \{$/.exec(l))) {
          const o = obj('chain', '');
          for (i++; lines[i] !== '  }'; i++) o.rules.push(lines[i]!.trim());
          define(m[1]!, o);
        } else throw new Error(`unknown line in table block: ${l}`);
      }
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^(add|delete) element ${t} (\\S+) \\{ (.*) \\}$`).exec(line))) {
      const o = model.get(m[2]!);
      if (!o || (o.kind !== 'set' && o.kind !== 'map')) throw new Error(`no set or map ${m[2]}`);
      for (const e of splitElements(m[3]!)) {
        const present = [...o.elements].find((x) => mapKey(x) === mapKey(e));
        if (m[1] === 'add') {
          if (present) throw new Error(`element ${e} of ${m[2]} already present`);
          o.elements.add(e);
        } else {
          if (!present) throw new Error(`element ${e} of ${m[2]} is absent`);
          o.elements.delete(present);
        }
      }
    } else if ((m = new RegExp(`^delete (chain|set) ${t} (\\S+)$`).exec(line))) {
      const o = model.get(m[2]!);
      if (!o || o.kind !== m[1]) throw new Error(`no ${m[1]} ${m[2]} to delete`);
      const refs = [...model.values()].some(
        (x) =>
          [...x.elements].some((e) => e.endsWith(`jump ${m![2]}`)) ||
          x.rules.some((r) => r.includes(`@${m![2]} `) || r.endsWith(`@${m![2]}`)),
      );
      if (refs) throw new Error(`${m[1]} ${m[2]} is still in use`);
      model.delete(m[2]!);
    } else throw new Error(`unknown line: ${line}`);
  }
}

function obj(kind: ModelObject['kind'], head: string): ModelObject {
  return { kind, head, elements: new Set(), rules: [] };
}

/** Comparable form: objects by name, elements sorted. */
export function modelView(model: RulesetModel): Record<string, unknown> {
  return Object.fromEntries(
    [...model.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, o]) => [name, { ...o, elements: [...o.elements].sort() }]),
  );
}
