import pRetry, { AbortError } from 'p-retry';
import { ArtifactError, messageOf } from '../../core/errors.ts';

/** Username and password or token; GHCR takes any username with a token as password. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  credentials?: RegistryCredentials;
  /** Speak HTTP instead of HTTPS; on by default for localhost and 127.0.0.1 only. */
  plainHttp?: boolean;
  /** Attempts after the first for network errors, 429 and 5xx. */
  retries?: number;
}

interface RequestOptions {
  method: string;
  path: string;
  scope: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses that count as an answer; anything else is an error. */
  expect: number[];
}

/**
 * HTTP for the OCI distribution API with the registry token flow: a 401 names a Basic or
 * Bearer challenge; Bearer tokens are fetched from the realm once per scope and reused.
 */
export class RegistryClient {
  private readonly base: string;
  private readonly authorization = new Map<string, string>();

  constructor(
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(registry);
    this.base = `${(options.plainHttp ?? local) ? 'http' : 'https'}://${registry}`;
  }

  async request(options: RequestOptions): Promise<Response> {
    return pRetry(
      async () => {
        let response = await this.send(options);
        if (response.status === 401) {
          await response.body?.cancel();
          await this.authenticate(response.headers.get('www-authenticate'), options.scope);
          response = await this.send(options);
        }
        if (response.status === 429 || response.status >= 500) {
          throw new ArtifactError(`${this.registry} answered ${response.status} to ${options.method} ${options.path}`);
        }
        if (!options.expect.includes(response.status)) {
          const text = (await response.text()).slice(0, 300);
          const why = response.status === 401 || response.status === 403 ? 'the registry refused the credentials' : text;
          throw new AbortError(new ArtifactError(`${this.registry} answered ${response.status} to ${options.method} ${options.path}: ${why}`));
        }
        return response;
      },
      { retries: this.options.retries ?? 2, minTimeout: 200, factor: 2 },
    );
  }

  private async send(options: RequestOptions): Promise<Response> {
    const url = options.path.startsWith('http') ? options.path : `${this.base}${options.path}`;
    const auth = this.authorization.get(options.scope);
    try {
      return await fetch(url, {
        method: options.method,
        headers: { ...options.headers, ...(auth && { authorization: auth }) },
        ...(options.body && { body: options.body }),
        redirect: 'follow',
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new ArtifactError(`cannot reach the registry ${this.registry} (${cause?.code ?? messageOf(error)})`, { cause: error });
    }
  }

  private async authenticate(challenge: string | null, scope: string): Promise<void> {
    const credentials = this.options.credentials;
    const scheme = challenge?.split(' ')[0]?.toLowerCase();
    if (scheme === 'basic') {
      if (!credentials) throw new AbortError(new ArtifactError(`${this.registry} requires credentials; set EDGESHIP_REGISTRY_USERNAME and EDGESHIP_REGISTRY_PASSWORD`));
      this.authorization.set(scope, `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`);
      return;
    }
    if (scheme !== 'bearer' || !challenge) {
      throw new AbortError(new ArtifactError(`${this.registry} asked for authentication it does not describe (${challenge ?? 'no WWW-Authenticate header'})`));
    }
    const parameters: Record<string, string> = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1] ?? '', match[2] ?? '']));
    if (!parameters.realm) throw new AbortError(new ArtifactError(`${this.registry}: the Bearer challenge has no realm`));
    const url = new URL(parameters.realm);
    if (parameters.service) url.searchParams.set('service', parameters.service);
    url.searchParams.set('scope', scope);
    const response = await fetch(url, {
      headers: credentials ? { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` } : {},
    }).catch((error: unknown) => {
      throw new ArtifactError(`cannot reach the token service ${url.origin} of ${this.registry}`, { cause: error });
    });
    if (!response.ok) throw new AbortError(new ArtifactError(`the token service of ${this.registry} refused the credentials (${response.status})`));
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new AbortError(new ArtifactError(`the token service of ${this.registry} returned no token`));
    this.authorization.set(scope, `Bearer ${token}`);
  }
}
