import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: object }> } | { $ref: string }>;
}
interface Description {
  paths: Record<string, Record<string, Operation>>;
  components: object;
}

/**
 * GitHub's published REST description (@octokit/openapi, api.github.com) as a checker of the
 * fake's answers: each answer is matched to its operation by method and path template and
 * validated against the schema of its status. Returns one line per answer that does not fit.
 */
export class GitHubOpenApi {
  private readonly description = require('@octokit/openapi/generated/api.github.com.json') as Description;
  private ajvInstance: Ajv | undefined;
  private readonly templates: { method: string; pattern: RegExp; template: string }[];
  private readonly compiled = new Map<string, ValidateFunction>();

  /**
   * The validator of every component schema, built on the first check only: the fake's answers
   * need just the examples, and building this takes seconds.
   */
  private get ajv(): Ajv {
    if (this.ajvInstance) return this.ajvInstance;
    const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
    // Closed objects: a field GitHub does not send is a mismatch too, except where allOf composes
    // schemas (closing one part would refuse the others' fields).
    const composed = new Set(
      [...JSON.stringify(this.description).matchAll(/"allOf":\[[^\]]*\]/g)].flatMap((match) =>
        [...match[0].matchAll(/#\/components\/schemas\/([\w.-]+)/g)].map((ref) => ref[1] ?? ''),
      ),
    );
    const schemas = (this.description.components as { schemas: Record<string, unknown> }).schemas;
    const closedSchemas = Object.fromEntries(
      Object.entries(schemas).map(([name, schema]) => [name, composed.has(name) ? schema : closed(schema)]),
    );
    ajv.addSchema({ components: jsonSchemaOf({ ...this.description.components, schemas: closedSchemas }) }, 'github');
    this.ajvInstance = ajv;
    return ajv;
  }

  constructor() {
    this.templates = Object.entries(this.description.paths).flatMap(([template, operations]) =>
      Object.keys(operations).map((method) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      })),
    );
  }

  /**
   * GitHub's own example answer of the operation at `method path` with `status`, when the
   * description has one: the fake fills what it does not model from it, so its answers carry
   * every field GitHub sends (node_id, _links, users…) with its own values on top.
   */
  example(method: string, path: string, status: number): unknown {
    const operation = this.operationOf(method, path);
    const described = operation && this.description.paths[operation.template]?.[method.toLowerCase()];
    const response = described?.responses[String(status)];
    if (!response) return undefined;
    const resolved = '$ref' in response ? this.resolve(response.$ref) : response;
    const examples =
      (
        resolved.content?.['application/json'] as
          { examples?: Record<string, { $ref?: string; value?: unknown }> } | undefined
      )?.examples ?? {};
    const example = examples.default ?? Object.values(examples)[0];
    if (!example) return undefined;
    const value = example.$ref ? (this.resolve(example.$ref) as { value?: unknown }).value : example.value;
    return structuredClone(value);
  }

  private operationOf(method: string, path: string) {
    const matches = this.templates.filter((candidate) => candidate.method === method && candidate.pattern.test(path));
    return matches.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0))[0];
  }

  /** The mismatches among `answers`; an answer to an undescribed path is one too. */
  check(answers: readonly { method: string; path: string; status: number; body: unknown }[]): string[] {
    const problems = new Set<string>();
    for (const answer of answers) {
      if (answer.path === '/graphql') continue; // checked against the GraphQL schema instead
      // The most specific template: fewest parameters wins (/repos/{o}/{r}/pulls over /repos/{o}/{r}/{x}).
      const operation = this.operationOf(answer.method, answer.path);
      if (!operation) {
        problems.add(`${answer.method} ${answer.path}: no such operation in GitHub's REST description`);
        continue;
      }
      const key = `${operation.method} ${operation.template} ${answer.status}`;
      const validate = this.validator(operation, answer.status);
      if (validate === 'undescribed') problems.add(`${key}: GitHub does not answer this status`);
      else if (validate && !validate(answer.body)) {
        const error = validate.errors?.[0];
        problems.add(
          `${key}: ${error?.instancePath || '(body)'} ${error?.message ?? ''} ${error?.params ? JSON.stringify(error.params) : ''}`.trim(),
        );
      }
    }
    return [...problems];
  }

  private validator(
    operation: { method: string; template: string },
    status: number,
  ): ValidateFunction | undefined | 'undescribed' {
    const key = `${operation.method} ${operation.template} ${status}`;
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const described = this.description.paths[operation.template]?.[operation.method.toLowerCase()];
    const response = described?.responses[String(status)];
    if (!response) return status >= 400 ? undefined : 'undescribed';
    const resolved = '$ref' in response ? this.resolve(response.$ref) : response;
    const schema = resolved.content?.['application/json']?.schema;
    if (!schema) return undefined;
    const validate = this.ajv.compile(this.rebase(jsonSchemaOf(schema) as object));
    this.compiled.set(key, validate);
    return validate;
  }

  private resolve(ref: string): { content?: Record<string, { schema?: object }> } {
    return ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], this.description) as {
      content?: Record<string, { schema?: object }>;
    };
  }

  /** Points `#/components/…` refs at the registered description. */
  private rebase(schema: object): object {
    return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"github#/components/')) as object;
  }
}

/** OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes a `null` type (ajv knows no nullable without a type). */
function jsonSchemaOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(jsonSchemaOf);
  if (node === null || typeof node !== 'object') return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const converted = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [
      key,
      key === 'properties' || key === 'components' || key === 'schemas' ? mapValues(value) : jsonSchemaOf(value),
    ]),
  );
  if (nullable !== true) return converted;
  if (typeof converted.type === 'string') {
    return {
      ...converted,
      type: [converted.type, 'null'],
      ...(Array.isArray(converted.enum) && { enum: [...(converted.enum as unknown[]), null] }),
    };
  }
  return { anyOf: [converted, { type: 'null' }] };
}

function mapValues(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return jsonSchemaOf(value);
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, jsonSchemaOf(entry)]));
}

/**
 * `answer` over GitHub's `example`: objects merge key by key with the answer winning, each item
 * of an answer's list over the example's first item; anything else is the answer's.
 */
export function overExample(example: unknown, answer: unknown): unknown {
  if (Array.isArray(answer))
    return answer.map((item) => overExample(Array.isArray(example) ? example[0] : undefined, item));
  if (
    answer === null ||
    typeof answer !== 'object' ||
    example === null ||
    typeof example !== 'object' ||
    Array.isArray(example)
  )
    return answer;
  const merged: Record<string, unknown> = { ...(example as Record<string, unknown>) };
  for (const [key, value] of Object.entries(answer))
    merged[key] = overExample((example as Record<string, unknown>)[key], value);
  return merged;
}

/** Sets `additionalProperties: false` on every object schema with properties, outside allOf. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node as Record<string, unknown>).map(([key, value]) => [
    key,
    key === 'allOf'
      ? value
      : key === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([name, property]) => [name, closed(property)]))
        : closed(value),
  ]);
  const result = Object.fromEntries(entries) as Record<string, unknown>;
  if (result.properties && result.additionalProperties === undefined && !result.allOf)
    result.additionalProperties = false;
  return result;
}
