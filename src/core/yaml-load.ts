import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';

/**
 * YAML text as plain data, the fast way, or undefined where the caller must read it with `yaml`.
 *
 * `yaml` (parseDocument) keeps what edgeship needs to edit a file without losing a byte and to
 * point at a line in an error, and pays for it: 1.8 s and 140 MiB of heap for a config of 10,000
 * targets. js-yaml reads the same text into data in 0.1 s and 20 MiB. So data is read here first,
 * and `yaml` is used for what only it gives: a document to edit, the lines of an error.
 *
 * Only text both read alike is answered here. Plain scalars resolve by YAML 1.2's core schema
 * with `yaml`'s own patterns (below); whatever else the two read differently goes to `yaml`:
 * an anchor used twice (js-yaml hands an alias the anchor's object, where `yaml` copies within its
 * alias limits), a key that is a list or a mapping, a null key (`yaml` names it "", js-yaml
 * "null"), and any error.
 */
export function loadYamlData(text: string): unknown {
  const collections = new Set<unknown>();
  let data: unknown;
  try {
    data = load(text, {
      schema: CORE,
      listener(event, state: { kind?: string; result?: unknown }) {
        if (event === 'close' && (state.kind === 'mapping' || state.kind === 'sequence')) collections.add(state.result);
      },
    });
  } catch {
    return undefined;
  }
  if (data === undefined) return undefined;
  // Every list and mapping read is a value in the data, once: none was a key, none an alias.
  const reached = valuesOnce(data);
  return reached === collections.size ? data : undefined;
}

/** The lists and mappings in the data, each reached once; -1 when one is reached twice or a key reads as null. */
function valuesOnce(root: unknown): number {
  const seen = new Set<object>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object') continue;
    if (seen.has(value)) return -1;
    seen.add(value);
    if (!Array.isArray(value) && Object.hasOwn(value, 'null')) return -1;
    for (const child of Object.values(value)) stack.push(child);
  }
  return seen.size;
}

/** A core-schema scalar as `yaml` resolves it (node_modules/yaml/dist/schema/core, common/null). */
const scalar = (tag: string, pattern: RegExp, construct: (text: string) => unknown) =>
  new Type(`tag:yaml.org,2002:${tag}`, {
    kind: 'scalar',
    resolve: (text: string | null) => text === null || pattern.test(text),
    construct: (text: string | null) => construct(text ?? ''),
  });

const CORE = FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar('null', /^(?:~|[Nn]ull|NULL)?$/, () => null),
    scalar('bool', /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (text) => text[0] === 't' || text[0] === 'T'),
    scalar('int', /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (text) =>
      text.startsWith('0o')
        ? parseInt(text.slice(2), 8)
        : text.startsWith('0x')
          ? parseInt(text.slice(2), 16)
          : parseInt(text, 10),
    ),
    scalar(
      'float',
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/,
      (text) =>
        /nan$/i.test(text)
          ? NaN
          : /inf$/i.test(text)
            ? text.startsWith('-')
              ? -Infinity
              : Infinity
            : parseFloat(text),
    ),
  ],
});
