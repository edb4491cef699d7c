/** How commands print: a table for people, one JSON line with `--json` for scripts. */
import type { GlobalOptions } from './options.js';

/** Writes `json` as one line with `--json`, else what `human` makes. */
export function print(g: GlobalOptions, json: unknown, human: () => string): void {
  process.stdout.write(g.json ? `${JSON.stringify(json)}\n` : `${human()}\n`);
}

/** Rows in aligned columns under their headings; null cells as `-`. */
export function table(columns: string[], rows: (string | number | null)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** An epoch-ms time as an ISO date (null when there is none). */
export function when(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
