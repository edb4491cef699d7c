/**
 * Report output shared by the suites: tables rendered for the terminal and as markdown,
 * the machine a run was measured on, and the generated sections of docs/benchmarks.md.
 * Each suite owns one section between `<!-- bench:NAME:start -->` and
 * `<!-- bench:NAME:end -->`, so suites added later regenerate their own numbers without
 * touching the others or the hand-written text around them.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface ReportTable {
  title: string;
  columns: string[];
  rows: string[][];
  /** Sentences printed under the table: definitions, caveats. */
  notes?: string[];
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

const GIB = 1024 ** 3;

export function machineInfo(now = new Date()): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / GIB),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: now.toISOString(),
  };
}

export function machineLine(machine: MachineInfo): string {
  return (
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, ` +
    `Node ${machine.node} (${machine.platform}), run ${machine.date}`
  );
}

/** Right-aligns every column but the first, for numbers read down a column. */
export function renderText(table: ReportTable): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out = [table.title, line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)];
  for (const note of table.notes ?? []) out.push(`  ${note}`);
  return out.join('\n');
}

export function renderMarkdown(table: ReportTable): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|');
  const out = [
    `#### ${table.title}`,
    '',
    `| ${table.columns.map(escapeCell).join(' | ')} |`,
    `| ${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  if (table.notes && table.notes.length > 0) out.push('', ...table.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

function markers(name: string): { start: string; end: string } {
  return { start: `<!-- bench:${name}:start -->`, end: `<!-- bench:${name}:end -->` };
}

/**
 * Replaces the generated section `name` of the markdown file at `path` with `body`;
 * appends the section if the file lacks it (or, with `first`, puts it before the other
 * generated sections), after `heading` outside the markers when given, and creates the
 * file with `header` first if it does not exist.
 */
export async function writeSection(
  path: string,
  name: string,
  body: string,
  header: string,
  options: { first?: boolean; heading?: string } = {},
): Promise<void> {
  const { start, end } = markers(name);
  const section = `${start}\n${body.trim()}\n${end}`;
  const added = options.heading ? `${options.heading}\n\n${section}` : section;
  const current = existsSync(path) ? await readFile(path, 'utf8') : `${header.trim()}\n`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  let next: string;
  if (from >= 0 && to > from) {
    next = current.slice(0, from) + section + current.slice(to + end.length);
  } else if (from >= 0 || to >= 0) {
    throw new Error(`${path} has only one of the markers ${start} and ${end}; fix the file by hand`);
  } else {
    const firstSection = options.first ? current.indexOf('<!-- bench:') : -1;
    next =
      firstSection >= 0
        ? `${current.slice(0, firstSection)}${added}\n\n${current.slice(firstSection)}`
        : `${current.trimEnd()}\n\n${added}\n`;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, next);
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
