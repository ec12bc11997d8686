import 'reflect-metadata';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify, webcrypto, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { json } from '@sigstore/core';

const { canonicalize } = json;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** GitHub Actions' OIDC issuer, as Fulcio certifies it. */
export const ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

const FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });

/** DER of a value: a short or long length, then the bytes. */
function der(tag: number, content: Buffer): Buffer {
  const length =
    content.length < 0x80
      ? Buffer.from([content.length])
      : content.length < 0x100
        ? Buffer.from([0x81, content.length])
        : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
/** The first element of a DER SEQUENCE, whole: a certificate's TBSCertificate. */
function firstElement(sequence: Buffer): Buffer {
  const skip = (at: number) => {
    const first = sequence[at + 1] as number;
    const lengthBytes = first < 0x80 ? 0 : first & 0x7f;
    const length = lengthBytes === 0 ? first : sequence.readUIntBE(at + 2, lengthBytes);
    return { start: at + 2 + lengthBytes, end: at + 2 + lengthBytes + length };
  };
  const inner = skip(0).start;
  return sequence.subarray(inner, skip(inner).end);
}
const uint = (value: number, bytes: number) => {
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
};

/** RFC 6962 Merkle tree: the root of `leaves` (already leaf-hashed) and the audit path of leaf `index`. */
function merkle(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return sha256(Buffer.from([1]), merkle(leaves.slice(0, split)), merkle(leaves.slice(split)));
}
function auditPath(index: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return index < split
    ? [...auditPath(index, leaves.slice(0, split)), merkle(leaves.slice(split))]
    : [...auditPath(index - split, leaves.slice(split)), merkle(leaves.slice(0, split))];
}

const readJson = (request: IncomingMessage) =>
  new Promise<Record<string, unknown>>((resolve, reject) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      try {
        resolve(JSON.parse(text || '{}') as Record<string, unknown>);
      } catch (error) {
        reject(new Error('the body is not JSON', { cause: error }));
      }
    });
  });

/**
 * A Sigstore instance of its own on loopback, for keyless signing tests: GitHub Actions' OIDC
 * token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), Fulcio (`POST /api/v2/signingCert`: checks the
 * token's signature and the proof of possession, certifies the key for the workflow's identity
 * with an embedded SCT from its CT log) and Rekor v1 (`POST /api/v1/log/entries` for dsse
 * entries: a Merkle tree, a signed checkpoint, a signed entry timestamp). `trustedRoot` is the
 * trusted_root.json that verifies what it issues, as an operator would be given it.
 */
export async function startFakeSigstore(identity: { workflowRef: string }) {
  const oidc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ctlog = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rekor = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'O=edgeship test, CN=fake-fulcio',
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const leaves: Buffer[] = [];
  const requests = { tokens: 0, certificates: 0, entries: 0 };
  const rekorLogId = sha256(spki(rekor.publicKey));
  let url = '';

  const token = () => {
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT' }));
    const claims = b64url(
      JSON.stringify({
        iss: ACTIONS_ISSUER,
        aud: 'sigstore',
        sub: `repo:${identity.workflowRef.split('/.github/')[0]}:ref:${identity.workflowRef.split('@')[1]}`,
        job_workflow_ref: identity.workflowRef,
        exp: Math.floor(Date.now() / 1000) + 300,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), {
      key: oidc.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${claims}.${b64url(signature)}`;
  };

  async function certify(body: Record<string, unknown>): Promise<[number, object]> {
    const jwt = String((body.credentials as { oidcIdentityToken?: string } | undefined)?.oidcIdentityToken ?? '');
    const [header = '', payload = '', signature = ''] = jwt.split('.');
    if (
      !verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        { key: oidc.publicKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'),
      )
    )
      return [401, { message: 'the identity token does not verify' }];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
      sub: string;
      job_workflow_ref: string;
    };
    const request = body.publicKeyRequest as { publicKey: { content: string }; proofOfPossession: string };
    const leafKey = createPublicKey(request.publicKey.content);
    if (!verify('sha256', Buffer.from(claims.sub), leafKey, Buffer.from(request.proofOfPossession, 'base64')))
      return [400, { message: 'the proof of possession does not verify' }];
    const subject = `https://github.com/${claims.job_workflow_ref}`;
    const publicKey = await webcrypto.subtle.importKey('spki', spki(leafKey), algorithm, true, ['verify']);
    const issued = new Date();
    const serialNumber = (Date.now() * 1000 + requests.certificates).toString(16);
    const extensions = [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([CODE_SIGNING]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: subject }], true),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
      new x509.Extension(FULCIO_ISSUER_V1, false, Buffer.from(ACTIONS_ISSUER)),
      new x509.Extension(FULCIO_ISSUER_V2, false, der(0x0c, Buffer.from(ACTIONS_ISSUER))),
    ];
    const certificate = (withSct?: x509.Extension) =>
      x509.X509CertificateGenerator.create({
        serialNumber,
        subject: '',
        issuer: ca.subject,
        notBefore: new Date(issued.getTime() - 1000),
        notAfter: new Date(issued.getTime() + 600_000),
        signingAlgorithm: algorithm,
        publicKey,
        signingKey: caKeys.privateKey,
        extensions: withSct ? [...extensions, withSct] : extensions,
      });
    // The CT log signs the precertificate: the certificate's TBS without the SCT list (RFC 6962 3.2).
    const tbs = firstElement(Buffer.from((await certificate()).rawData));
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64BE(BigInt(issued.getTime()));
    const signed = Buffer.concat([
      Buffer.from([0, 0]),
      timestamp,
      uint(1, 2),
      sha256(Buffer.from(ca.publicKey.rawData)),
      uint(tbs.length, 3),
      tbs,
      uint(0, 2),
    ]);
    const sctSignature = sign('sha256', signed, ctlog.privateKey);
    const sct = Buffer.concat([
      Buffer.from([0]),
      sha256(spki(ctlog.publicKey)),
      timestamp,
      uint(0, 2),
      Buffer.from([4, 3]),
      uint(sctSignature.length, 2),
      sctSignature,
    ]);
    const list = Buffer.concat([uint(sct.length + 2, 2), uint(sct.length, 2), sct]);
    const leaf = await certificate(new x509.Extension(SCT_LIST, false, der(0x04, list)));
    requests.certificates += 1;
    return [
      201,
      { signedCertificateEmbeddedSct: { chain: { certificates: [leaf.toString('pem'), ca.toString('pem')] } } },
    ];
  }

  function logEntry(body: Record<string, unknown>): [number, object] {
    const proposed = (body.spec as { proposedContent?: { envelope: string; verifiers: string[] } }).proposedContent;
    if (body.kind !== 'dsse' || body.apiVersion !== '0.0.1' || !proposed)
      return [400, { message: 'this fake Rekor takes dsse 0.0.1 entries' }];
    const envelope = JSON.parse(proposed.envelope) as { payload: string; signatures: { sig: string }[] };
    const entry = {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(proposed.envelope)).toString('hex') },
        payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')).toString('hex') },
        signatures: envelope.signatures.map((signature) => ({
          signature: signature.sig,
          verifier: proposed.verifiers[0],
        })),
      },
    };
    const canonical = Buffer.from(canonicalize(entry));
    const logIndex = leaves.length;
    leaves.push(sha256(Buffer.from([0]), canonical));
    const integratedTime = Math.floor(Date.now() / 1000);
    const logID = rekorLogId.toString('hex');
    const bodyBase64 = canonical.toString('base64');
    const set = sign(
      'sha256',
      Buffer.from(canonicalize({ body: bodyBase64, integratedTime, logIndex, logID })),
      rekor.privateKey,
    );
    const rootHash = merkle(leaves);
    const origin = `${new URL(url).host} - 1`;
    const note = `${origin}\n${leaves.length}\n${rootHash.toString('base64')}\n`;
    const noteSignature = Buffer.concat([
      rekorLogId.subarray(0, 4),
      sign('sha256', Buffer.from(note), rekor.privateKey),
    ]);
    requests.entries += 1;
    return [
      201,
      {
        [`${logID}${logIndex.toString(16).padStart(16, '0')}`]: {
          body: bodyBase64,
          integratedTime,
          logID,
          logIndex,
          verification: {
            signedEntryTimestamp: set.toString('base64'),
            inclusionProof: {
              checkpoint: `${note}\n\u2014 ${new URL(url).host} ${noteSignature.toString('base64')}\n`,
              hashes: auditPath(logIndex, leaves).map((hash) => hash.toString('hex')),
              logIndex,
              rootHash: rootHash.toString('hex'),
              treeSize: leaves.length,
            },
          },
        },
      },
    ];
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const send = (status: number, body: object) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = new URL(request.url ?? '/', url).pathname;
    if (request.method === 'GET' && path === '/actions/token') {
      requests.tokens += 1;
      if (request.headers.authorization !== 'Bearer actions-request-token') return send(401, { message: 'no' });
      return send(200, { value: token() });
    }
    void readJson(request).then(
      async (body) => {
        if (request.method === 'POST' && path === '/api/v2/signingCert') return send(...(await certify(body)));
        if (request.method === 'POST' && path === '/api/v1/log/entries') return send(...logEntry(body));
        send(404, { message: `no route ${request.method} ${path}` });
      },
      () => send(400, { message: 'not JSON' }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const validFor = { start: new Date(now - 3_600_000).toISOString() };
  const keyEntry = (key: KeyObject) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spki(key).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: sha256(spki(key)).toString('base64') },
  });
  return {
    url,
    requests,
    /** The environment a GitHub Actions job with `id-token: write` has. */
    actionsEnvironment: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${url}/actions/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'actions-request-token',
    },
    identity: { issuer: ACTIONS_ISSUER, subject: `https://github.com/${identity.workflowRef}` },
    trustedRoot: {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [keyEntry(rekor.publicKey)],
      certificateAuthorities: [
        {
          subject: { organization: 'edgeship test', commonName: 'fake-fulcio' },
          uri: url,
          certChain: { certificates: [{ rawBytes: Buffer.from(ca.rawData).toString('base64') }] },
          validFor,
        },
      ],
      ctlogs: [keyEntry(ctlog.publicKey)],
      timestampAuthorities: [],
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
