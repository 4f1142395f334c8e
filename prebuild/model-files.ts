// Copying a transformers.js model folder into the data set (outDir/models/<key>/), as the embed-jina
// and summaries stages both do: the config and tokenizer files that exist, and each named ONNX file
// with its external-data files, each written under a temporary name and renamed (crash-safe), and
// described for the manifest.
import { copyFile, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManifestFile } from '../src/core/data/manifest.ts';
import { tempPathFor } from './fsutil.ts';
import { describeFile } from './parquet.ts';

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export interface ModelCopySpec {
  /** For messages: 'model', 'summariser model'. */
  what: string;
  /** Top-level files copied when present. */
  configFiles: readonly string[];
  /** Files among configFiles that must exist. */
  requiredConfig: readonly string[];
  /** ONNX files under onnx/ (with their `_data` / `.data` companions). */
  onnxFiles: readonly string[];
  /** Whether a missing ONNX file is an error (else it is skipped). */
  requireOnnx: boolean;
}

export async function copyModelFolder(src: string, outDir: string, key: string, spec: ModelCopySpec): Promise<ManifestFile[]> {
  const rel = `models/${key}`;
  const wanted: string[] = [];
  for (const f of spec.configFiles) if (await isFile(join(src, f))) wanted.push(f);
  for (const need of spec.requiredConfig) if (!wanted.includes(need)) throw new Error(`${spec.what} folder ${src} has no ${need}`);
  let onnxNames: string[];
  try {
    onnxNames = await readdir(join(src, 'onnx'));
  } catch {
    throw new Error(`${spec.what} folder ${src} has no onnx/ folder`);
  }
  for (const file of spec.onnxFiles) {
    if (spec.requireOnnx && !onnxNames.includes(file)) throw new Error(`${spec.what} folder ${src} has no onnx/${file}`);
    for (const n of onnxNames.filter((n) => n === file || n.startsWith(`${file}_data`) || n.startsWith(`${file}.data`)).sort()) wanted.push(`onnx/${n}`);
  }
  await mkdir(join(outDir, rel, 'onnx'), { recursive: true });
  const files: ManifestFile[] = [];
  for (const f of wanted) {
    const dest = join(outDir, rel, f);
    const tmp = tempPathFor(dest);
    await copyFile(join(src, f), tmp);
    await rename(tmp, dest);
    files.push(await describeFile(outDir, `${rel}/${f}`));
  }
  return files;
}
