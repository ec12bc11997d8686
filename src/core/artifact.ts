/** A signed model's bundle (OpenSSF model signing v1.0), beside its files. */
export const SIGNATURE_FILE = 'model.sig';

/**
 * A Sigstore bundle: the media type and OCI artifact type under which a model's signature is
 * attached to its artifact and images as a referrer.
 */
export const SIGNATURE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Media types of the files in an edgeship model artifact. */
export const MEDIA_TYPES = {
  'model.onnx': 'application/vnd.edgeship.model.onnx',
  'metrics.json': 'application/vnd.edgeship.metrics.v1+json',
  'contract.json': 'application/vnd.edgeship.contract.v1+json',
  'golden.json': 'application/vnd.edgeship.golden.v1+json',
  'reference-stats.json': 'application/vnd.edgeship.reference-stats.v1+json',
} as const;
