import { describe, expect, it } from 'vitest';
import { proposalDigest } from '../../src/core/release-integrity.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { deployedWorld, GITOPS_REPO, MODEL_REPO } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { example } from '../helpers/webhooks.ts';

/** A world whose deployed release is the example model with one more input: the candidate drops it, a breaking change. */
async function breakingWorld(scratch: string) {
  const { github, world } = await deployedWorld(scratch, {
    contract: (contract) => ({
      ...contract,
      inputs: [...contract.inputs, { name: 'mask', dtype: 'bool', shape: ['batch'] }],
    }),
    // Other bytes than the candidate's (a doc string appended to the ModelProto): a new release, not the same model.
    modelBytes: (bytes) => Buffer.concat([bytes, Buffer.from([0x32, 0x01, 0x41])]),
  });
  world.model.roles.set('writer', 'write').set('reader', 'read');
  return { github, world };
}

describe('a breaking change is approved per release, on its PR', () => {
  const tempDir = useTempDirs();

  it('fails the contract gate until someone with write access says /edgeship allow-breaking; the approval is recorded and the merge deploys it', async () => {
    const { github, world } = await breakingWorld(await tempDir());
    const runId = await world.finishRun();
    await world.app.receive('workflow_run.completed', world.runCompleted(runId, world.sha, 'success', MODEL_REPO));
    await world.app.settle();
    const [pull] = world.model.pulls;
    expect(pull).toMatchObject({ number: 1, title: 'release(pump-forecaster): 2.0.0' });
    const gatesOf = (head: string) =>
      world.model.checkRuns.find((check) => check.name === 'edgeship/gates' && check.head_sha === head);
    const before = world.model.branches.get(pull!.head.ref)!;
    expect(gatesOf(before)).toMatchObject({ conclusion: 'failure' });
    expect(gatesOf(before)?.output?.summary).toContain(
      'approve it for this release with `/edgeship allow-breaking` on its PR',
    );

    let id = 9500;
    const say = async (body: string, user: string) => {
      const payload = example('issue_comment.created', MODEL_REPO);
      Object.assign(payload.comment, { id: id++, body, user: { ...payload.comment.user, login: user, type: 'User' } });
      Object.assign(payload.issue, { number: 1 });
      Object.assign(payload.repository, { default_branch: 'main' });
      await world.app.receive('issue_comment.created', payload);
      await world.app.settle();
      return (world.model.comments.get(1)?.at(-1)?.body ?? '').replace(/\n\n<!-- edgeship:command:\d+ -->$/, '');
    };
    expect(await say('/edgeship allow-breaking', 'reader')).toContain(
      'edgeship commands need write, maintain or admin permission',
    );
    expect(world.model.branches.get(pull!.head.ref)).toBe(before);

    expect(await say('/edgeship allow-breaking', 'writer')).toMatch(
      /^@writer allowed the breaking change of release\(pump-forecaster\): 2\.0\.0 for this release; it is recorded in the release \([0-9a-f]{7}\), and every gate passes now/,
    );
    const head = world.model.branches.get(pull!.head.ref)!;
    expect(head).not.toBe(before);
    const recordText = github.file(MODEL_REPO, pull!.head.ref, '.edgeship/release.json')!;
    const record = JSON.parse(recordText) as EvaluationReport;
    expect(record).toMatchObject({ passed: true, approvals: { breaking: { by: 'writer', where: '#1' } } });
    expect(record.gates.find((gate) => gate.id === 'contract')?.reason).toBe(
      'breaking (input "mask" removed), allowed by @writer in #1',
    );
    expect(gatesOf(head)).toMatchObject({ conclusion: 'success', external_id: proposalDigest(recordText) });
    expect(world.model.pulls[0]?.body).toContain(
      '> **Breaking change, allowed by @writer in #1.** Clients of 1.0.0 must change before they reach 2.0.0: input "mask" removed.',
    );
    expect(await say('/edgeship allow-breaking', 'writer')).toBe(
      'The breaking change of release(pump-forecaster): 2.0.0 was already allowed by @writer in #1.',
    );

    const mergeSha = github.merge(MODEL_REPO, 1);
    await world.app.receive('pull_request.closed', world.merged(1, mergeSha));
    await world.app.settle();
    expect(github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')).toMatch(/^version: 2\.0\.0$/m);
    github.done();
  });

  it('takes the edgeship:allow-breaking label as the same approval, from a labeller with write access only', async () => {
    const { github, world } = await breakingWorld(await tempDir());
    world.model.roles.set('triager', 'triage');
    const runId = await world.finishRun();
    await world.app.receive('workflow_run.completed', world.runCompleted(runId, world.sha, 'success', MODEL_REPO));
    await world.app.settle();
    const branch = world.model.pulls[0]!.head.ref;
    const label = async (user: string) => {
      const payload = example('pull_request.labeled', MODEL_REPO);
      Object.assign(payload, {
        label: { ...payload.label, name: 'edgeship:allow-breaking' },
        sender: { ...payload.sender, login: user, type: 'User' },
      });
      Object.assign(payload.pull_request, {
        number: 1,
        head: {
          ...payload.pull_request.head,
          ref: branch,
          repo: { ...payload.pull_request.head.repo, full_name: MODEL_REPO },
        },
      });
      await world.app.receive('pull_request.labeled', payload);
      await world.app.settle();
      return world.model.comments.get(1)?.at(-1)?.body ?? '';
    };
    const before = world.model.branches.get(branch);
    // Labelling needs only triage on GitHub: that is not enough to ship a breaking change.
    expect(await label('triager')).toContain(
      '@triager the `edgeship:allow-breaking` label allows a breaking change only from someone with write, maintain or admin permission (yours: triage)',
    );
    expect(world.model.branches.get(branch)).toBe(before);
    expect(await label('writer')).toMatch(
      /^@writer allowed the breaking change of release\(pump-forecaster\): 2\.0\.0 for this release/,
    );
    expect(JSON.parse(github.file(MODEL_REPO, branch, '.edgeship/release.json')!)).toMatchObject({
      passed: true,
      approvals: { breaking: { by: 'writer', where: '#1' } },
    });
    github.done();
  });
});
