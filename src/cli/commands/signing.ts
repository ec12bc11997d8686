import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { Command } from 'commander';
import { SIGNATURE_FILE, SIGNATURE_MEDIA_TYPE } from '../../core/artifact.ts';
import { messageOf, UsageError } from '../../core/errors.ts';
import { describeSigner } from '../../core/signing-trust.ts';
import type { AttachedBlob } from '../../ports.ts';
import { modules } from '../lazy.ts';

/** A key file's PEM, checked to be the kind of key asked for; else a usage error naming the file. */
async function keyPem(path: string, kind: 'private' | 'public'): Promise<string> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new UsageError(`--key: cannot read ${path} (${error.message})`);
  });
  try {
    if (kind === 'private') createPrivateKey(text);
    else createPublicKey(text);
  } catch (error) {
    throw new UsageError(`--key: expected a ${kind} key in PEM in ${path}, found ${messageOf(error)}`);
  }
  return text;
}

/** Where a model's bundle goes by default: model.sig inside a directory, beside a single file. */
const defaultSignature = async (path: string) =>
  (await stat(path)).isDirectory() ? join(path, SIGNATURE_FILE) : join(dirname(path), SIGNATURE_FILE);

const isReference = (text: string) => /@sha256:[a-f0-9]{64}$/.test(text) || text.startsWith('oci-layout:');

/**
 * An artifact pulled into a directory of its own, with the operator's registry credentials, and
 * the signatures attached to it.
 */
async function pullArtifact(
  reference: string,
): Promise<{ directory: string; signatures: AttachedBlob[]; remove: () => Promise<void> }> {
  const [{ artifactStoreForReference, credentialsFromEnv }, { runEnvironment }] = await Promise.all([
    import('../../adapters/oci/index.ts'),
    import('../../compose/run-settings.ts'),
  ]);
  const scratch = await mkdtemp(join(tmpdir(), 'edgeship-verify-'));
  const credentials = credentialsFromEnv(runEnvironment());
  const directory = join(scratch, 'artifact');
  const remove = () => rm(scratch, { recursive: true, force: true });
  try {
    const store = artifactStoreForReference(reference, credentials ? { credentials } : {});
    await store.pull(reference, directory);
    return { directory, signatures: await store.attached(reference, SIGNATURE_MEDIA_TYPE), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * `edgeship sign` and `edgeship verify`: OpenSSF model signing v1.0 (a Sigstore bundle of an
 * in-toto statement listing every file with its sha256) with an operator's key, for a model file
 * or a directory of training outputs. `verify` exits 1 when the signature is missing, invalid, by
 * a key not given, or of other files.
 */
export function registerSigningCommands(program: Command): void {
  program
    .command('sign')
    .description('Sign a model (a file, or a directory of outputs) in the OpenSSF model signing v1.0 format')
    .argument('<path>', 'the model file or directory')
    .requiredOption('--key <file>', 'the private key, PEM (EC P-256, P-384 or P-521, or Ed25519)')
    .option(
      '--signature <file>',
      `where the bundle goes (default: ${SIGNATURE_FILE} in the directory, or beside the file)`,
    )
    .action(async (path: string, options: { key: string; signature?: string }) => {
      const { signModel, modelFiles, DEFAULT_IGNORED } = await modules(
        import('../../adapters/signing/oms-bundle.ts'),
        import('../../adapters/signing/model-files.ts'),
      );
      const model = resolve(path);
      const signature = resolve(options.signature ?? (await defaultSignature(model)));
      const ignored = [...DEFAULT_IGNORED, basename(signature)];
      const files = await modelFiles(model, ignored);
      const bundle = await signModel(basename(model), files, await keyPem(options.key, 'private'), ignored);
      await writeFile(signature, `${JSON.stringify(bundle, null, 2)}\n`);
      process.stdout.write(
        `✔ signed ${files.length} file${files.length === 1 ? '' : 's'} of ${basename(model)} with key ${bundle.verificationMaterial?.publicKey?.hint ?? ''}\nwrote ${signature}\n`,
      );
    });

  program
    .command('verify')
    .description(
      'Verify a model against its OpenSSF model signing v1.0 bundle and the keys or keyless identities you trust',
    )
    .argument('<path>', 'the model file or directory, or an artifact reference pinned by digest (pulled and checked)')
    .option('--key <file...>', 'a trusted public key, PEM (give several to trust several)')
    .option(
      '--identity <issuer=subject...>',
      'a trusted keyless signer: the OIDC issuer and the subject its Fulcio certificate names',
    )
    .option(
      '--trusted-root <file>',
      "the Sigstore trusted_root.json for keyless signatures (default: the public-good instance's)",
    )
    .option('--signature <file>', `the bundle (default: ${SIGNATURE_FILE} in the directory, or beside the file)`)
    .action(
      async (
        path: string,
        options: { key?: string[]; identity?: string[]; trustedRoot?: string; signature?: string },
      ) => {
        const { verifyModelAt, bundleFile, attachedBundles, SignatureError } = await modules(
          import('../../adapters/signing/oms-bundle.ts'),
          import('../../adapters/signing/model-files.ts'),
        );
        const { signingTrustOf } = await import('../../serve/options.ts');
        if (!options.key && !options.identity)
          throw new UsageError(
            'verify: expected --key <public key file> or --identity <issuer=subject>, found neither',
          );
        const keys = await Promise.all((options.key ?? []).map((file) => keyPem(file, 'public')));
        const trust = await signingTrustOf(
          { identities: options.identity, trustedRoot: options.trustedRoot },
          '--identity',
        );
        const trusted = {
          keys,
          identities: trust?.identities ?? [],
          ...(trust?.trustedRoot && { trustedRoot: trust.trustedRoot }),
        };
        // An artifact is pulled (every blob checked against its digest) and its files checked against the signatures attached to it.
        const pulled = isReference(path) ? await pullArtifact(path) : undefined;
        const model = pulled?.directory ?? resolve(path);
        const signature = options.signature ? resolve(options.signature) : undefined;
        try {
          const bundles =
            pulled && !signature
              ? attachedBundles(path, pulled.signatures)
              : await bundleFile(signature ?? (await defaultSignature(model)));
          const missing = pulled
            ? `no signature is attached to ${path} (publish with EDGESHIP_SIGNING_KEY set)`
            : `${signature ?? (await defaultSignature(model))}: no signature (sign the model with edgeship sign)`;
          const verified = await verifyModelAt(model, bundles, trusted, missing, basename(signature ?? SIGNATURE_FILE));
          const { files } = verified;
          process.stdout.write(
            `✔ ${model}: ${files} file${files === 1 ? '' : 's'} as signed by ${describeSigner(verified.signer)}\n`,
          );
        } catch (error) {
          if (!(error instanceof SignatureError)) throw error;
          process.stdout.write(`✖ ${error.message}\n`);
          process.exitCode = 1;
        } finally {
          await pulled?.remove();
        }
      },
    );
}
