// `prebuild --merge SLICE...`: reads the slices that `prebuild --shard i/n` wrote (shard.ts) and hands
// their extraction parts to the normal pipeline, which then runs only the global stages. Everything a
// slice claims is checked first, so a missing, duplicated, unfinished or mismatched slice fails with
// one line that names it instead of producing a data set with holes.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RepoPart } from './stages/extract.ts';
import { EXTRACT_VERSION } from './stages/extract.ts';
import { GENERATOR } from './stages/manifest.ts';
import { SLICE_FORMAT, SLICE_VERSION, type SliceManifest } from './shard.ts';

export interface MergedSlices {
  /** The sources every slice was built from (the manifest names these, as a single build would). */
  sources: string[];
  count: number;
  /** Every slice's parts, in repository name order (what runExtract returns for a single build). */
  parts: RepoPart[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The slice folders named by `args`: each argument is a slice folder (holding slice.json), a folder
 * of slice folders (e.g. a shared volume every job wrote into), or a comma-separated list of those.
 */
export async function sliceDirs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args.flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean)) {
    const dir = resolve(arg);
    if (await isFile(join(dir, 'slice.json'))) {
      out.push(dir);
      continue;
    }
    let entries: string[];
    try {
      entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch {
      throw new Error(`--merge ${arg}: no such folder`);
    }
    const found: string[] = [];
    for (const e of entries) if (await isFile(join(dir, e, 'slice.json'))) found.push(join(dir, e));
    if (found.length === 0) throw new Error(`--merge ${arg}: neither a slice (no slice.json: unfinished or not made by --shard) nor a folder of slices`);
    out.push(...found);
  }
  if (out.length === 0) throw new Error('--merge needs at least one slice folder');
  return out;
}

function checkSlice(json: unknown, where: string): SliceManifest {
  if (!isRecord(json) || json.format !== SLICE_FORMAT) throw new Error(`${where} is not a Code Atlas slice manifest`);
  if (json.version !== SLICE_VERSION) throw new Error(`${where} has slice format version ${String(json.version)}, this prebuild reads ${SLICE_VERSION}: rebuild the slices`);
  if (json.generator !== GENERATOR || json.extract_version !== EXTRACT_VERSION)
    throw new Error(`${where} was made by ${String(json.generator)} (extract v${String(json.extract_version)}), this is ${GENERATOR} (extract v${EXTRACT_VERSION}): build every slice and the merge with the same version`);
  const shard = json.shard;
  if (!isRecord(shard) || !Number.isInteger(shard.index) || !Number.isInteger(shard.count) || (shard.index as number) < 0 || (shard.index as number) >= (shard.count as number))
    throw new Error(`${where} has a malformed shard`);
  if (!Array.isArray(json.sources) || !json.sources.every((s) => typeof s === 'string')) throw new Error(`${where} has malformed sources`);
  if (!Array.isArray(json.parts)) throw new Error(`${where} has no parts list`);
  for (const [i, p] of json.parts.entries()) {
    if (!isRecord(p) || typeof p.name !== 'string' || typeof p.dir !== 'string' || typeof p.key !== 'string' || !/^parts\/[A-Za-z0-9._-]*-[0-9a-f]{20}$/.test(p.dir))
      throw new Error(`${where}: parts[${i}] is malformed`);
    for (const k of ['files', 'functions', 'skipped', 'bytes'])
      if (!Number.isInteger(p[k]) || (p[k] as number) < 0) throw new Error(`${where}: parts[${i}].${k} is not a count`);
  }
  if (!Number.isInteger(json.repos_total) || typeof json.repos_digest !== 'string') throw new Error(`${where} lacks repos_total or repos_digest`);
  return json as unknown as SliceManifest;
}

/** Reads and cross-checks the slices; returns their union in the form the pipeline's tables stage reads. */
export async function readSlices(args: string[]): Promise<MergedSlices> {
  const dirs = await sliceDirs(args);
  const slices: { dir: string; slice: SliceManifest }[] = [];
  for (const dir of dirs) {
    const where = join(dir, 'slice.json');
    let json: unknown;
    try {
      json = JSON.parse(await readFile(where, 'utf8'));
    } catch (e) {
      throw new Error(`${where} is not readable JSON: ${(e as Error).message.split('\n')[0]}`);
    }
    slices.push({ dir, slice: checkSlice(json, where) });
  }
  const first = slices[0]!.slice;
  const count = first.shard.count;
  const byIndex = new Map<number, string>();
  for (const { dir, slice } of slices) {
    if (slice.shard.count !== count) throw new Error(`slices disagree on n: ${slices[0]!.dir} is of ${count}, ${dir} of ${slice.shard.count}`);
    if (JSON.stringify(slice.sources) !== JSON.stringify(first.sources))
      throw new Error(`slices disagree on the sources: ${slices[0]!.dir} has ${JSON.stringify(first.sources)}, ${dir} has ${JSON.stringify(slice.sources)}`);
    if (slice.max_file_bytes !== first.max_file_bytes) throw new Error(`slices disagree on --max-file-bytes (${first.max_file_bytes} vs ${slice.max_file_bytes} in ${dir})`);
    if (slice.repos_total !== first.repos_total || slice.repos_digest !== first.repos_digest)
      throw new Error(`slices resolved different repository lists (${slices[0]!.dir}: ${first.repos_total}, ${dir}: ${slice.repos_total}): the sources changed between jobs; rebuild every slice`);
    const other = byIndex.get(slice.shard.index);
    if (other) throw new Error(`slice ${slice.shard.index}/${count} is given twice: ${other} and ${dir}`);
    byIndex.set(slice.shard.index, dir);
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) {
    const list = missing.slice(0, 10).map((i) => `${i}/${count}`).join(', ');
    throw new Error(`missing slice(s) ${list}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}: every slice 0..${count - 1} must be merged`);
  }
  const parts: RepoPart[] = [];
  const names = new Map<string, string>();
  for (const { dir, slice } of slices) {
    for (const p of slice.parts) {
      const at = names.get(p.name);
      if (at) throw new Error(`repository '${p.name}' is in two slices: ${at} and ${dir}`);
      names.set(p.name, dir);
      const partDir = join(dir, p.dir);
      let summary: unknown;
      try {
        summary = JSON.parse(await readFile(join(partDir, 'repo.json'), 'utf8'));
      } catch {
        throw new Error(`${partDir}: part of '${p.name}' is missing or unfinished (no repo.json)`);
      }
      if (!isRecord(summary) || summary.key !== p.key || summary.name !== p.name || summary.functions !== p.functions)
        throw new Error(`${partDir}: repo.json does not match ${join(dir, 'slice.json')} (the slice was changed after it was written)`);
      for (const f of ['functions.jsonl', 'skipped.jsonl'])
        if (!(await isFile(join(partDir, f)))) throw new Error(`${partDir}: ${f} is missing`);
      parts.push({ name: p.name, dir: partDir, key: p.key, files: p.files, functions: p.functions, skipped: p.skipped, bytes: p.bytes });
    }
  }
  if (parts.length !== first.repos_total)
    throw new Error(`the slices hold ${parts.length} repositories, the sources resolved to ${first.repos_total}: a slice is incomplete`);
  parts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { sources: first.sources, count, parts };
}
