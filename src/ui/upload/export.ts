// The upload's report and functions as files, made in the page from what IndexedDB holds: JSON (the
// report, skipped entries, clones, timings and every function with its placement) and Parquet (one
// row per function, hyparquet-writer). Nothing is sent anywhere: the page offers a blob: download.
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { StoredUpload } from './upload-store.ts';

function placementOf(u: StoredUpload) {
  return u.placements[0] ?? null;
}

/** Corpus clone ids and similarities per function index. */
function corpusByIndex(u: StoredUpload): Map<number, { id: number; similarity: number }[]> {
  const m = new Map<number, { id: number; similarity: number }[]>();
  const c = u.corpus;
  if (!c) return m;
  for (let e = 0; e < c.index.length; e++) {
    const i = c.index[e]!;
    let list = m.get(i);
    if (!list) m.set(i, (list = []));
    list.push({ id: c.corpusId[e]!, similarity: Math.round(c.similarity[e]! * 1000) / 1000 });
  }
  return m;
}

export function uploadJson(u: StoredUpload): string {
  const p = placementOf(u);
  const corpus = corpusByIndex(u);
  const functions = u.functions.map((f, i) => ({
    index: i,
    path: f.path,
    qualname: f.qualname,
    name: f.name,
    kind: f.kind,
    lang: f.lang,
    is_async: f.is_async,
    start_line: f.start_line,
    end_line: f.end_line,
    n_lines: f.n_lines,
    n_chars: f.n_chars,
    args: f.args,
    docstyle: f.docstyle,
    docstring: f.docstring,
    summary: u.summaries.byIndex[i] ?? null,
    content_hash: f.content_hash,
    position: p ? Array.from(p.positions.subarray(i * p.dims, (i + 1) * p.dims)) : null,
    cluster: p ? p.clusters[i]! : null,
    group_inside: u.inside.group[i]! >= 0 ? u.inside.group[i]! : null,
    corpus_clones: corpus.get(i) ?? [],
    body: f.body,
  }));
  return JSON.stringify(
    {
      id: u.id,
      name: u.name,
      bytes: u.bytes,
      created_at: u.createdAt,
      format: u.format,
      entries: u.totalEntries,
      embedding: u.embedding ? { model: u.embedding.model, dim: u.embedding.dim } : null,
      layout: p ? { name: p.layout, method: p.method, dims: p.dims } : null,
      report: u.report,
      skipped: u.skipped,
      warnings: u.warnings,
      file_errors: u.fileErrors,
      summaries_note: u.summaries.note,
      corpus_note: u.corpusNote,
      timings: u.timings,
      functions,
    },
    null,
    2,
  );
}

export function uploadParquet(u: StoredUpload): ArrayBuffer {
  const p = placementOf(u);
  const fs = u.functions;
  const corpus = corpusByIndex(u);
  const coord = (j: number) => fs.map((_, i) => (p && j < p.dims ? p.positions[i * p.dims + j]! : null));
  return parquetWriteBuffer({
    columnData: [
      { name: 'index', data: fs.map((_, i) => i), type: 'INT32' },
      { name: 'path', data: fs.map((f) => f.path), type: 'STRING' },
      { name: 'qualname', data: fs.map((f) => f.qualname), type: 'STRING' },
      { name: 'name', data: fs.map((f) => f.name), type: 'STRING' },
      { name: 'kind', data: fs.map((f) => f.kind), type: 'STRING' },
      { name: 'lang', data: fs.map((f) => f.lang), type: 'STRING' },
      { name: 'start_line', data: fs.map((f) => f.start_line), type: 'INT32' },
      { name: 'end_line', data: fs.map((f) => f.end_line), type: 'INT32' },
      { name: 'n_lines', data: fs.map((f) => f.n_lines), type: 'INT32' },
      { name: 'n_chars', data: fs.map((f) => f.n_chars), type: 'INT32' },
      { name: 'docstyle', data: fs.map((f) => f.docstyle), type: 'STRING' },
      { name: 'docstring', data: fs.map((f) => f.docstring), type: 'STRING' },
      { name: 'summary', data: fs.map((_, i) => u.summaries.byIndex[i] ?? null), type: 'STRING' },
      { name: 'x', data: coord(0), type: 'FLOAT' },
      { name: 'y', data: coord(1), type: 'FLOAT' },
      { name: 'z', data: coord(2), type: 'FLOAT' },
      { name: 'cluster', data: fs.map((_, i) => (p && p.clusters[i]! >= 0 ? p.clusters[i]! : null)), type: 'INT32' },
      { name: 'group_inside', data: fs.map((_, i) => (u.inside.group[i]! >= 0 ? u.inside.group[i]! : null)), type: 'INT32' },
      { name: 'corpus_clones', data: fs.map((_, i) => (corpus.get(i) ?? []).length), type: 'INT32' },
      { name: 'body', data: fs.map((f) => f.body), type: 'STRING' },
    ],
  });
}

/** Offers `data` as a download named `name` (a blob: URL, revoked after the click). */
export function download(data: BlobPart, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
