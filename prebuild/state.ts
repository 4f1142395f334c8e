// Stage bookkeeping for resumable runs. After a stage completes, a record of its input hash and
// the files it wrote (bytes, sha256) is saved; a later run skips the stage when the input hash is
// the same and every output is still there with the same size. Stages chain hashes: a stage's
// input hash includes the sha256s of the outputs it reads, so a change anywhere reruns exactly the
// stages downstream of it.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from '../src/core/data/manifest.ts';
import { writeFileAtomic } from './fsutil.ts';

export interface StageOutputs {
  /** Parquet tables written, by table name, shards in id order. */
  tables: Record<string, ManifestFile[]>;
  /** Model files written, by model id. */
  models: Record<string, ManifestFile[]>;
  /** Other files (stats.json). */
  files: Record<string, ManifestFile>;
  /** Small facts for later stages and the manifest (counts, layout bounds...). */
  facts: Record<string, unknown>;
}

export interface StageRecord {
  stage: string;
  inputHash: string;
  outputs: StageOutputs;
}

export function emptyOutputs(): StageOutputs {
  return { tables: {}, models: {}, files: {}, facts: {} };
}

export function outputFiles(o: StageOutputs): ManifestFile[] {
  return [...Object.values(o.tables).flat(), ...Object.values(o.models).flat(), ...Object.values(o.files)];
}

/** A short digest of a stage's outputs, for the input hash of the stages that read them. */
export function outputsDigest(o: StageOutputs): string {
  return outputFiles(o)
    .map((f) => `${f.path}:${f.sha256}`)
    .sort()
    .join(',');
}

export class StageState {
  constructor(
    private readonly stateDir: string,
    private readonly outDir: string,
  ) {}

  private recordPath(stage: string): string {
    return join(this.stateDir, `${stage}.json`);
  }

  /** The saved record when it is still valid for this input hash, else null. */
  async fresh(stage: string, inputHash: string): Promise<StageRecord | null> {
    let record: StageRecord;
    try {
      record = JSON.parse(await readFile(this.recordPath(stage), 'utf8')) as StageRecord;
    } catch {
      return null;
    }
    if (record.inputHash !== inputHash) return null;
    for (const f of outputFiles(record.outputs)) {
      try {
        if ((await stat(join(this.outDir, f.path))).size !== f.bytes) return null;
      } catch {
        return null;
      }
    }
    return record;
  }

  async save(record: StageRecord): Promise<void> {
    await writeFileAtomic(this.recordPath(record.stage), JSON.stringify(record, null, 1));
  }
}
