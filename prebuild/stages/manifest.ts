// Last stage: manifest.json names every file of the data set with bytes and sha256. It contains
// nothing that changes between runs on the same inputs (no timestamps, no absolute paths), so a
// rerun, or a run resumed after a crash, writes a byte-identical manifest.
import { join } from 'node:path';
import { SCHEMA_VERSION } from '../../src/core/data/schema.ts';
import type { EmbeddingInfo, LayoutInfo, Manifest } from '../../src/core/data/manifest.ts';
import { validateManifest } from '../../src/core/data/manifest.ts';
import { writeFileAtomic } from '../fsutil.ts';
import type { StageOutputs } from '../state.ts';

export const GENERATOR = 'code-atlas prebuild 0.1';

export interface ManifestInputs {
  sources: string[];
  stages: StageOutputs[];
  embeddings: EmbeddingInfo[];
  layouts: LayoutInfo[];
  defaultLayout: string | null;
}

export async function writeManifest(outDir: string, inputs: ManifestInputs): Promise<Manifest> {
  const tables: Manifest['tables'] = {};
  const models: Manifest['models'] = {};
  let stats: Manifest['stats'] = null;
  const facts: Record<string, unknown> = {};
  for (const s of inputs.stages) {
    Object.assign(tables, s.tables);
    Object.assign(models, s.models);
    if (s.files.stats) stats = s.files.stats;
    Object.assign(facts, s.facts);
  }
  const count = (k: string): number => Number(facts[k] ?? 0);
  const manifest: Manifest = {
    schema_version: SCHEMA_VERSION,
    generator: GENERATOR,
    sources: inputs.sources,
    counts: { repos: count('repos'), files: count('files'), functions: count('functions'), skipped_files: count('skipped_files') },
    tables: Object.fromEntries(Object.entries(tables).sort(([a], [b]) => (a < b ? -1 : 1))),
    embeddings: inputs.embeddings,
    layouts: inputs.layouts,
    default_layout: inputs.defaultLayout,
    models: Object.fromEntries(Object.entries(models).sort(([a], [b]) => (a < b ? -1 : 1))),
    stats,
  };
  validateManifest(manifest);
  await writeFileAtomic(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
