import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { loadModel } from '../../src/serve/model.ts';
import { ROOT } from '../helpers/fixtures.ts';

/** The Open Inference Protocol's REST schemas (kserve/open-inference-protocol), by name. */
export async function oipSchemas(): Promise<(name: string) => ValidateFunction> {
  const spec = parse(await readFile(join(ROOT, 'test/fixtures/schemas/open_inference_rest.yaml'), 'utf8')) as {
    components: unknown;
  };
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'oip.json', components: spec.components });
  return (name) => {
    const validate = ajv.getSchema(`oip.json#/components/schemas/${name}`);
    if (!validate) throw new Error(`the OIP description has no schema ${name}`);
    return validate;
  };
}

/** Asserts `body` is what the OIP schema `name` describes; the error lists what is not. */
export function assertSchema(validate: ValidateFunction, body: unknown, what: string): void {
  if (!validate(body))
    throw new Error(
      `${what}: not an OIP ${validate.schema && JSON.stringify((validate.schema as { title?: string }).title)}: ${JSON.stringify(validate.errors)}`,
    );
}

/** A model of test/fixtures/models (every-type, ids-and-features, half, channels-first) as `name`. */
export const zooModel = (file: string, name: string, version = '1') =>
  loadModel({ model: join(inject('modelZoo'), `${file}.onnx`), name, version });
