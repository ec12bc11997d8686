import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkWith, jsonCopy, jsonOrUndefined, parseJson, parseJsonWith } from '../../src/core/parse-json.ts';

const fail = (issues: string[]) => new Error(issues.join(' | '));
const schema = z.object({ name: z.string(), sizes: z.array(z.number().int()).min(1) });

describe('reading JSON from outside', () => {
  it('names each problem with its path, what was expected and what was found', () => {
    expect(() => parseJsonWith(schema, '{"sizes": [1, "2"]}', fail)).toThrow(
      'name: expected string, found nothing (the field is required) | sizes[1]: expected number, found "2"',
    );
    expect(() => parseJsonWith(schema, '{"name": "a", "sizes": []}', fail)).toThrow(
      'sizes: expected array to have >=1 items, found a list',
    );
    expect(() => parseJsonWith(schema, '[1]', fail)).toThrow('(top level): expected object, found a list');
    expect(parseJsonWith(schema, '{"name": "a", "sizes": [3]}', fail)).toEqual({ name: 'a', sizes: [3] });
  });

  it('says text is not JSON, with what was expected when the caller names it', () => {
    expect(() => parseJson('{"a": ', fail)).toThrow(/^invalid JSON \(.+\)$/);
    expect(() => parseJson('f1=0.8', fail, 'metrics')).toThrow(
      /^expected JSON metrics, found text that does not parse \(.+\)$/,
    );
  });

  it('holds data already read to a schema the same way', () => {
    expect(() => checkWith(schema, { name: 7, sizes: [1] }, fail)).toThrow('name: expected string, found 7');
  });

  it('reads text that may be a sentence, and copies data so that no value is reached twice', () => {
    expect(jsonOrUndefined('{"summary": "x"}')).toEqual({ summary: 'x' });
    expect(jsonOrUndefined('drift at plant-north')).toBeUndefined();
    const shared = { a: 1 };
    const copy = jsonCopy({ left: shared, right: shared }) as { left: object; right: object };
    expect(copy.left).toEqual(shared);
    expect(copy.left).not.toBe(copy.right);
  });
});
