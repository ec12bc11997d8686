import { EdgeshipError, messageOf } from '../../core/errors.ts';
import { maskSecrets } from '../../core/markdown.ts';
import { callJson } from '../http/json-api.ts';
import type { ModelRegistry, RegistryRelease } from '../../ports.ts';

interface ModelVersion {
  name: string;
  version: string;
  tags?: { key: string; value: string }[];
}

export const DIGEST_TAG = 'edgeship.digest';
const PAGE = 1000;

/**
 * A model version's source as MLflow takes it: a URI with a scheme. MLflow (≥ 2.3) refuses a
 * source without one as a local path outside any run's artifacts; an OCI reference pinned by
 * digest becomes `oci://<reference>`, as KServe's storage URIs name one.
 */
export function sourceUri(reference: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(reference) && !/^[^/]+:\d+\//.test(reference) ? reference : `oci://${reference}`;
}

/**
 * The MLflow Model Registry over its REST API (2.0): a model version per release, found again
 * by its digest tag so a retried call registers nothing twice, and aliases moved by name.
 */
export class MlflowRegistry implements ModelRegistry {
  private readonly api: string;

  constructor(
    trackingUri: string,
    private readonly token?: string,
  ) {
    this.api = `${trackingUri.replace(/\/+$/, '')}/api/2.0/mlflow`;
  }

  async ensureVersion(release: RegistryRelease): Promise<string> {
    await this.call('POST', 'registered-models/create', {
      name: release.model,
      description: 'Mirrored from the GitOps repo by edgeship.',
    }).catch((error: unknown) => {
      if (!(error instanceof MlflowError && error.code === 'RESOURCE_ALREADY_EXISTS')) throw error;
    });
    const existing = await this.versionOf(release.model, release.digest);
    if (existing) return existing;
    const tags = Object.entries({
      [DIGEST_TAG]: release.digest,
      'edgeship.version': release.version,
      ...release.tags,
    }).map(([key, value]) => ({ key, value }));
    const created = (await this.call('POST', 'model-versions/create', {
      name: release.model,
      source: sourceUri(release.source),
      tags,
      description: `${release.model} ${release.version}`,
    })) as { model_version: ModelVersion };
    return created.model_version.version;
  }

  /** The version tagged with the digest, searched page by page: a model can have any number of versions. */
  async versionOf(model: string, digest: string): Promise<string | undefined> {
    let token: string | undefined;
    do {
      const query = new URLSearchParams({
        filter: `name='${model.replace(/'/g, "\\'")}'`,
        max_results: String(PAGE),
        ...(token && { page_token: token }),
      });
      const page = (await this.call('GET', `model-versions/search?${query.toString()}`)) as {
        model_versions?: ModelVersion[];
        next_page_token?: string;
      };
      const found = page.model_versions?.find((version) =>
        version.tags?.some((tag) => tag.key === DIGEST_TAG && tag.value === digest),
      );
      if (found) return found.version;
      token = page.next_page_token || undefined;
    } while (token);
    return undefined;
  }

  async setAlias(model: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name: model, alias, version });
  }

  private async call(method: 'GET' | 'POST', path: string, body?: object): Promise<unknown> {
    try {
      return await this.callUnmasked(method, path, body);
    } catch (error) {
      // What leaves the adapter never carries the token, whatever MLflow or a proxy echoed back.
      if (!this.token || !messageOf(error).includes(this.token)) throw error;
      throw new MlflowError(
        maskSecrets(messageOf(error), [this.token]),
        error instanceof MlflowError ? error.code : undefined,
      );
    }
  }

  private async callUnmasked(method: 'GET' | 'POST', path: string, body?: object): Promise<unknown> {
    return callJson(
      { method, url: `${this.api}/${path}`, ...(body && { body }), ...(this.token && { token: this.token }) },
      {
        unreachable: `MLflow at ${this.api} is unreachable`,
        failed: ({ status, detail, text }) => {
          const code = typeof detail.error_code === 'string' ? detail.error_code : undefined;
          const message = typeof detail.message === 'string' ? detail.message : text.slice(0, 200);
          return new MlflowError(
            `MLflow ${method} ${path.split('?')[0]}: ${status} ${code ?? ''} ${message}`.trim(),
            code,
          );
        },
      },
    );
  }
}

export class MlflowError extends EdgeshipError {
  override readonly name = 'MlflowError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
