// Markdown table rendering for report bodies and the CLI. Cells are escaped
// so a file name with '|' or a newline cannot break the table.

export function escapeCell(value: unknown): string {
  return String(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
    .replace(/`/g, "'");
}

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[]
): string {
  const head = `| ${headers.map(escapeCell).join(' | ')} |`;
  const sep = `| ${headers.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}
