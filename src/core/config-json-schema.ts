import { z } from 'zod';
import { configSchema } from './config.ts';

/** JSON Schema of `.github/edgeship.yml`, for editors; committed as docs/edgeship.schema.json. */
export function configJsonSchema(): object {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://edgeship.dev/schemas/edgeship.schema.json',
    title: 'edgeship model repo config (.github/edgeship.yml)',
  };
}
