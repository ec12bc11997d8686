/** A signed model's bundle (OpenSSF model signing v1.0), beside its files. */
export const SIGNATURE_FILE = 'model.sig';

/**
 * A Sigstore bundle: the media type and OCI artifact type under which a model's signature is
 * attached to its artifact and images as a referrer.
 */
export const SIGNATURE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * The referrer annotation naming what a bundle's statement is (as GitHub's and cosign's OCI
 * attestations write it): a model signature and a build provenance are told apart by it before
 * either is opened. It is a hint only: what a bundle says is checked when it is verified.
 */
export const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** Media types of the files in an edgeship model artifact. */
export const MEDIA_TYPES = {
  'model.onnx': 'application/vnd.edgeship.model.onnx',
  'metrics.json': 'application/vnd.edgeship.metrics.v1+json',
  'contract.json': 'application/vnd.edgeship.contract.v1+json',
  'golden.json': 'application/vnd.edgeship.golden.v1+json',
  'reference-stats.json': 'application/vnd.edgeship.reference-stats.v1+json',
} as const;
