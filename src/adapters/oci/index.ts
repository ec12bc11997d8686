import type { ArtifactStore } from '../../ports.ts';
import { LayoutStore } from './layout-store.ts';
import { allowRegistry, PolicyError, realmAllowed, type OperatorPolicy } from '../../core/policy.ts';
import { LAYOUT_PREFIX, parseReference } from './reference.ts';
import { RegistryStore } from './registry-store.ts';
import type { RegistryClientOptions } from './registry-client.ts';

/** The store for `artifacts.repository`: `oci-layout:<dir>` or `registry[/namespace]`. */
export function artifactStoreFor(
  location: string,
  options: RegistryClientOptions = {},
  baseDirectory = process.cwd(),
): ArtifactStore {
  if (location.startsWith(LAYOUT_PREFIX)) {
    const directory = location.slice(LAYOUT_PREFIX.length);
    return new LayoutStore(directory.startsWith('/') ? directory : `${baseDirectory}/${directory}`);
  }
  return new RegistryStore(location, options);
}

/** The store that can pull `reference`. */
export function artifactStoreForReference(reference: string, options: RegistryClientOptions = {}): ArtifactStore {
  if (reference.startsWith(LAYOUT_PREFIX)) return new LayoutStore('/');
  const registry = reference.slice(0, reference.indexOf('/'));
  return new RegistryStore(registry, options);
}

/** Registry credentials from EDGESHIP_REGISTRY_USERNAME / EDGESHIP_REGISTRY_PASSWORD, if set. */
export function credentialsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): RegistryClientOptions['credentials'] {
  const password = env.EDGESHIP_REGISTRY_PASSWORD;
  return password ? { username: env.EDGESHIP_REGISTRY_USERNAME ?? 'edgeship', password } : undefined;
}

/**
 * The store the app reads `reference` from: only a registry the operator policy lists, with the
 * operator's credentials and the token services the policy names for it. A local layout is
 * refused: a path from a model or GitOps repo never reaches the app's file system.
 */
export function policyStoreForReference(
  reference: string,
  policy: OperatorPolicy,
  setting: string,
  options: RegistryClientOptions = {},
): ArtifactStore {
  const parsed = parseReference(reference);
  if (parsed.kind !== 'registry')
    throw new PolicyError(
      setting,
      reference,
      'registries[].host (the app reads artifacts from registries, not local layouts)',
    );
  allowRegistry(policy, parsed.registry, setting);
  return new RegistryStore(parsed.registry, {
    ...options,
    allowRealm: (realm) => realmAllowed(policy, parsed.registry, realm),
  });
}
