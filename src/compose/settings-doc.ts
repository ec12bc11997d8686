/** A settings page of docs/: a title, what to know first, and a row per variable of the schema with its description. */
export function settingsDoc(
  title: string,
  intro: string,
  schema: { shape: Record<string, { description?: string | undefined }> },
): string {
  const rows = Object.entries(schema.shape).map(
    ([name, variable]) => `| \`${name}\` | ${variable.description ?? ''} |`,
  );
  return [`# ${title}`, '', intro, '', '| variable | what it sets |', '|---|---|', ...rows, ''].join('\n');
}
