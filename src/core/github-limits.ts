/**
 * What GitHub accepts, as its REST documentation and its 422 answers state them. Lengths are in
 * characters; a JavaScript string's length counts UTF-16 units, never fewer, so a text within
 * these by `length` is within GitHub's too.
 */
export const GITHUB_LIMITS = {
  /** Issue, pull request and comment bodies ("body is too long (maximum is 65536 characters)"). */
  body: 65_536,
  /** A check run's output summary and text. */
  checkOutput: 65_535,
  /** Issue and pull request titles. */
  title: 255,
  /** A deployment's and a deployment status's description. */
  deploymentDescription: 140,
} as const;

/**
 * `text` cut to `limit` characters when it is longer, with a last line that says so; a cut never
 * splits a character made of two UTF-16 units. Writers keep their texts well inside the limits
 * (a fleet is written as counts); this is the guard that a request is never refused for size.
 */
export function fitWithin(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const note = limit >= 200 ? `\n\n… cut here: GitHub takes at most ${limit} characters.` : '…';
  let end = Math.max(0, limit - note.length);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}${note}`;
}
