import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HANDLED_EVENTS } from '../../src/app/index.ts';
import { ROOT } from '../helpers/fixtures.ts';

describe('app.yml', () => {
  it('subscribes to exactly the events the app handles, with write access only where it writes', async () => {
    const manifest = parse(await readFile(join(ROOT, 'app.yml'), 'utf8')) as {
      default_events: string[];
      default_permissions: Record<string, string>;
    };
    expect([...manifest.default_events].sort()).toEqual([...HANDLED_EVENTS].sort());
    expect(manifest.default_permissions).toEqual({
      actions: 'write',
      checks: 'write',
      contents: 'write',
      deployments: 'write',
      issues: 'write',
      metadata: 'read',
      pull_requests: 'write',
    });
  });
});
