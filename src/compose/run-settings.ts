import { z } from 'zod';
import { settingsDoc } from './settings-doc.ts';

const text = z.string().optional();

/**
 * Every variable the CLI, the Actions steps and `edgeship serve` read, in one schema: read by
 * runEnvironment, handed to them as one value; docs/run-settings.md is generated from it
 * (`npm run schema`). Values stay text: each command checks its own, and names the variable (and
 * the flag that overrides it) when one is wrong. The app has its own (compose/app-settings.ts).
 */
export const runEnvironmentSchema = z.object({
  EDGESHIP_GITOPS: text.describe(
    "release, apply, rollout, status…: the GitOps repo (a path or git URL) instead of the config's gitops.repo (--gitops).",
  ),
  EDGESHIP_ARTIFACTS: text.describe(
    "release, publish…: where artifacts go (an OCI registry repository or a local layout) instead of the config's artifacts.repository (--artifacts).",
  ),
  EDGESHIP_REGISTRY_USERNAME: text.describe(
    'User for the OCI registries the CLI, the steps and serve push to and pull from (default edgeship).',
  ),
  EDGESHIP_REGISTRY_PASSWORD: text.describe('Password or token for those registries.'),
  EDGESHIP_REGISTRY_HOSTS: text.describe(
    'serve: more registry hosts (comma-separated) the credentials may be sent to, beside the one the model comes from.',
  ),
  EDGESHIP_SIGNING_KEY: text.describe(
    'publish, release, cloud-run: a private key (PEM file) that signs every artifact published (OpenSSF model signing v1.0), attached to the artifact and its images as an OCI referrer.',
  ),
  EDGESHIP_KEYLESS_SIGNING: text.describe(
    'publish, release, cloud-run: true signs keyless instead (OpenSSF model signing v1.0 through Fulcio and Rekor), with the OIDC identity of the GitHub Actions run (permissions: id-token: write).',
  ),
  EDGESHIP_FULCIO_URL: text.describe(
    'Keyless signing: the Fulcio instance that certifies the signing key (default https://fulcio.sigstore.dev).',
  ),
  EDGESHIP_REKOR_URL: text.describe(
    'Keyless signing: the Rekor instance that logs the signature (default https://rekor.sigstore.dev).',
  ),
  EDGESHIP_MODEL_ARTIFACT: text.describe(
    "serve, a model in the pod's filesystem (EDGESHIP_MODEL_DIR: a modelcar or serving image): the artifact it was published as, pinned by digest; with trusted signers, its files are verified against the signatures attached to that artifact (the release writes it).",
  ),
  EDGESHIP_TRUSTED_KEYS: text.describe(
    'serve: public keys (PEM files, comma-separated) a model must be signed by to load (--trusted-key); unset, models load unsigned.',
  ),
  EDGESHIP_TRUSTED_IDENTITIES: text.describe(
    'serve: keyless signers (comma-separated `<OIDC issuer>=<subject>`) a model may be signed by to load (--trusted-identity).',
  ),
  EDGESHIP_SIGSTORE_TRUSTED_ROOT: text.describe(
    "serve, verify: the Sigstore trusted_root.json keyless signatures are checked against (--trusted-root); unset, the public-good instance's that @sigstore/tuf ships.",
  ),
  EDGESHIP_CLUSTERS_KUBECONFIG: text.describe(
    'release: kubeconfig with the contexts targets name (targets[].context), to place on their live capacity (--kubeconfig).',
  ),
  EDGESHIP_GIT_TOKEN: text.describe('cloud-run: token to clone the model repo with.'),
  EDGESHIP_REPO_URL: text.describe('cloud-run: the model repo to clone (--repo-url).'),
  EDGESHIP_SHA: text.describe('cloud-run: the commit to train (--sha).'),
  EDGESHIP_RUN_KEY: text.describe('cloud-run: the run key the app gave the run (--run-key).'),
  EDGESHIP_BRANCH: text.describe('cloud-run: the branch of the commit (--branch; default main).'),
  EDGESHIP_REASON: text.describe('cloud-run: push, retrain or drift (--reason; default push).'),
  EDGESHIP_CONTEXT: text.describe('cloud-run: the drift evidence or retrain request (--context).'),
  EDGESHIP_CALLBACK_URL: text.describe('cloud-run: where to tell the app the run ended (--callback-url).'),
  EDGESHIP_CALLBACK_TOKEN: text.describe("cloud-run: the run's callback token (--callback-token)."),
  EDGESHIP_HOST: text.describe('serve: the address to listen on (--host; default 0.0.0.0).'),
  PORT: text.describe('serve: the port to listen on (--port; default 8080).'),
  EDGESHIP_MODEL: text.describe('serve: the model, an OCI reference or a model.onnx path (--model).'),
  EDGESHIP_MODEL_DIR: text.describe(
    'serve: where a serving image carries its model, used when none is named (default /models).',
  ),
  EDGESHIP_MODEL_VERSION: text.describe('serve: the version the model is served as (--model-version).'),
  EDGESHIP_MAX_BATCH_ROWS: text.describe(
    'serve: most rows a dynamic batch merges (--max-batch-rows; default 256, 0: no batching).',
  ),
  EDGESHIP_RETAINED_MODELS: text.describe(
    'serve: older versions served beside the model, `version=reference` comma-separated (--retained).',
  ),
  EDGESHIP_OFFLOAD_URL: text.describe('serve --offload: the cloud endpoint requests are forwarded to.'),
  EDGESHIP_LATENCY_BUDGET_MS: text.describe(
    'serve --adaptive: the latency budget the router keeps (--latency-budget-ms).',
  ),
  EDGESHIP_MAX_LOCAL_CPU: text.describe(
    "serve --adaptive: the share of the gateway's CPU above which requests go to the cloud (--max-local-cpu).",
  ),
  EDGESHIP_SITE: text.describe('serve: the site name drift evidence carries (--site).'),
  EDGESHIP_DRIFT_URL: text.describe("serve: the app's URL drift evidence is posted to (with --drift-repo)."),
  EDGESHIP_DRIFT_TOKEN: text.describe('serve: the site token for EDGESHIP_DRIFT_URL (edgeship site-token).'),
  EDGESHIP_JOINT_THRESHOLD: text.describe(
    'serve: a joint site: requests whose confidence is under this go to EDGESHIP_OFFLOAD_URL (--joint-threshold).',
  ),
  EDGESHIP_CONFIDENCE_OUTPUT: text.describe(
    "serve: the output holding each row's confidence on a joint site (--confidence-output); else the top-class probability.",
  ),
  EDGESHIP_ANALYSIS: text.describe(
    "serve: the release's site-side analysis (rollout.analysis), written into the site's overlay: judged every interval and sent to EDGESHIP_DRIFT_URL.",
  ),
  EDGESHIP_DRIFT_REPO: text.describe('serve: the model repo drift evidence is for (--drift-repo).'),
  EDGESHIP_DRIFT_WEBHOOK: text.describe('serve: a webhook drift evidence is sent to instead (--drift-webhook).'),
  EDGESHIP_GITHUB_TOKEN: text.describe(
    'serve: token to send drift evidence to the model repo as repository_dispatch (else GITHUB_TOKEN).',
  ),
  GITHUB_TOKEN: text.describe('serve: the token used when EDGESHIP_GITHUB_TOKEN is unset.'),
  GITHUB_API_URL: text.describe(
    "serve: GitHub's API (default https://api.github.com; set by Actions on GitHub Enterprise Server).",
  ),
  EDGESHIP_ADMIN_TOKEN: text.describe('serve: bearer token of the model repository extension (load, unload).'),
  EDGESHIP_HEALTH_PORT: text.describe('serve: the port of the liveness and readiness probes.'),
  EDGESHIP_GRPC_PORT: text.describe('serve: the port of the OIP gRPC endpoint.'),
  EDGESHIP_DRIFT_SECRET: text.describe("site-token: the app's secret site tokens are made with."),
  RUNNER_TEMP: text.describe("Actions steps: the runner's temporary directory (set by the runner)."),
  GITHUB_REPOSITORY_OWNER: text.describe(
    'publish step: the repository owner, for the default artifacts repository (set by the runner).',
  ),
  PYTHON: text.describe(
    'demo: the Python with torch and onnx that trains the example model (tried first, before python3 on PATH and /usr/bin/python3).',
  ),
});

export type RunEnvironment = z.infer<typeof runEnvironmentSchema>;

/** The variables of runEnvironmentSchema from the process environment, as it is now. */
export function runEnvironment(): RunEnvironment {
  return runEnvironmentSchema.parse(
    Object.fromEntries(
      Object.keys(runEnvironmentSchema.shape).flatMap((name) =>
        process.env[name] === undefined ? [] : [[name, process.env[name]]],
      ),
    ),
  );
}

/**
 * The whole environment, for the processes the CLI and the steps start (a training command, git,
 * Python): they get what the user's shell gave, PATH and their own variables included.
 */
export const childEnvironment = (): NodeJS.ProcessEnv => process.env;

/** docs/run-settings.md: every variable of the CLI, the Actions steps and serve, from the schema (npm run schema writes it). */
export function runSettingsDoc(): string {
  return settingsDoc(
    'Environment of the edgeship CLI, Actions steps and `edgeship serve`',
    "Generated from `src/compose/run-settings.ts` by `npm run schema`. A flag, where a command has one, wins over its variable. The GitHub App's settings are in [app-settings.md](app-settings.md).",
    runEnvironmentSchema,
  );
}
