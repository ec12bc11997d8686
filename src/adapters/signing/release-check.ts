import { SIGNATURE_MEDIA_TYPE } from '../../core/artifact.ts';
import { provenanceProblems, provenanceStatementSchema, SLSA_PROVENANCE_V1 } from '../../core/build-provenance.ts';
import { checkWith } from '../../core/parse-json.ts';
import type { SignatureCheck } from '../../core/release-signature.ts';
import type { SigningTrust } from '../../core/signing-trust.ts';
import type { ArtifactStore } from '../../ports.ts';
import { attachedBundles, firstVerified } from './model-files.ts';
import { openBundle, SignatureError, verifyModel } from './oms-bundle.ts';

/**
 * Checks a release's artifact before the app writes it anywhere: one attached signature by a
 * trusted key or identity must cover exactly the files its manifest lists (no blob is downloaded:
 * a layer's digest is its file's sha256), and one attached build provenance by a trusted signer
 * must name the artifact and the commit the release is of. Registry failures throw; a refusal is returned.
 */
export async function checkReleaseSignature(
  store: ArtifactStore,
  artifact: { reference: string; digest: string },
  commit: string | undefined,
  trust: SigningTrust,
): Promise<SignatureCheck> {
  const { reference, digest } = artifact;
  const [files, attached] = await Promise.all([
    store.listFiles(reference),
    store.attached(reference, SIGNATURE_MEDIA_TYPE),
  ]);
  try {
    const signatures = attachedBundles(reference, attached);
    if (signatures.length === 0)
      throw new SignatureError(`no signature is attached to ${reference}; publish it with EDGESHIP_SIGNING_KEY set`);
    const model = firstVerified(signatures, 'signatures', (bundle) =>
      verifyModel(bundle.text, files, trust, bundle.where),
    );
    const attestations = attachedBundles(reference, attached, SLSA_PROVENANCE_V1);
    if (attestations.length === 0)
      throw new SignatureError(
        `no build provenance is attached to ${reference}; publish it with EDGESHIP_SIGNING_KEY set`,
      );
    const facts = firstVerified(attestations, 'attestations', (bundle) => {
      const { payload, fail } = openBundle(bundle.text, trust, bundle.where);
      const statement = checkWith(provenanceStatementSchema, payload, (issues) =>
        fail(issues.map((issue) => `provenance ${issue}`)),
      );
      const { problems, facts: found } = provenanceProblems(statement, digest, commit);
      if (problems.length > 0) throw fail(problems);
      return found;
    });
    return { verified: true, signature: { ...model.signer, ...facts } };
  } catch (error) {
    if (error instanceof SignatureError) return { verified: false, reason: error.message };
    throw error;
  }
}
