import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from './forward.ts';

interface Listed {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * A loopback front that gives a distribution 2.x registry the OCI 1.1 referrers API, as GHCR,
 * Harbor and distribution 3 have it: a manifest pushed with a `subject` is answered with
 * `OCI-Subject` and listed under `GET /v2/<name>/referrers/<digest>` (filtered by
 * `artifactType`, with the `OCI-Filters-Applied` header); everything else goes to the registry.
 */
export async function startReferrersProxy(upstream: string) {
  const referrers = new Map<string, Listed[]>();
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    requests.push(`${req.method} ${url.pathname}`);
    const listing = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (req.method === 'GET' && listing) {
      const type = url.searchParams.get('artifactType');
      const manifests = (referrers.get(`${listing[1]}@${listing[2]}`) ?? []).filter(
        (entry) => !type || entry.artifactType === type,
      );
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.index.v1+json',
        ...(type && { 'oci-filters-applied': 'artifactType' }),
      });
      return void res.end(
        JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
      );
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'PUT' || !manifest) return forward(req, res, upstream);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const outgoing = httpRequest(
        `http://${upstream}${req.url}`,
        { method: 'PUT', headers: { ...req.headers, host: upstream } },
        (answer) => {
          const headers = { ...answer.headers };
          const parsed = JSON.parse(body.toString('utf8')) as {
            mediaType: string;
            artifactType?: string;
            annotations?: Record<string, string>;
            subject?: { digest: string };
          };
          if (answer.statusCode === 201 && parsed.subject) {
            const key = `${manifest[1]}@${parsed.subject.digest}`;
            const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
            const entry: Listed = {
              mediaType: parsed.mediaType,
              digest,
              size: body.length,
              ...(parsed.artifactType && { artifactType: parsed.artifactType }),
              ...(parsed.annotations && { annotations: parsed.annotations }),
            };
            referrers.set(key, [...(referrers.get(key) ?? []).filter((listed) => listed.digest !== digest), entry]);
            headers['oci-subject'] = parsed.subject.digest;
          }
          res.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(res);
        },
      );
      outgoing.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
