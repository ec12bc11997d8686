import { createHash } from 'node:crypto';

/**
 * The app deploys only releases it evaluated itself. When it writes a release branch it records
 * the digest of the release proposal it wrote in the external id of its own `edgeship/gates`
 * check run on that head; a merge deploys only when the PR head carries that check run (made by
 * this app, not by a workflow token), the proposal at the merge has that digest, and the PR merged
 * into the branch the release was trained from.
 */

/** `release:sha256:<hex>` of the release proposal's bytes. */
export const proposalDigest = (proposalText: string) =>
  `release:sha256:${createHash('sha256').update(proposalText).digest('hex')}`;

export interface MergeFacts {
  /** The PR's head commit. */
  headSha: string;
  /** External id of this app's `edgeship/gates` check run on the head, if there is one. */
  gatesExternalId: string | null | undefined;
  /** The release proposal at the merge commit. */
  proposalText: string;
}

/** Why a merged release must not deploy, or undefined when it is the app's own, unchanged. */
export function refuseMerge(facts: MergeFacts): string | undefined {
  if (!facts.gatesExternalId)
    return `the PR head ${facts.headSha.slice(0, 7)} is not a release commit edgeship wrote (it has no edgeship/gates check run of this app)`;
  if (facts.gatesExternalId !== proposalDigest(facts.proposalText))
    return 'the release proposal at the merge is not the one edgeship evaluated and recorded for this head';
  return undefined;
}
