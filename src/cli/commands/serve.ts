import type { Command } from 'commander';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import type { LoadedModel } from '../../serve/model.ts';
import type { ServeFlags } from '../../serve/options.ts';
import { runEnvironment } from '../../compose/run-settings.ts';

/** JSON lines on stderr: what a container's log collector reads. */
const log = {
  debug: () => undefined,
  info: (fields: object, message: string) =>
    process.stderr.write(`${JSON.stringify({ level: 'info', message, ...fields })}\n`),
  warn: (fields: object, message: string) =>
    process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
  error: (fields: object, message: string) =>
    process.stderr.write(
      `${JSON.stringify({ level: 'error', message, ...fields, ...('err' in fields && { err: String(fields.err) }) })}\n`,
    ),
};

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve a model over the Open Inference Protocol v2 (KServe v2 REST), at the edge or in the cloud')
    .option(
      '--model <reference|file>',
      'OCI reference pinned by digest, or a model.onnx path (default: EDGESHIP_MODEL, else the model a self-contained image carries at /models)',
    )
    .option('--name <name>', "model name clients use (default: the artifact's model)")
    .option('--model-version <version>', "version to report (default: the artifact's, or EDGESHIP_MODEL_VERSION)")
    .option('--host <address>', 'address to listen on', runEnvironment().EDGESHIP_HOST ?? '0.0.0.0')
    .option('--port <port>', 'port to listen on', runEnvironment().PORT ?? '8080')
    .option(
      '--grpc-port <port>',
      "also speak the Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this port; KServe's is 8081 (default: EDGESHIP_GRPC_PORT)",
    )
    .option(
      '--health-port <port>',
      'also answer /v2/health/live, /v2/health/ready and /metrics on this port, where probes never wait behind inference clients (default: EDGESHIP_HEALTH_PORT)',
    )
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option(
      '--max-batch-rows <rows>',
      "rows a dynamic batch of queued requests may hold; 0 runs each request on its own (default: EDGESHIP_MAX_BATCH_ROWS, which the config's serving.batching: false sets to 0, else 256)",
    )
    .option(
      '--inline-max-ms <ms>',
      'a model up to 16 MiB also loads on the main thread and runs there the batch sizes that ran in under this long; 0 loads it once, on the inference thread only',
      '0.1',
    )
    .option(
      '--retained <version=reference,...>',
      'other versions to serve by version route, for offloading sites released with them (default: EDGESHIP_RETAINED_MODELS)',
    )
    .option('--offload', 'forward infer requests to EDGESHIP_OFFLOAD_URL; the local model is the fallback')
    .option('--offload-url <url>', 'cloud endpoint to forward infer requests to')
    .option('--offload-timeout-ms <ms>', 'how long to wait for the cloud', '2000')
    .option(
      '--joint-threshold <confidence>',
      'a joint site: the local model answers, and requests whose confidence is under this go to the offload endpoint (default: EDGESHIP_JOINT_THRESHOLD)',
    )
    .option(
      '--confidence-output <name>',
      "the output holding each row's confidence (default: EDGESHIP_CONFIDENCE_OUTPUT, else the top-class probability of the first output)",
    )
    .option(
      '--adaptive',
      'decide per request between the local model and the offload endpoint, within the latency budget',
    )
    .option('--latency-budget-ms <ms>', "adaptive: the target's latency budget (default: EDGESHIP_LATENCY_BUDGET_MS)")
    .option(
      '--max-local-cpu <share>',
      "adaptive: share of the gateway's CPU (all cores = 1) inference may take (default: EDGESHIP_MAX_LOCAL_CPU, else 0.5)",
    )
    .option(
      '--probe-share <share>',
      'adaptive: share of requests also sent to the path not in use, answers discarded, to keep it measured',
      '0.05',
    )
    .option(
      '--dwell-seconds <s>',
      'adaptive: least time on a path before switching again (unless it fails outright)',
      '15',
    )
    .option(
      '--trusted-key <file...>',
      'a public key (PEM) models must be signed by to load, on start and on every load (default: EDGESHIP_TRUSTED_KEYS, comma-separated; none: models load unsigned)',
    )
    .option(
      '--trusted-identity <issuer=subject...>',
      'a keyless signer models may be signed by: the OIDC issuer and the subject its Fulcio certificate names (default: EDGESHIP_TRUSTED_IDENTITIES, comma-separated)',
    )
    .option(
      '--trusted-root <file>',
      "the Sigstore trusted_root.json keyless signatures are checked against (default: EDGESHIP_SIGSTORE_TRUSTED_ROOT, or the public-good instance's)",
    )
    .option('--max-body-mb <mb>', 'largest request body', '16')
    .option(
      '--shutdown-delay-seconds <s>',
      'on SIGTERM, how long to keep taking connections while readiness says 503, so the endpoints drop the pod before it stops listening',
      '5',
    )
    .option(
      '--drain-ms <ms>',
      'on SIGTERM, how long keep-alive clients get to send their last request (answered with Connection: close)',
      '3000',
    )
    .option(
      '--grace-seconds <s>',
      "on SIGTERM, exit after this long even with requests in flight (below the pod's terminationGracePeriodSeconds)",
      '25',
    )
    .option('--edgex-input <name>', "model input EdgeX events fill (default: the reference statistics')")
    .option(
      '--edgex-features <names>',
      "comma-separated EdgeX resource names, in the input's feature order (default: the reference statistics')",
    )
    .option(
      '--edgex-value <input=value,...>',
      "the model's other inputs for EdgeX events, one value per request: a number, or the EdgeX resource whose reading fills it",
    )
    .option(
      '--edgex-layout <layout>',
      'where a window input holds time: steps-features ([batch, steps, features]) or features-steps (default: worked out from the shape)',
    )
    .option('--site <name>', 'site named in drift evidence (default: EDGESHIP_SITE)')
    .option(
      '--drift-repo <owner/name>',
      'send drift evidence as repository_dispatch to this model repo (token: EDGESHIP_GITHUB_TOKEN or GITHUB_TOKEN)',
      runEnvironment().EDGESHIP_DRIFT_REPO,
    )
    .option(
      '--drift-webhook <url>',
      'send drift evidence to this webhook instead',
      runEnvironment().EDGESHIP_DRIFT_WEBHOOK,
    )
    .option('--drift-threshold <psi>', 'PSI above which a window counts as drifted', '0.2')
    .option('--drift-windows <n>', 'drifted windows in a row before evidence is sent', '3')
    .option('--drift-window <values>', 'values per feature in a window', '2000')
    .option('--drift-cooldown-minutes <minutes>', 'at most one evidence per this many minutes', '360')
    .action(async (flags: ServeFlags) => {
      // Loaded when the server starts, so other commands start fast.
      const [
        { loadModel },
        {
          adaptiveOf,
          analyzerFor,
          jointOf,
          credentialHostsOf,
          driftFor,
          edgexOf,
          imageModelOf,
          numberFlag,
          offloadOf,
          retainedOf,
          signingTrustOf,
        },
        { InferenceServer },
        { AdaptiveRouter },
        { GatewayPressure },
        { credentialsFromEnv },
      ] = await Promise.all([
        import('../../serve/model.ts'),
        import('../../serve/options.ts'),
        import('../../serve/server.ts'),
        import('../../serve/adaptive.ts'),
        import('../../serve/gateway-pressure.ts'),
        import('../../adapters/oci/index.ts'),
      ]);
      const { servingMetrics } = await import('../../serve/metrics.ts');
      const env = runEnvironment();
      // A self-contained serving image carries its model at /models: used when none is named.
      const inImage =
        flags.model || env.EDGESHIP_MODEL ? undefined : await imageModelOf(env.EDGESHIP_MODEL_DIR ?? '/models');
      const source = flags.model || env.EDGESHIP_MODEL || inImage?.file;
      const offload = offloadOf(flags, env);
      if (!source && !offload)
        throw new EdgeshipError(
          '--model: expected an OCI reference or a model.onnx path (or EDGESHIP_MODEL), found none',
        );
      const threads = flags.threads
        ? numberFlag('threads', flags.threads, (value) => Number.isInteger(value) && value > 0, 'a whole number')
        : undefined;
      const version = flags.modelVersion ?? env.EDGESHIP_MODEL_VERSION ?? inImage?.version;
      const maxBatchRows = numberFlag(
        flags.maxBatchRows === undefined && env.EDGESHIP_MAX_BATCH_ROWS ? 'EDGESHIP_MAX_BATCH_ROWS' : 'max-batch-rows',
        flags.maxBatchRows ?? (env.EDGESHIP_MAX_BATCH_ROWS || '256'),
        (value) => Number.isInteger(value) && value >= 0,
        'a whole number of rows (0: no batching)',
      );
      const inlineMaxMs = numberFlag(
        'inline-max-ms',
        flags.inlineMaxMs,
        (value) => value >= 0 && value <= 10,
        'milliseconds from 0 to 10 (0: never on the main thread)',
      );
      const retainedModels = retainedOf(flags.retained ?? env.EDGESHIP_RETAINED_MODELS);
      // An image's own model is verified against the artifact it was published as (the release writes it).
      const signedAs = inImage ? env.EDGESHIP_MODEL_ARTIFACT : undefined;
      const credentialHosts = credentialHostsOf(
        [source, signedAs, ...retainedModels.map((entry) => entry.reference)],
        env,
      );
      const credentials = credentialsFromEnv(env);
      const list = (text: string | undefined) =>
        text
          ?.split(',')
          .map((entry) => entry.trim())
          .filter(Boolean);
      const trust = await signingTrustOf({
        keyFiles: flags.trustedKey ?? list(env.EDGESHIP_TRUSTED_KEYS),
        identities: flags.trustedIdentity ?? list(env.EDGESHIP_TRUSTED_IDENTITIES),
        trustedRoot: flags.trustedRoot ?? env.EDGESHIP_SIGSTORE_TRUSTED_ROOT,
      });
      const load = (next: { model: string; name?: string }): Promise<LoadedModel> =>
        loadModel({
          ...(trust && { trust }),
          ...next,
          ...(version && next.model === source && { version }),
          ...(signedAs && next.model === source && { signedAs }),
          ...(threads && { threads }),
          maxBatchRows,
          inlineMaxMs,
          credentialHosts,
          ...(credentials && { credentials }),
        });
      const name = flags.name ?? inImage?.name;
      const model = source ? await load({ model: source, ...(name && { name }) }) : undefined;
      const retained = await Promise.all(
        retainedModels.map((entry) =>
          load({ model: entry.reference, name: model?.name ?? flags.name ?? 'model' }).then((loaded) => ({
            ...loaded,
            version: entry.version,
          })),
        ),
      );
      const adaptive = adaptiveOf(flags, env, Boolean(model), Boolean(offload));
      const edgex = edgexOf(flags, model);
      const joint = jointOf(flags, env, Boolean(model), Boolean(offload));
      const metrics = servingMetrics();
      const pressure = new GatewayPressure();
      const router =
        adaptive && model
          ? new AdaptiveRouter(adaptive, {
              now: () => performance.now(),
              pressure: () => pressure.sample(),
              metrics,
              model: model.name,
              log,
            })
          : undefined;
      // The site's analysis of the release it serves asks the server which version that is.
      const served: { server?: { version: string; driftPsi: number | undefined } } = {};
      const analyzer = analyzerFor(flags, env, log, {
        model: model?.name ?? flags.name ?? 'model',
        version: () => served.server?.version ?? version ?? '0',
        driftPsi: () => served.server?.driftPsi,
      });
      const server = new InferenceServer({
        metrics,
        ...(analyzer && { analyzer }),
        ...(router && { adaptive: router }),
        ...(model && { model }),
        ...(flags.name && { name: flags.name }),
        ...(version && { version }),
        ...(retained.length > 0 && { retained }),
        ...(offload && { offload }),
        ...(joint && { joint }),
        ...(edgex && { edgex }),
        maxBodyBytes:
          numberFlag('max-body-mb', flags.maxBodyMb, (value) => value > 0, 'a positive number of MiB') * 2 ** 20,
        drainMs: numberFlag('drain-ms', flags.drainMs, (value) => value >= 0, 'milliseconds'),
        shutdownDelayMs:
          numberFlag('shutdown-delay-seconds', flags.shutdownDelaySeconds ?? '5', (value) => value >= 0, 'seconds') *
          1000,
        log,
        driftFor: driftFor(flags, env, log),
        ...(env.EDGESHIP_ADMIN_TOKEN && { load: { token: env.EDGESHIP_ADMIN_TOKEN, model: load } }),
      });
      served.server = server;
      const isPort = (value: number) => Number.isInteger(value) && value >= 0 && value < 65536;
      // An empty EDGESHIP_HEALTH_PORT is unset, not port 0 (a random port no probe would find).
      const healthFlag = flags.healthPort ?? (env.EDGESHIP_HEALTH_PORT || undefined);
      const wantedHealthPort =
        healthFlag === undefined ? undefined : numberFlag('health-port', healthFlag, isPort, 'a port number');
      const port = await server.listen(numberFlag('port', flags.port, isPort, 'a port number'), flags.host);
      const healthPort =
        wantedHealthPort === undefined
          ? undefined
          : await server.listenHealth(wantedHealthPort, flags.host).catch(async (error: unknown) => {
              await server.close();
              throw new EdgeshipError(
                `--health-port: cannot listen on ${flags.host}:${wantedHealthPort}: ${messageOf(error)}`,
              );
            });
      const grpcFlag = flags.grpcPort ?? (env.EDGESHIP_GRPC_PORT || undefined);
      const wantedGrpcPort =
        grpcFlag === undefined ? undefined : numberFlag('grpc-port', grpcFlag, isPort, 'a port number');
      const grpcPort =
        wantedGrpcPort === undefined
          ? undefined
          : await server.listenGrpc(wantedGrpcPort, flags.host).catch(async (error: unknown) => {
              await server.close();
              throw new EdgeshipError(
                `--grpc-port: cannot listen on ${flags.host}:${wantedGrpcPort}: ${messageOf(error)}`,
              );
            });
      log.info(
        {
          model: server.name,
          version: model?.version,
          digest: model?.digest,
          batching: model?.worker.batching,
          port,
          ...(grpcPort !== undefined && { grpcPort }),
          ...(healthPort !== undefined && { healthPort }),
          offload: offload?.url,
          ...(adaptive && { adaptive: { budgetMs: adaptive.budgetMs, maxLocalCpu: adaptive.maxLocalCpu } }),
        },
        'Serving over the Open Inference Protocol v2',
      );
      analyzer?.start();
      const graceMs = numberFlag('grace-seconds', flags.graceSeconds, (value) => value > 0, 'seconds') * 1000;
      const stop = (signal: string) => {
        log.info({ signal }, 'Shutting down: no new connections, finishing requests in flight');
        setTimeout(() => {
          log.warn(
            { inFlight: server.pending, graceMs },
            'Shutting down: grace period over, exiting with requests in flight',
          );
          process.exit(1);
        }, graceMs).unref();
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
