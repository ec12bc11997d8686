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
  /**
   * Whether the credentials may go to the token service a Bearer challenge names; the app asks
   * the operator policy. Without it, only the registry's own host.
   */
  allowRealm?: (realm: string) => boolean;
  /** Largest blob or manifest read, in bytes (EDGESHIP_MAX_BLOB_BYTES in the app). */
  maxBytes?: number;
}

/** 1 GiB: far above any edge model, far below what exhausts the app. */
export const DEFAULT_MAX_BYTES = 1024 ** 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

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
  private readonly origin: string;

  constructor(
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(registry);
    this.base = `${(options.plainHttp ?? local) ? 'http' : 'https'}://${registry}`;
    this.origin = new URL(this.base).origin;
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
          const why =
            response.status === 401 || response.status === 403 ? 'the registry refused the credentials' : text;
          throw new AbortError(
            new ArtifactError(
              `${this.registry} answered ${response.status} to ${options.method} ${options.path}: ${why}`,
            ),
          );
        }
        return response;
      },
      { retries: this.options.retries ?? 2, minTimeout: 200, factor: 2 },
    );
  }

  /**
   * One request, following redirects by hand: the Authorization header goes only to the
   * registry's own origin, never to a host a redirect or an upload Location names.
   */
  private async send(options: RequestOptions): Promise<Response> {
    let url = new URL(options.path.startsWith('http') ? options.path : `${this.base}${options.path}`);
    let method = options.method;
    let body = options.body;
    for (let hop = 0; ; hop += 1) {
      const auth = url.origin === this.origin ? this.authorization.get(options.scope) : undefined;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: { ...options.headers, ...(auth && { authorization: auth }) },
          ...(body && { body }),
          redirect: 'manual',
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        throw new ArtifactError(`cannot reach the registry ${this.registry} (${cause?.code ?? messageOf(error)})`, {
          cause: error,
        });
      }
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || !location || (method !== 'GET' && method !== 'HEAD')) return response;
      if (hop === MAX_REDIRECTS)
        throw new AbortError(
          new ArtifactError(`${this.registry} redirected ${options.path} more than ${MAX_REDIRECTS} times`),
        );
      await response.body?.cancel();
      url = new URL(location, url);
      if (response.status === 303) [method, body] = ['GET', undefined];
    }
  }

  /** Reads a body, refusing one larger than the configured maximum before it is buffered whole. */
  async readCapped(response: Response, what: string): Promise<Buffer> {
    const max = this.options.maxBytes ?? DEFAULT_MAX_BYTES;
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > max) {
      await response.body?.cancel();
      throw new ArtifactError(
        `${what} from ${this.registry} is ${declared} bytes, more than the ${max} allowed (EDGESHIP_MAX_BLOB_BYTES)`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body ?? []) {
      size += (chunk as Uint8Array).byteLength;
      if (size > max)
        throw new ArtifactError(
          `${what} from ${this.registry} is more than the ${max} bytes allowed (EDGESHIP_MAX_BLOB_BYTES)`,
        );
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  }

  private async authenticate(challenge: string | null, scope: string): Promise<void> {
    const credentials = this.options.credentials;
    const scheme = challenge?.split(' ')[0]?.toLowerCase();
    if (scheme === 'basic') {
      if (!credentials)
        throw new AbortError(
          new ArtifactError(
            `${this.registry} requires credentials; set EDGESHIP_REGISTRY_USERNAME and EDGESHIP_REGISTRY_PASSWORD`,
          ),
        );
      this.authorization.set(
        scope,
        `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      );
      return;
    }
    if (scheme !== 'bearer' || !challenge) {
      throw new AbortError(
        new ArtifactError(
          `${this.registry} asked for authentication it does not describe (${challenge ?? 'no WWW-Authenticate header'})`,
        ),
      );
    }
    const parameters: Record<string, string> = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1] ?? '', match[2] ?? '']),
    );
    if (!parameters.realm)
      throw new AbortError(new ArtifactError(`${this.registry}: the Bearer challenge has no realm`));
    let url: URL;
    try {
      url = new URL(parameters.realm);
    } catch {
      throw new AbortError(
        new ArtifactError(`${this.registry}: the Bearer realm ${JSON.stringify(parameters.realm)} is not a URL`),
      );
    }
    const allowed = this.options.allowRealm ? this.options.allowRealm(parameters.realm) : url.host === this.registry;
    if (credentials && !allowed) {
      throw new AbortError(
        new ArtifactError(
          `${this.registry} asked for its credentials to go to ${url.origin}, a token service the operator policy does not list for it (registries[].tokenRealms)`,
        ),
      );
    }
    if (parameters.service) url.searchParams.set('service', parameters.service);
    url.searchParams.set('scope', scope);
    const response = await fetch(url, {
      redirect: 'error',
      headers: credentials
        ? {
            authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
          }
        : {},
    }).catch((error: unknown) => {
      throw new ArtifactError(`cannot reach the token service ${url.origin} of ${this.registry}`, { cause: error });
    });
    if (!response.ok)
      throw new AbortError(
        new ArtifactError(`the token service of ${this.registry} refused the credentials (${response.status})`),
      );
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new AbortError(new ArtifactError(`the token service of ${this.registry} returned no token`));
    this.authorization.set(scope, `Bearer ${token}`);
  }
}
