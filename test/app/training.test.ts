import { writeFile } from 'node:fs/promises';
import { parseAppSettings } from '../../src/compose/app-settings.ts';
import { join } from 'node:path';
import { Probot } from 'probot';
import { describe, expect, it } from 'vitest';
import { KubeflowPipelines } from '../../src/adapters/kubeflow/pipelines.ts';
import { edgeshipApp } from '../../src/app/index.ts';
import { trainingCallback, trainingFrom } from '../../src/app/training-clusters.ts';
import { operatorPolicySchema } from '../../src/core/policy.ts';
import { callbackToken, jobName } from '../../src/core/training-run.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { testConfig, WAIT } from '../helpers/fixtures.ts';
import { startJobsApi } from '../helpers/k8s-jobs-server.ts';
import { postWithToken, serveHandler } from '../helpers/handler-server.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { privateKey } from '../helpers/webhooks.ts';

const KUBERNETES =
  '{ command: "true", backend: kubernetes, kubernetes: { namespace: ml, image: "ghcr.io/acme/train:1" } }';
const KUBEFLOW =
  '{ command: "true", backend: kubeflow, kubeflow: { endpoint: "http://kfp.example:8888", pipelineId: p } }';
const withTrain = (train: string) =>
  parseConfig(
    `model: demo
train: ${train}
metrics: { primary: f1, direction: maximize }
targets: [{ name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 20 }]
gitops: { repo: acme/gitops }
artifacts: { repository: ghcr.io/acme/models }
`,
    'edgeship.yml',
  );

describe('training clusters from the environment', () => {
  const tempDir = useTempDirs();

  it("has no Kubernetes access without settings, and reaches Kubeflow at the config's endpoint", () => {
    const trainingFor = trainingFrom(
      parseAppSettings({}).training,
      undefined,
      operatorPolicySchema.parse({ kubeflow: { endpoints: ['http://kfp.example:8888'] } }),
    );
    expect(trainingFor(withTrain(KUBERNETES))).toBeUndefined();
    expect(trainingFor(withTrain(KUBEFLOW))).toBeInstanceOf(KubeflowPipelines);
    // Without the endpoint in the operator policy, KFP_TOKEN goes nowhere.
    expect(() => trainingFrom(parseAppSettings({}).training)(withTrain(KUBEFLOW))).toThrow(
      /train\.kubeflow\.endpoint: "http:\/\/kfp\.example:8888" is not allowed by the operator policy; the operator can add it to kubeflow\.endpoints/,
    );
    expect(trainingFor(testConfig())).toBeUndefined();
  });

  it('reuses one backend per Job spec and watches each namespace once', async () => {
    const api = await startJobsApi();
    try {
      const file = join(await tempDir(), 'kubeconfig');
      await writeFile(file, api.kubeconfig.exportConfig());
      const finished: string[] = [];
      const trainingFor = trainingFrom(
        parseAppSettings({ EDGESHIP_TRAINING_KUBECONFIG: file, EDGESHIP_TRAINING_CONTEXT: 'test' }).training,
        (key) => finished.push(key),
        operatorPolicySchema.parse({ training: [{ repos: ['acme/*'], namespaces: ['ml'] }] }),
      );
      const config = withTrain(KUBERNETES);
      const cluster = trainingFor(config);
      expect(trainingFor(config)).toBe(cluster);
      await expect.poll(() => api.watching(), WAIT).toBe(1);
      const run = {
        key: 'demo-aaaaaaaaaaaa-01234567',
        model: 'demo',
        repo: 'acme/demo',
        sha: 'a'.repeat(40),
        branch: 'main',
        reason: 'push',
        repoUrl: 'https://github.com/acme/demo.git',
      };
      await cluster?.start(run);
      api.complete('ml', jobName(run.key));
      await expect.poll(() => finished, WAIT).toEqual([run.key]);
    } finally {
      await api.stop();
    }
  });

  it('names the setting that is wrong', () => {
    expect(() =>
      trainingFrom(parseAppSettings({ EDGESHIP_TRAINING_KUBECONFIG: '/nonexistent/kubeconfig' }).training),
    ).toThrow(/^EDGESHIP_TRAINING_KUBECONFIG=\/nonexistent\/kubeconfig: expected a readable kubeconfig/);
  });
});

describe('the training callback', () => {
  it("nudges the training tick for a run's own token, and only then", async () => {
    let nudges = 0;
    const server = await serveHandler(trainingCallback('s3cret', async () => (nudges += 1)));
    const url = `${server.url}/api/edgeship/training`;
    const post = (body: string, token?: string) => postWithToken(url, body, token);
    try {
      const key = 'pump-aaaaaaaaaaaa-01234567';
      expect((await post(JSON.stringify({ runKey: key }), callbackToken('s3cret', 'another-run'))).status).toBe(401);
      expect((await post(JSON.stringify({ runKey: key }))).status).toBe(401);
      expect(await (await post('not json', callbackToken('s3cret', key))).json()).toEqual({
        error: 'expected a JSON body {"runKey": "<EDGESHIP_RUN_KEY>"}',
      });
      expect((await fetch(url)).status).toBe(405);
      expect(nudges).toBe(0);
      const accepted = await post(JSON.stringify({ runKey: key }), callbackToken('s3cret', key));
      expect({ status: accepted.status, body: await accepted.json() }).toEqual({ status: 202, body: { nudged: true } });
      expect(nudges).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('gets from the app the same look the training tick takes', async () => {
    let nudge: (() => Promise<number>) | undefined;
    await new Probot({ appId: 1, privateKey, logLevel: 'fatal' }).load(
      edgeshipApp({
        resyncEveryMs: 0,
        rolloutEveryMs: 0,
        trainingEveryMs: 0,
        redeliverEveryMs: 0,
        onTrainingNudge: (given) => (nudge = given),
      }),
    );
    expect(await nudge?.()).toBe(0); // no run followed: nothing to look at
  });
});
