import { ADAPTIVE_DEFAULTS } from '../core/adaptive-routing.ts';
import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, UsageError } from '../core/errors.ts';
import { DNS_LABEL, PINNED_REFERENCE, SEMVER } from '../core/formats.ts';
import { parseJson } from '../core/parse-json.ts';
import { parseTrustedIdentity, type SigningTrust } from '../core/signing-trust.ts';
import { trustMaterial } from '../adapters/signing/sigstore-trust.ts';
import type { Logger } from '../ports.ts';
import { appSink, DriftMonitor, githubDispatchSink, post, webhookSink, type DriftSink } from './drift.ts';
import { SiteAnalyzer } from './site-analysis.ts';
import type { JointSettings } from './joint.ts';
import { parseSiteAnalysis } from '../core/analysis.ts';
import type { RouterOptions } from './adaptive.ts';
import type { EdgexMapping } from './edgex.ts';
import type { LoadedModel } from './model.ts';
import type { ServingMetrics } from './metrics.ts';
import { registryOf } from './model.ts';

/** `edgeship serve` flags; the GitOps templates set most of them through EDGESHIP_* variables. */
export interface ServeFlags {
  model?: string;
  jointThreshold?: string;
  confidenceOutput?: string;
  trustedKey?: string[];
  trustedIdentity?: string[];
  trustedRoot?: string;
  name?: string;
  modelVersion?: string;
  host: string;
  port: string;
  healthPort?: string;
  grpcPort?: string;
  threads?: string;
  maxBatchRows?: string;
  inlineMaxMs: string;
  offload?: boolean;
  offloadUrl?: string;
  retained?: string;
  offloadTimeoutMs: string;
  adaptive?: boolean;
  latencyBudgetMs?: string;
  maxLocalCpu?: string;
  probeShare: string;
  dwellSeconds: string;
  maxBodyMb: string;
  drainMs: string;
  shutdownDelaySeconds?: string;
  graceSeconds: string;
  edgexInput?: string;
  edgexFeatures?: string;
  edgexLayout?: string;
  edgexValue?: string;
  site?: string;
  driftRepo?: string;
  driftWebhook?: string;
  driftThreshold: string;
  driftWindows: string;
  driftWindow: string;
  driftCooldownMinutes: string;
}

/** A number flag, or an error naming the flag, what it expects and what it got. */
export function numberFlag(flag: string, text: string, rule: (value: number) => boolean, expected: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || !rule(value)) throw new UsageError(`--${flag}: expected ${expected}, found "${text}"`);
  return value;
}

/** The offload target: `--offload-url`, or `--offload` with EDGESHIP_OFFLOAD_URL. */
export function offloadOf(flags: ServeFlags, env: NodeJS.ProcessEnv): { url: string; timeoutMs: number } | undefined {
  const url = flags.offloadUrl ?? (flags.offload ? env.EDGESHIP_OFFLOAD_URL : undefined);
  if (flags.offload && !url)
    throw new UsageError('--offload: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none');
  if (!url) return undefined;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--offload-url: expected an http(s) URL, found "${url}"`);
  return {
    url,
    timeoutMs: numberFlag(
      'offload-timeout-ms',
      flags.offloadTimeoutMs,
      (value) => value > 0,
      'a positive number of milliseconds',
    ),
  };
}

/**
 * A joint site (`--joint-threshold` or EDGESHIP_JOINT_THRESHOLD): the local model answers, and a
 * request whose confidence (`--confidence-output`, or the top-class probability) is under the
 * threshold goes to the offload endpoint, which must be set, as must a local model.
 */
export function jointOf(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  hasModel: boolean,
  hasOffload: boolean,
): JointSettings | undefined {
  const text = flags.jointThreshold ?? (env.EDGESHIP_JOINT_THRESHOLD || undefined);
  if (text === undefined) return undefined;
  const threshold = numberFlag(
    'joint-threshold',
    text,
    (value) => value >= 0 && value <= 1,
    'a confidence from 0 to 1',
  );
  if (flags.adaptive)
    throw new UsageError(
      '--joint-threshold: a site is joint (by confidence) or adaptive (by load), not both: drop --adaptive',
    );
  if (!hasOffload)
    throw new UsageError(
      '--joint-threshold: a joint site sends low-confidence requests to the cloud: set --offload-url or EDGESHIP_OFFLOAD_URL',
    );
  if (!hasModel)
    throw new UsageError(
      '--joint-threshold: a joint site answers with its own model first: name one (--model or EDGESHIP_MODEL)',
    );
  const confidenceOutput = flags.confidenceOutput ?? (env.EDGESHIP_CONFIDENCE_OUTPUT || undefined);
  return { threshold, ...(confidenceOutput && { confidenceOutput }) };
}

/**
 * Adaptive offloading (`--adaptive`): the local model and the offload endpoint, chosen per
 * request within the target's latency budget (`--latency-budget-ms` or EDGESHIP_LATENCY_BUDGET_MS)
 * and the CPU ceiling (`--max-local-cpu` or EDGESHIP_MAX_LOCAL_CPU).
 */
export function adaptiveOf(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  hasModel: boolean,
  hasOffload: boolean,
): RouterOptions | undefined {
  if (!flags.adaptive) return undefined;
  if (!hasModel)
    throw new UsageError(
      '--adaptive: expected a local model (--model or EDGESHIP_MODEL) to run when the cloud is not the better path, found none',
    );
  if (!hasOffload)
    throw new UsageError(
      '--adaptive: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none',
    );
  const budget = flags.latencyBudgetMs ?? env.EDGESHIP_LATENCY_BUDGET_MS;
  if (budget === undefined)
    throw new UsageError(
      "--adaptive: expected the target's latency budget in --latency-budget-ms or EDGESHIP_LATENCY_BUDGET_MS, found none",
    );
  return {
    ...ADAPTIVE_DEFAULTS,
    budgetMs: numberFlag('latency-budget-ms', budget, (value) => value > 0, 'a positive number of milliseconds'),
    maxLocalCpu: numberFlag(
      'max-local-cpu',
      flags.maxLocalCpu ?? env.EDGESHIP_MAX_LOCAL_CPU ?? String(ADAPTIVE_DEFAULTS.maxLocalCpu),
      (value) => value > 0 && value <= 1,
      "a share of the gateway's CPU above 0 and at most 1",
    ),
    probeShare: numberFlag(
      'probe-share',
      flags.probeShare,
      (value) => value >= 0 && value <= 0.5,
      'a share of requests from 0 to 0.5',
    ),
    dwellMs: numberFlag('dwell-seconds', flags.dwellSeconds, (value) => value >= 0, 'seconds') * 1000,
    windowMs: 10_000,
    failHoldMs: 5_000,
  };
}

/**
 * The model a self-contained serving image carries (`publish` with `artifacts.image`): model.onnx
 * and edgeship.json (model name and version) in `directory`, or undefined when there is none.
 */
export async function imageModelOf(
  directory: string,
): Promise<{ file: string; name: string; version: string } | undefined> {
  const file = join(directory, 'model.onnx');
  if (!existsSync(file)) return undefined;
  const about = join(directory, 'edgeship.json');
  const parsed = (parseJson(
    await readFile(about, 'utf8'),
    (issues) => new UsageError(`${about}: ${issues.join('; ')}`),
    '{"model": <name>, "version": <semver>}',
  ) ?? {}) as { model?: unknown; version?: unknown };
  if (
    typeof parsed.model !== 'string' ||
    !DNS_LABEL.test(parsed.model) ||
    typeof parsed.version !== 'string' ||
    !SEMVER.test(parsed.version)
  ) {
    throw new UsageError(
      `${about}: expected {"model": <name>, "version": <semver>}, found ${JSON.stringify(parsed).slice(0, 200)}`,
    );
  }
  return { file, name: parsed.model, version: parsed.version };
}

/**
 * Who models must be signed by: `--trusted-key` / EDGESHIP_TRUSTED_KEYS (public key files, PEM),
 * `--trusted-identity` / EDGESHIP_TRUSTED_IDENTITIES (keyless signers, `<issuer>=<subject>`), and
 * `--trusted-root` / EDGESHIP_SIGSTORE_TRUSTED_ROOT for keyless bundles (read and checked now);
 * undefined when no signer is named (models load unsigned).
 */
export async function signingTrustOf(
  given: {
    keyFiles?: readonly string[] | undefined;
    identities?: readonly string[] | undefined;
    trustedRoot?: string | undefined;
  },
  /** The flag the identities came with, as errors name it (`edgeship verify` calls it --identity). */
  identityFlag = '--trusted-identity',
): Promise<SigningTrust | undefined> {
  const keys = await trustedKeysOf(given.keyFiles);
  const identities = (given.identities ?? []).map((text) =>
    parseTrustedIdentity(text, (why) => new UsageError(`${identityFlag}: ${why}`)),
  );
  if (keys.length === 0 && identities.length === 0) {
    if (given.trustedRoot) throw new UsageError(`--trusted-root: given without ${identityFlag}, it would trust nobody`);
    return undefined;
  }
  // A broken root fails the start, not the first load.
  if (identities.length > 0) trustMaterial(given.trustedRoot);
  return { keys, identities, ...(given.trustedRoot && { trustedRoot: given.trustedRoot }) };
}

/** Each file's public key (PEM). */
async function trustedKeysOf(files: readonly string[] | undefined): Promise<string[]> {
  if (!files || files.length === 0) return [];
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(file, 'utf8').catch((error: Error) => {
        throw new UsageError(`--trusted-key: cannot read ${file} (${error.message})`);
      });
      try {
        createPublicKey(text);
      } catch (error) {
        throw new UsageError(`--trusted-key: expected a public key in PEM in ${file}, found ${messageOf(error)}`);
      }
      return text;
    }),
  );
}

/** `--retained` / EDGESHIP_RETAINED_MODELS: `version=reference` pairs, each reference pinned by digest. */
export function retainedOf(text: string | undefined): { version: string; reference: string }[] {
  if (!text?.trim()) return [];
  return text.split(',').map((pair) => {
    const [version = '', reference = ''] = pair.trim().split(/=(.*)/s);
    if (!SEMVER.test(version) || !PINNED_REFERENCE.test(reference))
      throw new UsageError(
        `--retained (EDGESHIP_RETAINED_MODELS): expected version=reference pinned by digest, found "${pair.trim()}"`,
      );
    return { version, reference };
  });
}

/** The EdgeX mapping: flags, or the features of the model's reference statistics. */
export function edgexOf(flags: ServeFlags, model: LoadedModel | undefined): EdgexMapping | undefined {
  const layout = flags.edgexLayout;
  if (layout !== undefined && layout !== 'steps-features' && layout !== 'features-steps')
    throw new UsageError(`--edgex-layout: expected steps-features or features-steps, found "${layout}"`);
  const features = flags.edgexFeatures
    ?.split(',')
    .map((feature) => feature.trim())
    .filter(Boolean);
  const values = edgexValuesOf(flags.edgexValue);
  const extra: Pick<EdgexMapping, 'layout' | 'values'> = { ...(layout && { layout }), ...(values && { values }) };
  const reference = model?.reference?.features;
  if (features && features.length > 0)
    return {
      input: flags.edgexInput ?? reference?.[0]?.input ?? model?.worker.contract.inputs[0]?.name ?? '',
      features,
      ...extra,
    };
  if (!reference) return undefined;
  const input = flags.edgexInput ?? reference[0]?.input ?? '';
  return {
    input,
    features: reference
      .filter((feature) => feature.input === input)
      .sort((a, b) => a.index - b.index)
      .map((feature) => feature.name),
    ...extra,
  };
}

/** `--edgex-value input=number|resource,...`: how the model's other inputs are filled. */
function edgexValuesOf(flag: string | undefined): Record<string, number | string> | undefined {
  if (flag === undefined) return undefined;
  const entries = flag.split(',').map((pair) => {
    const match = /^\s*([A-Za-z_][\w.:/-]{0,127})\s*=\s*(\S{1,128})\s*$/.exec(pair);
    if (!match) throw new UsageError(`--edgex-value: expected input=number or input=resource, found "${pair.trim()}"`);
    const [, input = '', value = ''] = match;
    const number = Number(value);
    return [input, value !== '' && Number.isFinite(number) ? number : value] as const;
  });
  return Object.fromEntries(entries);
}

/**
 * The site's own analysis of the release it serves (EDGESHIP_ANALYSIS, written by the release
 * when the config has rollout.analysis), sent to the app with the drift evidence's repo, URL and
 * site token; none without EDGESHIP_ANALYSIS. One it cannot read or send is a warning, not a
 * refusal to serve: the site keeps answering, and the app fails the wave of a silent site.
 */
export function analyzerFor(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  log: Logger,
  served: { model: string; version: () => string; driftPsi?: () => number | undefined },
  /** The clock intervals are numbered by (Date.now by default). */
  now?: () => number,
): SiteAnalyzer | undefined {
  if (!env.EDGESHIP_ANALYSIS) return undefined;
  let settings;
  try {
    settings = parseSiteAnalysis(
      env.EDGESHIP_ANALYSIS,
      (why) => new UsageError(`EDGESHIP_ANALYSIS: ${why}, found "${env.EDGESHIP_ANALYSIS}"`),
    );
  } catch (error) {
    log.warn({ error: messageOf(error) }, 'This site does not judge the release it serves');
    return undefined;
  }
  const { EDGESHIP_DRIFT_URL: url, EDGESHIP_DRIFT_TOKEN: token } = env;
  const repo = flags.driftRepo;
  if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo) || !url || !/^https?:\/\//.test(url) || !token) {
    log.warn(
      {
        error:
          'EDGESHIP_ANALYSIS: a site reports its analysis to the app: expected EDGESHIP_DRIFT_REPO (owner/name), EDGESHIP_DRIFT_URL (the app) and EDGESHIP_DRIFT_TOKEN (edgeship site-token)',
      },
      'This site does not judge the release it serves; the app will take it for silent',
    );
    return undefined;
  }
  const endpoint = `${url.replace(/\/+$/, '')}/api/edgeship/verdicts`;
  return new SiteAnalyzer({
    ...settings,
    model: served.model,
    site: flags.site ?? env.EDGESHIP_SITE ?? 'unknown-site',
    version: served.version,
    ...(served.driftPsi && { driftPsi: served.driftPsi }),
    send: (verdict) =>
      post(
        endpoint,
        { repo, ...verdict },
        { authorization: `Bearer ${token}` },
        `analysis verdict to ${new URL(url).origin}`,
      ),
    log,
    ...(now && { now }),
  });
}

/** Drift monitoring for a model with reference statistics, sending evidence where the flags say. */
export function driftFor(
  flags: ServeFlags,
  env: NodeJS.ProcessEnv,
  log: Logger,
): (model: LoadedModel, metrics: ServingMetrics) => DriftMonitor | undefined {
  let sink: DriftSink | undefined;
  if (flags.driftRepo && env.EDGESHIP_DRIFT_URL) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(flags.driftRepo))
      throw new UsageError(`--drift-repo: expected owner/name of the model repo, found "${flags.driftRepo}"`);
    if (!/^https?:\/\//.test(env.EDGESHIP_DRIFT_URL))
      throw new UsageError(`EDGESHIP_DRIFT_URL: expected the app's http(s) URL, found "${env.EDGESHIP_DRIFT_URL}"`);
    if (!env.EDGESHIP_DRIFT_TOKEN)
      throw new UsageError(
        'EDGESHIP_DRIFT_URL: expected the site token in EDGESHIP_DRIFT_TOKEN (edgeship site-token), found none',
      );
    sink = appSink(env.EDGESHIP_DRIFT_URL, flags.driftRepo, env.EDGESHIP_DRIFT_TOKEN);
  } else if (flags.driftRepo) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(flags.driftRepo))
      throw new UsageError(`--drift-repo: expected owner/name of the model repo, found "${flags.driftRepo}"`);
    const token = env.EDGESHIP_GITHUB_TOKEN ?? env.GITHUB_TOKEN;
    if (!token)
      throw new UsageError(
        '--drift-repo: expected a token in EDGESHIP_GITHUB_TOKEN or GITHUB_TOKEN to send repository_dispatch, found none',
      );
    sink = githubDispatchSink(flags.driftRepo, token, env.GITHUB_API_URL ?? 'https://api.github.com');
  } else if (flags.driftWebhook) {
    if (!/^https?:\/\//.test(flags.driftWebhook))
      throw new UsageError(`--drift-webhook: expected an http(s) URL, found "${flags.driftWebhook}"`);
    sink = webhookSink(flags.driftWebhook);
  }
  const rule = {
    threshold: numberFlag('drift-threshold', flags.driftThreshold, (value) => value > 0, 'a PSI above 0'),
    windows: numberFlag(
      'drift-windows',
      flags.driftWindows,
      (value) => Number.isInteger(value) && value > 0,
      'a whole number of windows',
    ),
  };
  const window = numberFlag(
    'drift-window',
    flags.driftWindow,
    (value) => Number.isInteger(value) && value > 0,
    'a whole number of values',
  );
  const cooldownMs =
    numberFlag('drift-cooldown-minutes', flags.driftCooldownMinutes, (value) => value >= 0, 'minutes') * 60_000;
  const site = flags.site ?? env.EDGESHIP_SITE ?? 'unknown-site';
  return (model, metrics) =>
    model.reference
      ? new DriftMonitor({
          model: model.name,
          version: model.version,
          site,
          reference: model.reference,
          window,
          rule,
          cooldownMs,
          ...(sink && { sink }),
          metrics,
          log,
        })
      : undefined;
}

/**
 * The registries `edgeship serve` sends EDGESHIP_REGISTRY_USERNAME/PASSWORD to: those of the
 * models it starts with (its own environment names them) and EDGESHIP_REGISTRY_HOSTS
 * (comma-separated hosts), never one that a load through the admin API names.
 */
export function credentialHostsOf(startedWith: readonly (string | undefined)[], env: NodeJS.ProcessEnv): string[] {
  const named = (env.EDGESHIP_REGISTRY_HOSTS ?? '').split(',').map((host) => host.trim());
  return [
    ...new Set(
      [...startedWith.map((reference) => (reference ? registryOf(reference) : undefined)), ...named].filter(
        (host): host is string => Boolean(host),
      ),
    ),
  ];
}
