/**
 * Text from outside (drift evidence, error replies, log tails, names in a report) shown in
 * markdown: rendered inert, so it cannot add links, images, HTML, headings or table cells.
 */

const SPECIAL = /[\\`*_{}[\]()<>#+!|~&:]/g;
const SPECIAL_CHARACTERS = new Set('\\`*_{}[]()<>#+!|~&:');

/** One line of plain text: markdown and HTML characters escaped, line breaks folded, length capped. */
export function inert(text: string, maxLength = 300): string {
  const line = text.replace(/[\r\n\t\u2028\u2029]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
  const capped = line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
  return capped.replace(SPECIAL, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * One line of text as inline code: nothing in it is markdown or HTML, and it needs no escaping,
 * so a reader (and a terminal) sees it as it is. The delimiter is longer than any run of backticks in it.
 */
export function codeSpan(text: string, maxLength = 300): string {
  const line = text.replace(/[\r\n\t\u2028\u2029]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
  const capped = line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
  const longest = Math.max(0, ...[...capped.matchAll(/`+/g)].map((match) => match[0].length));
  const tick = '`'.repeat(longest + 1);
  // A space on each side when the text starts or ends with a backtick (CommonMark strips one of each).
  const pad = capped.startsWith('`') || capped.endsWith('`') ? ' ' : '';
  return `${tick}${pad}${capped}${pad}${tick}`;
}

/**
 * Markdown written for GitHub, for a terminal: the character references inert() wrote become the
 * characters again (in one pass, so an escaped `&` stays what it was), since a terminal renders no
 * markdown; control characters were removed when the text was made inert.
 */
export const forTerminal = (markdown: string) =>
  markdown.replace(/&#(\d{1,3});/g, (reference, code: string) => {
    // Only the characters inert() escapes: a reference anything else wrote (a code span holds text
    // as it is) stays as written, so no control character reaches the terminal this way.
    const character = String.fromCharCode(Number(code));
    return SPECIAL_CHARACTERS.has(character) ? character : reference;
  });

/** A fenced block that no line of `text` can close: the fence is longer than any run of backticks in it. */
export function fenced(text: string, maxLength = 4000): string {
  const capped = text.length > maxLength ? `${text.slice(0, maxLength)}\n…` : text;
  const longest = Math.max(0, ...[...capped.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${capped}\n${fence}`;
}

/** Replaces every known secret in `text` with `***` before it is posted anywhere. */
export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  return secrets.reduce<string>(
    (masked, secret) => (secret && secret.length >= 4 ? masked.split(secret).join('***') : masked),
    text,
  );
}
