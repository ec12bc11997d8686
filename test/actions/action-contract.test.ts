import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/fixtures.ts';

interface ActionYml {
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: { id?: string; env?: Record<string, string>; run?: string }[] };
}

const ACTIONS = ['train', 'profile', 'evaluate', 'publish', 'report'];

describe.each(ACTIONS)('actions/%s', (name) => {
  const load = async () => ({
    action: parse(await readFile(join(ROOT, `actions/${name}/action.yml`), 'utf8')) as ActionYml,
    code: await readFile(join(ROOT, `src/actions/${name}.ts`), 'utf8'),
    readme: await readFile(join(ROOT, `actions/${name}/README.md`), 'utf8'),
  });

  it('passes every input to the entry point, which reads it', async () => {
    const { action, code } = await load();
    const step = action.runs.steps.find((candidate) => candidate.run?.includes(`src/actions/${name}.ts`));
    expect(step?.id).toBeDefined();
    for (const input of Object.keys(action.inputs)) {
      expect(step?.env?.[`INPUT_${input.toUpperCase()}`], `env of ${input}`).toBe(`\${{ inputs.${input} }}`);
      expect(code, `code reads ${input}`).toMatch(new RegExp(`(input|requiredInput|booleanInput)\\('${input}'`));
    }
    expect(Object.keys(step?.env ?? {}).sort()).toEqual(
      Object.keys(action.inputs)
        .map((input) => `INPUT_${input.toUpperCase()}`)
        .sort(),
    );
  });

  it('writes every output it declares', async () => {
    const { action, code } = await load();
    const step = action.runs.steps.find((candidate) => candidate.run?.includes(`src/actions/${name}.ts`));
    for (const [output, spec] of Object.entries(action.outputs)) {
      expect(spec.value).toBe(`\${{ steps.${step?.id}.outputs.${output} }}`);
      expect(code, `code sets ${output}`).toContain(`setOutput('${output}'`);
    }
    const written = [...code.matchAll(/setOutput\('([^']+)'/g)].map((match) => match[1]);
    expect(written.sort()).toEqual(Object.keys(action.outputs).sort());
  });

  it('documents exactly its inputs and outputs, with their defaults', async () => {
    const { action, readme } = await load();
    const rows = (heading: string) =>
      readme
        .split(`## ${heading}`)[1]
        ?.split('\n## ')[0]
        ?.split('\n')
        .filter((line) => line.startsWith('| `'))
        .map((line) => line.split('|').map((cell) => cell.trim())) ?? [];
    expect(rows('Inputs').map((row) => row[1])).toEqual(Object.keys(action.inputs).map((input) => `\`${input}\``));
    for (const row of rows('Inputs')) {
      const spec = action.inputs[row[1]!.slice(1, -1)]!;
      expect(row[3]).toBe(spec.required ? '(required)' : spec.default ? `\`${spec.default}\`` : '');
    }
    expect(rows('Outputs').map((row) => row[1])).toEqual(Object.keys(action.outputs).map((output) => `\`${output}\``));
  });
});

describe('the training workflow', () => {
  it('model-repo-example uses exactly the template (edgeship init-workflow copies it)', async () => {
    const template = await readFile(join(ROOT, 'templates/workflows/edgeship-train.yml'), 'utf8');
    expect(await readFile(join(ROOT, 'model-repo-example/.github/workflows/edgeship-train.yml'), 'utf8')).toBe(
      template,
    );
  });

  it('takes the inputs the app dispatches, uses the steps in order, and cancels superseded runs', async () => {
    const workflow = parse(await readFile(join(ROOT, 'templates/workflows/edgeship-train.yml'), 'utf8')) as {
      on: { workflow_dispatch: { inputs: Record<string, unknown> } };
      concurrency: { 'cancel-in-progress': boolean };
      permissions: Record<string, string>;
      jobs: Record<string, { needs?: string | string[]; if?: string; 'runs-on': unknown; steps: { uses?: string }[] }>;
    };
    // The app dispatches exactly these (asserted in test/app/release-flow and commands tests).
    expect(Object.keys(workflow.on.workflow_dispatch.inputs)).toEqual(['sha', 'run_key', 'reason', 'context']);
    expect(workflow.concurrency['cancel-in-progress']).toBe(true);
    expect(workflow.permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write' });
    const uses = Object.values(workflow.jobs).flatMap((job) =>
      job.steps.map((step) => step.uses).filter((value) => value?.startsWith('edgeship/')),
    );
    expect(uses).toEqual(
      ['train', 'profile', 'evaluate', 'publish', 'report'].map((step) => `edgeship/edgeship/actions/${step}@v1`),
    );
    // Device profiling runs only where runners are configured; the release job runs either way.
    expect(workflow.jobs.devices).toMatchObject({
      needs: 'train',
      if: "vars.EDGESHIP_DEVICES != ''",
      'runs-on': '${{ matrix.device.runs-on }}',
    });
    expect(workflow.jobs.release?.needs).toEqual(['train', 'devices']);
    expect(workflow.jobs.release?.if).toContain("needs.devices.result != 'failure'");
  });
});
