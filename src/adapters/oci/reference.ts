import { ArtifactError } from '../../core/errors.ts';

/** A parsed artifact reference: a registry repository or an OCI image layout directory. */
export type OciReference =
  | { kind: 'registry'; registry: string; repository: string; tag?: string; digest?: string }
  | { kind: 'layout'; directory: string; tag?: string; digest?: string };

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const LAYOUT_PREFIX = 'oci-layout:';

/**
 * Parses `registry/repo:tag`, `registry/repo@sha256:…` or `oci-layout:<dir>[:tag|@digest]`.
 * The registry part needs a dot, a port or `localhost`, as with docker references.
 */
export function parseReference(text: string): OciReference {
  const fail = (why: string): never => {
    throw new ArtifactError(
      `"${text}" is not a valid artifact reference: ${why}. Expected registry/repository[:tag|@sha256:…] or oci-layout:<dir>[:tag|@sha256:…]`,
    );
  };
  const [rest, digest] = splitDigest(text);
  if (digest !== undefined && !DIGEST.test(digest)) fail(`the digest "${digest}" is not sha256:<64 hex digits>`);
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > slash && !(rest.startsWith(LAYOUT_PREFIX) && colon === LAYOUT_PREFIX.length - 1);
  const name = hasTag ? rest.slice(0, colon) : rest;
  const tag = hasTag ? rest.slice(colon + 1) : undefined;
  if (tag !== undefined && !TAG.test(tag)) fail(`the tag "${tag}" has characters a tag cannot have`);
  if (name.startsWith(LAYOUT_PREFIX)) {
    const directory = name.slice(LAYOUT_PREFIX.length);
    if (!directory) fail('the layout directory is empty');
    return { kind: 'layout', directory, ...(tag && { tag }), ...(digest && { digest }) };
  }
  const firstSlash = name.indexOf('/');
  const host = firstSlash > 0 ? name.slice(0, firstSlash) : '';
  if (!host || !(host.includes('.') || host.includes(':') || host === 'localhost'))
    fail('it names no registry host (e.g. ghcr.io/org/model)');
  const repository = name.slice(firstSlash + 1);
  if (!REPOSITORY.test(repository)) fail(`the repository "${repository}" must be lowercase path components`);
  return { kind: 'registry', registry: host, repository, ...(tag && { tag }), ...(digest && { digest }) };
}

function splitDigest(text: string): [string, string | undefined] {
  const at = text.lastIndexOf('@');
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export function formatReference(reference: OciReference): string {
  const base =
    reference.kind === 'layout'
      ? `${LAYOUT_PREFIX}${reference.directory}`
      : `${reference.registry}/${reference.repository}`;
  if (reference.digest) return `${base}@${reference.digest}`;
  return reference.tag ? `${base}:${reference.tag}` : base;
}
