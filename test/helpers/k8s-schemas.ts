import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { ApplicationSet } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/ApplicationSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ROOT } from './fixtures.ts';

type Validator = (manifest: Record<string, unknown>) => void;

async function kserveValidator(): Promise<Validator> {
  const crd = parse(
    await readFile(join(ROOT, 'test/fixtures/schemas/kserve.serving.kserve.io_inferenceservices.crd.yaml'), 'utf8'),
  ) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] };
  };
  const schema = crd.spec.versions.find((version) => version.name === 'v1beta1')?.schema.openAPIV3Schema;
  if (!schema) throw new Error('the KServe CRD has no v1beta1 schema');
  const ajv = new Ajv({ strict: false, allErrors: true });
  // The OpenAPI formats Kubernetes schemas use, checked rather than ignored.
  ajv.addFormat('int32', {
    type: 'number',
    validate: (value: number) => Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isSafeInteger(value) });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addFormat('date-time', { type: 'string', validate: (value: string) => !Number.isNaN(Date.parse(value)) });
  const validate = ajv.compile(schema);
  return (manifest) => {
    if (!validate(manifest)) throw new Error(`InferenceService: ${ajv.errorsText(validate.errors)}`);
  };
}

let built: Promise<Validator> | undefined;

/**
 * Validates a manifest against the real schema of its kind; unknown kinds are an error. Built
 * once per test file: compiling the KServe CRD's schema takes seconds.
 */
export function manifestValidator(): Promise<Validator> {
  built ??= buildValidator();
  return built;
}

async function buildValidator(): Promise<Validator> {
  const kserve = await kserveValidator();
  const byKind: Record<string, Validator> = {
    'apps/v1/Deployment': (manifest) => new Deployment(manifest).validate(),
    'v1/Service': (manifest) => new Service(manifest).validate(),
    'v1/ConfigMap': (manifest) => new ConfigMap(manifest).validate(),
    'v1/ServiceAccount': (manifest) => new ServiceAccount(manifest).validate(),
    'v1/Namespace': (manifest) => new Namespace(manifest).validate(),
    'policy/v1/PodDisruptionBudget': (manifest) => new PodDisruptionBudget(manifest).validate(),
    'rbac.authorization.k8s.io/v1/Role': (manifest) => new Role(manifest).validate(),
    'rbac.authorization.k8s.io/v1/RoleBinding': (manifest) => new RoleBinding(manifest as never).validate(),
    'batch/v1/Job': (manifest) => new Job(manifest).validate(),
    'argoproj.io/v1alpha1/Application': (manifest) => new Application(manifest as never).validate(),
    'argoproj.io/v1alpha1/ApplicationSet': (manifest) => new ApplicationSet(manifest as never).validate(),
    'serving.kserve.io/v1beta1/InferenceService': kserve,
  };
  return (manifest) => {
    const key = `${String(manifest.apiVersion)}/${String(manifest.kind)}`;
    const validate = byKind[key];
    if (!validate) throw new Error(`no schema for ${key}`);
    validate(manifest);
  };
}
