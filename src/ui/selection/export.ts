// Exports of a selection: CSV (RFC 4180 quoting) and Parquet (hyparquet-writer), built in the page
// from rows the data worker already holds; nothing is sent anywhere.
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface SelectedRow {
  id: number;
  qualname: string;
  name: string;
  repo: string;
  path: string;
  kind: string;
  n_lines: number;
}

const COLUMNS: (keyof SelectedRow)[] = ['id', 'qualname', 'name', 'repo', 'path', 'kind', 'n_lines'];

function csvField(v: string | number): string {
  const s = String(v);
  // Quote anything with a separator, quote or line break; a leading = + - @ is prefixed with ' so a
  // spreadsheet does not run it as a formula (names come from arbitrary code).
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function selectionCsv(rows: readonly SelectedRow[]): string {
  const lines = [COLUMNS.join(',')];
  for (const r of rows) lines.push(COLUMNS.map((c) => csvField(r[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function selectionParquet(rows: readonly SelectedRow[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'id', data: rows.map((r) => BigInt(r.id)), type: 'INT64' },
      { name: 'qualname', data: rows.map((r) => r.qualname), type: 'STRING' },
      { name: 'name', data: rows.map((r) => r.name), type: 'STRING' },
      { name: 'repo', data: rows.map((r) => r.repo), type: 'STRING' },
      { name: 'path', data: rows.map((r) => r.path), type: 'STRING' },
      { name: 'kind', data: rows.map((r) => r.kind), type: 'STRING' },
      { name: 'n_lines', data: rows.map((r) => r.n_lines), type: 'INT32' },
    ],
  });
}
