import { KubeConfig } from '@kubernetes/client-node';
import { messageOf, UsageError } from '../../core/errors.ts';

export interface KubeconfigSource {
  /** A kubeconfig file; without it, the pod's service account. */
  file?: string;
  context?: string;
  /** How the caller names the two settings in errors, e.g. `--kubeconfig` or an env var. */
  names: { file: string; context: string };
}

/** Loads a kubeconfig; errors name the setting that is wrong, what was expected and found. */
export function loadKubeconfig(source: KubeconfigSource): KubeConfig {
  const kubeconfig = new KubeConfig();
  try {
    if (source.file) kubeconfig.loadFromFile(source.file);
    else kubeconfig.loadFromCluster();
  } catch (error) {
    const where = source.file ? `${source.names.file}=${source.file}` : 'the in-cluster service account';
    throw new UsageError(`${where}: expected a readable kubeconfig, found: ${messageOf(error).split('\n')[0]}`, {
      cause: error,
    });
  }
  if (source.context) {
    if (!kubeconfig.getContextObject(source.context)) {
      const contexts = kubeconfig
        .getContexts()
        .map((entry) => entry.name)
        .join(', ');
      throw new UsageError(
        `${source.names.context}: expected a context of ${source.file ?? 'the kubeconfig'} (${contexts}), found "${source.context}"`,
      );
    }
    kubeconfig.setCurrentContext(source.context);
  }
  return kubeconfig;
}
