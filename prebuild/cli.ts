// `npm run prebuild -- --source <spec> [--source <spec> ...] [--out <dir>]`
// Exit code 0 on success; on failure, non-zero with a one-line reason on stderr.
import { parseArgs } from 'node:util';
import { defaultWorkerCount } from './stages/extract.ts';
import { DEFAULT_EMBED_OPTIONS } from './stages/embed-tfidf.ts';
import { DEFAULT_LAYOUT_OPTIONS, parseLayouts } from './stages/layout.ts';
import { runPrebuild, type PrebuildResult } from './pipeline.ts';
import { FUNCTIONS_SHARD_ROWS } from '../src/core/data/schema.ts';
import { parseShardSpec, runShard } from './shard.ts';
import { readSlices } from './merge.ts';
import { TILES_MIN_FUNCTIONS } from './stages/tiles.ts';

const HELP = `Code Atlas prebuild: scrape a corpus, extract every Python function and write the data set the
site serves (sharded Parquet, models, manifest.json).

Usage: npm run prebuild -- [--source <spec>]... [options]

Sources (repeat --source to combine; default: python-stdlib):
  python-stdlib             the standard library of the local python3 (the demo corpus)
  dir:PATH                  a folder holding one repository, or one repository per subfolder
  archive:FILE              a .zip, .tar.gz or .tgz of one or many repositories
  debian:LIST               Debian packages listed in a TSV like shared/corpus/packages.tsv
                            (apt-get download + dpkg-deb -x, cached, no root needed)
  github:OWNER/REPO[@REF]   a GitHub repository's tarball (default branch unless REF), with its
                            topics, stars and licence; GITHUB_TOKEN is used when set
  pypi-top:N                the N most-downloaded PyPI projects that have a GitHub repository

Options:
  --out DIR                 output folder (default public/data)
  --cache DIR               download, unpack and work cache (default .cache/prebuild)
  --workers N               extraction threads (default: cores, at most 8)
  --max-file-bytes N        skip source files larger than this (default 8388608)
  --shard-rows N            rows per functions shard (default ${FUNCTIONS_SHARD_ROWS})
  --embed-dim N             TF-IDF/SVD embedding dimension (default ${DEFAULT_EMBED_OPTIONS.dim})
  --vocab N                 TF-IDF vocabulary size, terms kept by document frequency (default ${DEFAULT_EMBED_OPTIONS.maxFeatures})
  --svd-sample N            documents the SVD is fitted on, sampled with a fixed seed (default ${DEFAULT_EMBED_OPTIONS.svdSample})
  --seed N                  seed for sampling and randomized SVD (default ${DEFAULT_EMBED_OPTIONS.seed})
  --model-dir DIR           also embed with jinaai/jina-embeddings-v2-base-code from this local folder
                            (transformers.js layout: config.json, tokenizer.json, onnx/model_quantized.onnx);
                            it is copied to <out>/models/ for the site, and the map is laid out from it
  --max-tokens N            Jina token budget per function; longer ones are truncated, and recorded (default 512)
  --layouts LIST            maps to make, the first is the default: vae-3, vae-2, pca-2, pca-3, umap-2
                            (default ${DEFAULT_LAYOUT_OPTIONS.layouts.join(',')}; umap-2 only up to
                            ${DEFAULT_LAYOUT_OPTIONS.umapMaxRows} functions unless named here)
  --vae-epochs N            VAE training epochs (default ${DEFAULT_LAYOUT_OPTIONS.vaeEpochs})
  --vae-sample N            rows the VAE is trained on, a seeded sample (default ${DEFAULT_LAYOUT_OPTIONS.vaeSample})
  --vae-workers N           threads each VAE batch is split over, data-parallel (default: cores, ${DEFAULT_LAYOUT_OPTIONS.vaeWorkers} here);
                            the maps are byte-identical for a given N
  --summarizer-model-dir DIR  also summarise undocumented functions with this seq2seq model (transformers.js layout:
                            config.json, tokenizer.json, onnx/encoder_model_quantized.onnx,
                            onnx/decoder_model_merged_quantized.onnx; e.g. Salesforce/codet5-base-multi-sum); copied
                            to <out>/models/ for the site. Retrieval summaries are always made
  --summarizer-max N        undocumented functions the seq2seq model summarises at most (default all)
  --ks LIST                 k values the silhouette sweep tries (default ${DEFAULT_LAYOUT_OPTIONS.ks.join(',')})
  --k N                     use this k instead of the sweep's best
  --shard i/n               build only slice i of n (counted from 0) into --out: the repositories whose
                            name hashes to i, extracted; run one per machine (Kubernetes indexed job:
                            --shard $JOB_COMPLETION_INDEX/n), then --merge
  --merge DIR               build the data set from the slices --shard wrote (repeat, comma-separate, or name a
                            folder of slice folders): every slice 0..n-1 is required; --source is taken from them.
                            Byte-identical to a single-machine build of the same sources
  --tiles-min-functions N   write the map's density tiles (tiles stage) when the data set has more functions than this
                            (default ${TILES_MIN_FUNCTIONS}; 0: always)
  --force                   rerun every stage even when its inputs did not change
  --quiet                   no progress bars, only the summary
  -h, --help                show this help

Stages: sources -> extract -> tables -> stats -> dedup -> embed (-> embed-jina) -> layout -> ivf -> summaries -> manifest. A stage whose inputs
did not change is skipped; a killed run resumes where it stopped.`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

function nonNegativeInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got '${value}'`);
  return n;
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function printSummary(r: PrebuildResult, outDir: string): void {
  const m = r.manifest;
  const lines: string[] = [];
  lines.push('');
  lines.push(`Data set written to ${outDir}`);
  lines.push(
    `  ${m.counts.repos} repositories, ${m.counts.files} files (${m.counts.skipped_files} skipped), ${m.counts.functions} functions`,
  );
  for (const [name, files] of Object.entries(m.tables)) {
    const bytes = files.reduce((s, f) => s + f.bytes, 0);
    lines.push(`  ${name.padEnd(22)} ${String(files.length).padStart(3)} file(s) ${formatBytes(bytes).padStart(11)}`);
  }
  if (r.stats) {
    const s = r.stats;
    const documented = s.totals.functions > 0 ? ((100 * s.totals.documented) / s.totals.functions).toFixed(1) : '0';
    lines.push(`  documented: ${documented}%   longest function: ${s.length_quantiles.max} characters (${s.length_outliers[0]?.repo ?? '-'} ${s.length_outliers[0]?.qualname ?? ''})`);
  }
  lines.push('  stage        seconds  peak RSS');
  for (const t of r.timings) {
    lines.push(`  ${t.stage.padEnd(12)} ${t.seconds.toFixed(1).padStart(7)}  ${String(t.peakRssMiB).padStart(5)} MiB${t.skipped ? '  (unchanged)' : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string', multiple: true },
      out: { type: 'string' },
      cache: { type: 'string' },
      workers: { type: 'string' },
      'max-file-bytes': { type: 'string' },
      'shard-rows': { type: 'string' },
      'embed-dim': { type: 'string' },
      vocab: { type: 'string' },
      'svd-sample': { type: 'string' },
      seed: { type: 'string' },
      'model-dir': { type: 'string' },
      layouts: { type: 'string' },
      'vae-epochs': { type: 'string' },
      'vae-sample': { type: 'string' },
      'vae-workers': { type: 'string' },
      ks: { type: 'string' },
      'summarizer-model-dir': { type: 'string' },
      'summarizer-max': { type: 'string' },
      k: { type: 'string' },
      'max-tokens': { type: 'string' },
      shard: { type: 'string' },
      merge: { type: 'string', multiple: true },
      'tiles-min-functions': { type: 'string' },
      force: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values['max-tokens'] !== undefined && !values['model-dir']) throw new Error('--max-tokens applies to the Jina embedding: give --model-dir too');
  const outDir = values.out ?? 'public/data';
  if (values.shard !== undefined && values.merge !== undefined) throw new Error('--shard builds one slice and --merge joins them: give one of the two');
  if (values.shard !== undefined) {
    if (values.out === undefined) throw new Error('--shard needs --out: the slice folder this job writes');
    const r = await runShard({
      sources: values.source && values.source.length > 0 ? values.source : ['python-stdlib'],
      outDir,
      cacheDir: values.cache ?? '.cache/prebuild',
      workers: positiveInt('workers', values.workers, defaultWorkerCount()),
      maxFileBytes: positiveInt('max-file-bytes', values['max-file-bytes'], 8 * 1024 * 1024),
      shard: parseShardSpec(values.shard),
      quiet: values.quiet ?? false,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const s = r.slice;
    const fns = s.parts.reduce((n, p) => n + p.functions, 0);
    process.stdout.write(`\nSlice ${s.shard.index}/${s.shard.count} written to ${outDir}: ${s.parts.length} of ${s.repos_total} repositories, ${fns} functions\n`);
    for (const t of r.timings) process.stdout.write(`  ${t.stage.padEnd(12)} ${t.seconds.toFixed(1).padStart(7)}  ${String(t.peakRssMiB).padStart(5)} MiB\n`);
    return 0;
  }
  if (values.merge !== undefined && values.source !== undefined) throw new Error('--merge takes its sources from the slices: drop --source');
  const merged = values.merge !== undefined ? await readSlices(values.merge) : null;
  const result = await runPrebuild({
    sources: merged ? merged.sources : values.source && values.source.length > 0 ? values.source : ['python-stdlib'],
    ...(merged ? { parts: merged.parts } : {}),
    outDir,
    cacheDir: values.cache ?? '.cache/prebuild',
    workers: positiveInt('workers', values.workers, defaultWorkerCount()),
    maxFileBytes: positiveInt('max-file-bytes', values['max-file-bytes'], 8 * 1024 * 1024),
    shardRows: positiveInt('shard-rows', values['shard-rows'], FUNCTIONS_SHARD_ROWS),
    embed: {
      dim: positiveInt('embed-dim', values['embed-dim'], DEFAULT_EMBED_OPTIONS.dim),
      maxFeatures: positiveInt('vocab', values.vocab, DEFAULT_EMBED_OPTIONS.maxFeatures),
      svdSample: positiveInt('svd-sample', values['svd-sample'], DEFAULT_EMBED_OPTIONS.svdSample),
      seed: positiveInt('seed', values.seed, DEFAULT_EMBED_OPTIONS.seed),
    },
    jina: values['model-dir'] ? { modelDir: values['model-dir'], maxTokens: positiveInt('max-tokens', values['max-tokens'], 512) } : null,
    layout: {
      ...(values.layouts !== undefined ? { layouts: parseLayouts(values.layouts), umapMaxRows: Infinity } : {}),
      vaeEpochs: positiveInt('vae-epochs', values['vae-epochs'], DEFAULT_LAYOUT_OPTIONS.vaeEpochs),
      vaeSample: positiveInt('vae-sample', values['vae-sample'], DEFAULT_LAYOUT_OPTIONS.vaeSample),
      vaeWorkers: positiveInt('vae-workers', values['vae-workers'], DEFAULT_LAYOUT_OPTIONS.vaeWorkers),
      ...(values.ks !== undefined ? { ks: values.ks.split(',').map((v) => positiveInt('ks', v.trim(), 0)) } : {}),
      k: values.k !== undefined ? positiveInt('k', values.k, 0) : null,
    },
    summaries: {
      modelDir: values['summarizer-model-dir'] ?? null,
      ...(values['summarizer-max'] !== undefined ? { maxGenerated: positiveInt('summarizer-max', values['summarizer-max'], 0) } : {}),
    },
    ...(values['tiles-min-functions'] !== undefined ? { tilesMinFunctions: nonNegativeInt('tiles-min-functions', values['tiles-min-functions']) } : {}),
    force: values.force ?? false,
    quiet: values.quiet ?? false,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  printSummary(result, outDir);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`prebuild: error: ${message.split('\n')[0]}\n`);
    if (process.env.PREBUILD_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exit(1);
  },
);
