// `npm run bench [-- name-filter]`: runs every test/bench/*.bench.ts, prints each table and
// rewrites that benchmark's section of BENCHMARKS.md (other sections are kept as they are).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const benchFile = join(here, '..', '..', 'BENCHMARKS.md');

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 1000 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : a >= 0.1 ? n.toFixed(2) : n.toPrecision(3);
}

export function renderSection(r: BenchResult, when: string): string {
  const lines = [
    `<!-- bench:${r.name} -->`,
    `## ${r.name}`,
    '',
    `Peer: ${r.peer}. Machine: ${machine()}. Run: ${when}.`,
    '',
    '| metric | ours | peer | unit | ours vs peer |',
    '|---|---:|---:|---|---:|',
  ];
  for (const row of r.rows) {
    let ratio = '-';
    if (row.peer !== null && row.peer > 0 && row.ours > 0) {
      const x = row.higherIsBetter ? row.ours / row.peer : row.peer / row.ours;
      ratio = `${fmt(x)}x ${x >= 1 ? 'faster' : 'slower'}`;
    }
    lines.push(`| ${row.metric} | ${fmt(row.ours)} | ${row.peer === null ? '-' : fmt(row.peer)} | ${row.unit} | ${ratio} |`);
  }
  if (r.notes?.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  lines.push(`<!-- /bench:${r.name} -->`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
  if (files.length === 0) throw new Error(`no benchmark matches '${filter}'`);
  let doc: string;
  try {
    doc = await readFile(benchFile, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced when its benchmark reruns. Ratios compare ours with the named peer measured in the same run.\n';
  }
  for (const f of files) {
    process.stderr.write(`bench: ${f}\n`);
    const mod = (await import(join(here, f))) as { default: () => Promise<BenchResult> };
    const result = await mod.default();
    if (result.skipped !== undefined) {
      process.stdout.write(`${result.name}: not run (${result.skipped}); BENCHMARKS.md unchanged\n\n`);
      continue;
    }
    const section = renderSection(result, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
    process.stdout.write(`${section}\n\n`);
    const re = new RegExp(`<!-- bench:${result.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} -->[\\s\\S]*?<!-- /bench:[^>]*-->`);
    // Re-read just before writing: another benchmark run may have rewritten its own section since.
    doc = await readFile(benchFile, 'utf8').catch(() => doc);
    doc = re.test(doc) ? doc.replace(re, () => section) : `${doc.trimEnd()}\n\n${section}\n`;
    await writeFile(benchFile, doc);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: error: ${(err as Error).message}\n`);
  process.exit(1);
});
