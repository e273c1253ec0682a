/** Terminal styling: colour only when writing to a TTY and NO_COLOR is unset. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

const COLOUR: Style = {
  bold: wrap(1, 22),
  dim: wrap(2, 22),
  red: wrap(31, 39),
  yellow: wrap(33, 39),
  green: wrap(32, 39),
  cyan: wrap(36, 39),
  magenta: wrap(35, 39),
};

const id = (s: string) => s;
export const PLAIN: Style = { bold: id, dim: id, red: id, yellow: id, green: id, cyan: id, magenta: id };

export function styleFor(stream: NodeJS.WriteStream = process.stdout): Style {
  if (process.env.NO_COLOR !== undefined || process.env.FORCE_COLOR === '0') return PLAIN;
  if (process.env.FORCE_COLOR) return COLOUR;
  return stream.isTTY ? COLOUR : PLAIN;
}

/** Left-aligned text table (no box drawing, so it pastes cleanly into tickets). */
export function table(rows: string[][], opts: { header?: boolean; indent?: string } = {}): string {
  if (rows.length === 0) return '';
  const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(c))));
  const indent = opts.indent ?? '';
  const lines = rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - visible(c)))).join('  ').trimEnd());
  if (opts.header) lines.splice(1, 0, indent + widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}
