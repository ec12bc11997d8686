import { isMap, isScalar, isSeq, parseDocument, stringify, type Document } from 'yaml';
import type { Target } from './config.ts';
import { GitOpsError } from './errors.ts';
import { PINNED_REFERENCE, SEMVER } from './formats.ts';
import type { PlacementChoice } from './placement.ts';
import { applyOwnedEdits, parseYaml, withHeader, type OwnedEdit } from './yaml-edit.ts';

/** What one target runs of one model. */
export interface OverlaySpec {
  model: string;
  target: Target;
  choice: Exclude<PlacementChoice, 'blocked'>;
  reference: string;
  version: string;
  /** The cloud endpoint an offloaded site forwards to. */
  offloadUrl?: string;
  /** A cloud target's other versions: those offloading sites still forward to, by version. */
  retained?: { version: string; reference: string }[];
  /** The container image deployed instead of pulling the artifact: a modelcar (cloud) or a serving image with the model (edge). */
  package?: string;
  /** false: the server runs each request on its own (the config's `serving.batching`). */
  batching?: false;
  /** The site-side analysis it runs during its wave's soak (core/analysis.ts siteAnalysisLiteral). */
  analysis?: string;
}

/** Kustomize base for each placement: where the model runs decides which manifests deploy. */
export const PLACEMENT_BASE = {
  edge: 'edge-inference',
  offload: 'offload-forwarder',
  adaptive: 'adaptive-inference',
  cloud: 'cloud-kserve',
} as const satisfies Record<OverlaySpec['choice'], string>;

export const siteKustomizationPath = (target: string) => `sites/${target}/kustomization.yaml`;
export const overlayPath = (target: string, model: string) => `sites/${target}/${model}/kustomization.yaml`;
export const resourcesPatchPath = (target: string, model: string) => `sites/${target}/${model}/edgeship-resources.yaml`;

const RESOURCES_PATCH = 'edgeship-resources.yaml';
const BASE_PREFIX = '../../../base/';
const MODEL_CONFIGMAP = 'edgeship-model';
/** The predictor's container in base/cloud-kserve. */
const KSERVE_CONTAINER = 'kserve-container';
/** Where KServe's storage initializer puts (or a modelcar mounts) the model of STORAGE_URI. */
const KSERVE_MODEL_DIR = '/mnt/models';

/**
 * The overlay of one model at one target. edgeship owns the first resource (the base, i.e. the
 * placement), the edgeship.io labels and the edgeship-model literals; any other key, patch or
 * comment a person adds is kept. An overlay nobody edited differs from a new one only in those
 * values: it is written anew without parsing it, which is what keeps a release over a fleet of
 * 10,000 sites as fast as the first.
 */
export function writeOverlay(current: string | undefined, spec: OverlaySpec): string {
  assertOverlayValues(spec);
  const fresh = newOverlay(spec, literalLines(spec));
  if (current === undefined || current === fresh || sameButOwnedValues(current, fresh)) return fresh;
  return editOverlay(current, spec);
}

/** writeOverlay's careful path: the owned values edited in the YAML document, every other byte kept. */
export function editOverlay(current: string, spec: OverlaySpec): string {
  assertOverlayValues(spec);
  const where = overlayPath(spec.target.name, spec.model);
  const document = parseYaml(current);
  if (document.errors.length > 0)
    throw new GitOpsError(`${where}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
  return applyOwnedEdits(current, ownedEdits(document, spec, ownedLiterals(spec), where), where, { document });
}

const literalLines = (spec: OverlaySpec) =>
  Object.entries(ownedLiterals(spec)).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));

/**
 * The lines of a new overlay whose value edgeship owns, as (the line up to the value, the value):
 * the base, the version and placement labels, the edgeship-model literals. Each value is one
 * plain scalar that cannot open a structure of its own.
 */
const OWNED_LINES = [
  /^(  - \.\.\/\.\.\/\.\.\/base\/)([\w-]+)$/,
  /^(      edgeship\.io\/(?:version|placement): )(\w[\w.+-]*)$/,
  /^(      - EDGESHIP_[A-Z_]+=)([\w.:@/+,=%~-]*)$/,
];

/** `current` is `fresh` but for the values edgeship owns: the same lines otherwise, in the same places. */
function sameButOwnedValues(current: string, fresh: string): boolean {
  const was = current.split('\n');
  const now = fresh.split('\n');
  if (was.length !== now.length) return false;
  return now.every((line, index) => {
    const old = was[index] as string;
    if (old === line) return true;
    const pattern = OWNED_LINES.find((candidate) => candidate.test(line));
    return pattern !== undefined && pattern.exec(old)?.[1] === pattern.exec(line)?.[1];
  });
}

/**
 * The edgeship-model literals of a placement: an offload forwarder gets no model to load; an
 * adaptive site gets the model, the cloud endpoint and what it decides by (the budget, the CPU ceiling).
 */
function ownedLiterals(spec: OverlaySpec): Record<string, string | undefined> {
  const adaptive = spec.choice === 'adaptive';
  // A packaged model is in the pod's filesystem: a modelcar at /mnt/models, a serving image at /models.
  const packaged = spec.package !== undefined && spec.choice !== 'offload';
  return {
    EDGESHIP_MODEL: spec.choice === 'offload' || packaged ? undefined : spec.reference,
    EDGESHIP_MODEL_DIR: packaged ? (spec.choice === 'cloud' ? KSERVE_MODEL_DIR : '/models') : undefined,
    // What the packaged model was published as: a site that trusts signers verifies it against the artifact's signatures.
    EDGESHIP_MODEL_ARTIFACT: packaged ? spec.reference : undefined,
    EDGESHIP_MODEL_VERSION: spec.version,
    EDGESHIP_OFFLOAD_URL: spec.choice === 'offload' || adaptive ? (spec.offloadUrl ?? '') : undefined,
    EDGESHIP_LATENCY_BUDGET_MS: adaptive ? String(spec.target.latencyBudgetMs) : undefined,
    EDGESHIP_MAX_LOCAL_CPU:
      adaptive && spec.target.maxLocalCpu !== undefined ? String(spec.target.maxLocalCpu) : undefined,
    // A forwarder runs no model: nothing to batch.
    EDGESHIP_MAX_BATCH_ROWS: spec.batching === false && spec.choice !== 'offload' ? '0' : undefined,
    EDGESHIP_ANALYSIS: spec.analysis,
    EDGESHIP_RETAINED_MODELS:
      spec.choice === 'cloud' && spec.retained?.length
        ? spec.retained.map((entry) => `${entry.version}=${entry.reference}`).join(',')
        : undefined,
  };
}

/**
 * Where edgeship's parts of an overlay are, found by what they are, never by position: the base
 * resource (`../../../base/…`), the labels entry with `edgeship.io/version`, the selecting entry
 * with `edgeship.io/model`, the generator named
 * `edgeship-model` and its literals by key. A person's own entries anywhere are left alone.
 */
function ownedEdits(
  document: Document,
  spec: OverlaySpec,
  literals: Record<string, string | undefined>,
  where: string,
): OwnedEdit[] {
  const items = (path: (string | number)[]) => {
    const node = document.getIn(path, true);
    return isSeq(node) ? node.items.map((item) => item) : [];
  };
  const valueOf = (item: unknown) => (isScalar(item) ? String(item.value) : undefined);
  const edits: OwnedEdit[] = [];
  const resources = items(['resources']);
  const base = resources.findIndex((item) => valueOf(item)?.startsWith(BASE_PREFIX));
  edits.push([['resources', base < 0 ? resources.length : base], `${BASE_PREFIX}${PLACEMENT_BASE[spec.choice]}`]);
  const labels = items(['labels']);
  const versioned = labels.findIndex(
    (item) =>
      isMap(item) && (item.hasIn(['pairs', 'edgeship.io/version']) || item.hasIn(['pairs', 'edgeship.io/placement'])),
  );
  const selecting = labels.findIndex(
    (item, index) => index !== versioned && isMap(item) && item.hasIn(['pairs', 'edgeship.io/model']),
  );
  // The model label selects (its own entry); overlays from before it carry it in the version entry, without selecting.
  const selectorIndex = selecting < 0 ? labels.length : selecting;
  const labelIndex = versioned < 0 ? Math.max(labels.length, selectorIndex + 1) : versioned;
  edits.push(
    [['labels', selectorIndex, 'pairs', 'edgeship.io/model'], spec.model],
    [['labels', selectorIndex, 'includeSelectors'], true],
  );
  edits.push(
    [['labels', labelIndex, 'pairs', 'edgeship.io/version'], spec.version],
    [['labels', labelIndex, 'pairs', 'edgeship.io/placement'], spec.choice],
  );
  edits.push([['labels', labelIndex, 'pairs', 'edgeship.io/model'], undefined]);
  const generators = items(['configMapGenerator']);
  const generator = generators.findIndex((item) => isMap(item) && item.get('name') === MODEL_CONFIGMAP);
  if (generator < 0)
    throw new GitOpsError(
      `${where}: expected a configMapGenerator named ${MODEL_CONFIGMAP} (edgeship owns its literals), found none`,
    );
  const path = ['configMapGenerator', generator, 'literals'];
  const present = items(path).map(valueOf);
  let appended = present.length;
  const removals: number[] = [];
  for (const [key, value] of Object.entries(literals)) {
    const index = present.findIndex((literal) => literal?.startsWith(`${key}=`));
    if (value !== undefined) edits.push([[...path, index < 0 ? appended++ : index], `${key}=${value}`]);
    else if (index >= 0) removals.push(index);
  }
  // The package patch: found by what it patches, added, updated or removed.
  const patches = items(['patches']);
  const patchOf = (item: unknown) => (isMap(item) ? valueOf(item.get('patch', true)) : undefined);
  const owned = patches.findIndex((item) => OWNED_PATCH.test(patchOf(item) ?? ''));
  const wanted = packagePatch(spec);
  if (wanted)
    edits.push(
      [['patches', owned < 0 ? patches.length : owned, 'target', 'kind'], wanted.kind],
      [['patches', owned < 0 ? patches.length : owned, 'patch'], wanted.patch],
    );
  else if (owned >= 0) edits.push([['patches', owned], undefined]);
  // Removed last and from the end, so the indexes of everything edited before stay right.
  for (const index of removals.sort((a, b) => b - a)) edits.push([[...path, index], undefined]);
  return edits;
}

/** The inline JSON patches edgeship owns: found again by what they patch. */
const OWNED_PATCH = /STORAGE_URI|\/spec\/template\/spec\/containers\/0\/image/;

/**
 * How a target deploys its package: KServe's storage initializer mounts a modelcar given as the
 * predictor's STORAGE_URI (KServe reads it from the container's env, not from a ConfigMap); an
 * edge site runs the serving image that carries the model.
 */
function packagePatch(spec: OverlaySpec): { kind: string; patch: string } | undefined {
  if (spec.package === undefined || spec.choice === 'offload') return undefined;
  // A strategic-merge patch (JSON is YAML), merged by name through the merge keys base/cloud-kserve
  // declares: only the STORAGE_URI entry is edgeship's, a site team's own env stays.
  if (spec.choice === 'cloud') {
    const predictor = {
      containers: [{ name: KSERVE_CONTAINER, env: [{ name: 'STORAGE_URI', value: `oci://${spec.package}` }] }],
    };
    return {
      kind: 'InferenceService',
      patch: JSON.stringify({
        apiVersion: 'serving.kserve.io/v1beta1',
        kind: 'InferenceService',
        metadata: { name: 'edgeship-inference' },
        spec: { predictor },
      }),
    };
  }
  return {
    kind: 'Deployment',
    patch: JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: spec.package }]),
  };
}

/** Values pasted into kustomize must be what their grammar allows: a CR or a quote could add keys. */
function assertOverlayValues(spec: OverlaySpec): void {
  const where = overlayPath(spec.target.name, spec.model);
  for (const { version, reference } of [
    { version: spec.version, reference: spec.reference },
    ...(spec.retained ?? []),
  ]) {
    if (!SEMVER.test(version))
      throw new GitOpsError(
        `${where}: refusing version ${JSON.stringify(version)}: expected a semantic version such as 1.2.3`,
      );
    if (!PINNED_REFERENCE.test(reference))
      throw new GitOpsError(
        `${where}: refusing artifact ${JSON.stringify(reference)}: expected a reference pinned by digest`,
      );
  }
  if (spec.package !== undefined && (!PINNED_REFERENCE.test(spec.package) || spec.package.startsWith('oci-layout:')))
    throw new GitOpsError(
      `${where}: refusing image ${JSON.stringify(spec.package)}: expected an image on a registry pinned by digest`,
    );
  if (spec.offloadUrl !== undefined && !/^https?:\/\/[\w.:\[\]-]+(\/[\w./~%-]*)?$/.test(spec.offloadUrl))
    throw new GitOpsError(`${where}: refusing offload URL ${JSON.stringify(spec.offloadUrl)}`);
}

function newOverlay(spec: OverlaySpec, literals: string[]): string {
  const { model, target } = spec;
  return withHeader(
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ../../../base/${PLACEMENT_BASE[spec.choice]}`,
      `nameSuffix: -${model}`,
      // The model label selects: each model's Service reaches only its own pods at the site.
      'labels:',
      '  - pairs:',
      `      edgeship.io/model: ${model}`,
      '    includeSelectors: true',
      '  - pairs:',
      `      edgeship.io/version: ${spec.version}`,
      `      edgeship.io/placement: ${spec.choice}`,
      'configMapGenerator:',
      '  - name: edgeship-model',
      '    behavior: merge',
      '    literals:',
      ...literals.map((literal) => `      - ${stringify(literal, { lineWidth: 0 }).trimEnd()}`),
      ...patchLines(spec),
      '',
    ].join('\n'),
    [
      `${model} at ${target.name}, written by edgeship.`,
      'edgeship owns resources[0], the edgeship.io labels and the edgeship-model literals;',
      'add your own resources, patches and comments: they are kept.',
    ],
  );
}

function patchLines(spec: OverlaySpec): string[] {
  const packaged = packagePatch(spec);
  const lines = [
    ...(spec.target.kind === 'edge' ? [`  - path: ${RESOURCES_PATCH}`] : []),
    ...(packaged
      ? [
          '  - target:',
          `      kind: ${packaged.kind}`,
          `    patch: ${stringify(packaged.patch, { lineWidth: 0 }).trimEnd()}`,
        ]
      : []),
  ];
  return lines.length > 0 ? ['patches:', ...lines] : [];
}

/**
 * The resources of the server at an edge site: the model may use up to the target's memory
 * budget when it runs there; a forwarder needs little. Generated whole: the file is edgeship's.
 */
export function resourcesPatch(spec: OverlaySpec): string {
  const memory = spec.choice === 'edge' ? `${Math.ceil(spec.target.memoryBudgetMb ?? 256)}Mi` : '128Mi';
  return [
    `# Resources of ${spec.model} at ${spec.target.name}, from its memory budget. Generated by edgeship.`,
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: edgeship-inference',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: server',
    '          resources:',
    '            requests:',
    `              memory: ${memory}`,
    '            limits:',
    `              memory: ${memory}`,
    '',
  ].join('\n');
}

/** The site's kustomization lists the model's directory; other entries and comments are kept. */
export function writeSiteKustomization(current: string | undefined, target: string, model: string): string {
  const fresh = withHeader(
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ${model}\n`,
    [`Models at ${target}. edgeship adds the directory of each model it releases here.`],
  );
  if (current === undefined || current === fresh) return fresh;
  const text = current;
  const document = parseDocument(text);
  if (document.errors.length > 0)
    throw new GitOpsError(
      `${siteKustomizationPath(target)}: invalid YAML: ${document.errors[0]?.message.split('\n')[0]}`,
    );
  const resources = document.get('resources', true);
  if (resources !== undefined && !isSeq(resources))
    throw new GitOpsError(`${siteKustomizationPath(target)}: expected resources to be a list`);
  const listed = isSeq(resources)
    ? resources.items.map((item) => String((item as { value?: unknown }).value ?? item))
    : [];
  if (listed.includes(model)) return text;
  if (isSeq(resources)) {
    resources.flow = false;
    resources.add(model);
  } else document.set('resources', [model]);
  return document.toString({ lineWidth: 0 });
}
