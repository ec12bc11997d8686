import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as core from '@actions/core';
import { loadConfig } from '../adapters/fs/config-file.ts';
import { CONFIG_PATH } from '../core/config.ts';
import { artifactStoreFor } from '../adapters/oci/index.ts';
import { parseReference } from '../adapters/oci/reference.ts';
import { collectOutputs } from '../adapters/training/local-process.ts';
import { signerFromEnvironment } from '../compose/signer.ts';
import { ArtifactError } from '../core/errors.ts';
import { publish, type ImageSettings } from '../services/publish.ts';
import { readReportFile, writeReportFile } from '../services/report-file.ts';
import { blame, input, InputError, registryInputOf, requiredInput, runStep } from './action-io.ts';
import { runEnvironment } from '../compose/run-settings.ts';

/** The model repo's artifacts settings: the registry (unless a local OCI layout) and the images to push. */
async function configuredArtifacts(repo: string): Promise<{ registry?: string; images: ImageSettings }> {
  if (!existsSync(join(repo, CONFIG_PATH))) return { images: {} };
  const { artifacts } = await blame('repo', () => loadConfig(repo));
  return {
    ...(!artifacts.repository.startsWith('oci-layout:') && { registry: artifacts.repository }),
    images: { modelcar: artifacts.modelcar, image: artifacts.image },
  };
}

/** GHCR of the repository's owner, the default on GitHub. */
function ghcr(): string {
  const owner = runEnvironment().GITHUB_REPOSITORY_OWNER;
  if (!owner)
    throw new InputError(
      'registry',
      'expected registry[/namespace], artifacts.repository in .github/edgeship.yml, or GITHUB_REPOSITORY_OWNER for GHCR; found none',
    );
  return `ghcr.io/${owner}`;
}

/**
 * The `publish` step: pushes the evaluated model as an OCI artifact (GHCR by default, with the
 * job's token) and records its pinned reference in report.json. The manifest goes last, and
 * report.json changes only after it landed, so a failed push leaves nothing that refers to it.
 */
await runStep('publish', async () => {
  const reportPath = resolve(requiredInput('report'));
  const report = await blame('report', () => readReportFile(reportPath));
  const configured = await configuredArtifacts(input('repo', '.'));
  const location = (input('registry') || configured.registry || ghcr()).toLowerCase(); // GHCR names are lowercase; owners may not be
  if (!location.startsWith('oci-layout:')) {
    try {
      parseReference(`${location}/${report.model}`);
    } catch (error) {
      throw new InputError('registry', (error as Error).message, { cause: error });
    }
  }
  const token = input('token');
  const store = artifactStoreFor(
    location,
    token ? { credentials: { username: input('username', 'edgeship'), password: token } } : {},
  );
  const outputs = await blame('report', () => collectOutputs(dirname(reportPath)));
  const signer = signerFromEnvironment(runEnvironment());
  const pushed = await publish(store, outputs, report, configured.images, signer).catch((error: unknown) => {
    if (error instanceof ArtifactError)
      throw new InputError(registryInputOf(error.message), error.message, { cause: error });
    throw error;
  });
  report.artifact = pushed;
  await writeReportFile(reportPath, report);
  core.setOutput('digest', pushed.digest);
  core.setOutput('reference', pushed.reference);
  await core.summary
    .addRaw(`Published **${report.model} ${report.version.version}** as \`${pushed.reference}\`\n`)
    .write();
});
