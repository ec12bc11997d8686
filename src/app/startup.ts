/**
 * What `npm start` needs before it listens: the webhook secret and the app's private key. Probot
 * would fall back to a public default secret; edgeship refuses to start instead.
 */
export function missingStartupSettings(env: NodeJS.ProcessEnv): string[] {
  const missing: string[] = [];
  if (!env.APP_ID) missing.push('APP_ID (the GitHub App\'s id)');
  if (!env.WEBHOOK_SECRET) missing.push('WEBHOOK_SECRET (the secret set on the GitHub App\'s webhook; without it anyone could send events)');
  if (!env.PRIVATE_KEY && !env.PRIVATE_KEY_PATH) missing.push('PRIVATE_KEY or PRIVATE_KEY_PATH (the GitHub App\'s private key)');
  return missing;
}
