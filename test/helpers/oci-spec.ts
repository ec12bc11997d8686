import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { ROOT } from './fixtures.ts';

const FILES = [
  'defs.json',
  'defs-descriptor.json',
  'content-descriptor.json',
  'config-schema.json',
  'image-manifest-schema.json',
  'image-index-schema.json',
];

/** Drops draft-04's `$schema` and informational `id`s, so ajv (draft-07) resolves the files' relative refs by file name. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, entry]) => !(key === '$schema' || (key === 'id' && typeof entry === 'string')))
      .map(([key, entry]) => [key, plain(entry)]),
  );
}

/** Validators for OCI image configs, manifests and indexes, from the image spec's own schemas. */
export async function ociSpec() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The two formats the schemas use, checked rather than ignored.
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  ajv.addFormat('uri', { type: 'string', validate: (value: string) => URL.canParse(value) });
  for (const file of FILES)
    ajv.addSchema(
      plain(JSON.parse(await readFile(join(ROOT, 'test/fixtures/oci-image-spec', file), 'utf8'))) as object,
      file,
    );
  const check = (file: string) => (value: unknown) => {
    const validate = ajv.getSchema(file);
    if (!validate) throw new Error(`no schema ${file}`);
    if (!validate(value)) throw new Error(`${file}: ${ajv.errorsText(validate.errors)}`);
  };
  return {
    config: check('config-schema.json'),
    manifest: check('image-manifest-schema.json'),
    index: check('image-index-schema.json'),
  };
}
