// One dedup thread: parses function bodies with web-tree-sitter and returns their feature bags; later
// weighs packed bags with the stage's shared document-frequency table and signs them (weighted
// MinHash), returning the signatures. See dedup-protocol.ts.
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { Language, Parser } from 'web-tree-sitter';
import type { FeatureBag } from '../../src/core/dedup/features.ts';
import { bodyFeatures } from '../../src/core/dedup/body-features.ts';
import { buildDrawCache, DEFAULT_CACHE_BYTES, weightedMinHash, type DrawCache } from '../../src/core/dedup/minhash.ts';
import { N_KINDS } from '../../src/core/dedup/settings.ts';
import { weighBags } from '../../src/core/dedup/tfidf.ts';
import { loadPythonExtractor, pythonGrammarPath } from '../grammars.ts';
import { DfTable } from './dedup-df.ts';
import type { DedupRequest, DedupResponse, FeaturesRequest, SignInitRequest, SignRequest } from './dedup-protocol.ts';

const port = parentPort;
if (!port) throw new Error('dedup-worker must run in a worker thread');

const parserPromise = (async () => {
  // Initialises the tree-sitter runtime for this thread the way the extractor does.
  (await loadPythonExtractor()).delete();
  const language = await Language.load(new Uint8Array(await readFile(pythonGrammarPath())));
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
})();

/** The signing context sign-init set up: the shared frequency table and the settings. */
let signing: { df: DfTable; init: SignInitRequest; cache: DrawCache } | null = null;

async function dispatch(req: DedupRequest): Promise<DedupResponse> {
  if (req.kind === 'sign-init') {
    signing = { df: new DfTable(req.df), init: req, cache: buildDrawCache(req.frequent, req.samples, req.seed) };
    return { taskId: req.taskId };
  }
  if (req.kind === 'sign') return sign(req);
  return handle(req);
}

port.on('message', (req: DedupRequest) => {
  void dispatch(req).then(
    (res) => {
      const arrays = [res.ok, res.start, res.hashes, res.counts, res.kindOffsets, res.normHash, res.signatures];
      const transfer = arrays.filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
      port.postMessage(res, transfer);
    },
    (err: unknown) => port.postMessage({ taskId: req.taskId, error: String((err as Error)?.stack ?? err) } satisfies DedupResponse),
  );
});


/** Weighs and signs the bags marked in req.sign, as weighDistinct + weightedMinHash do on the main thread. */
function sign(req: SignRequest): DedupResponse {
  if (!signing) throw new Error('dedup-worker: sign before sign-init');
  const { df, init, cache } = signing;
  const K = N_KINDS + 1;
  const bags: FeatureBag[] = [];
  for (let i = 0; i < req.sign.length; i++) {
    if (!req.sign[i]) continue;
    if (!req.ok[i]) throw new Error(`dedup-worker: body ${i} has no features to sign`);
    bags.push({
      hashes: req.hashes.subarray(req.start[i], req.start[i + 1]),
      counts: req.counts.subarray(req.start[i], req.start[i + 1]),
      kindOffsets: req.kindOffsets.subarray(i * K, i * K + K),
      normHash: new Uint32Array(2),
    });
  }
  const sets = weighBags(bags, init.kindWeights, init.minDf, df, init.nDocs);
  return { taskId: req.taskId, signatures: weightedMinHash(sets, init.samples, init.seed, DEFAULT_CACHE_BYTES, cache) };
}

async function handle(req: FeaturesRequest): Promise<DedupResponse> {
  const parser = await parserPromise;
  const n = req.bodies.length;
  const ok = new Uint8Array(n);
  const start = new Uint32Array(n + 1);
  const kindOffsets = new Uint32Array(n * (N_KINDS + 1));
  const normHash = new Uint32Array(n * 2);
  const bags: (FeatureBag | null)[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const bag = bodyFeatures(parser, req.bodies[i]);
    bags.push(bag);
    start[i] = total;
    if (!bag) continue;
    ok[i] = 1;
    total += bag.hashes.length;
    kindOffsets.set(bag.kindOffsets, i * (N_KINDS + 1));
    normHash.set(bag.normHash, i * 2);
  }
  start[n] = total;
  const hashes = new Uint32Array(total);
  const counts = new Float32Array(total);
  for (let i = 0; i < n; i++) {
    const bag = bags[i];
    if (!bag) continue;
    hashes.set(bag.hashes, start[i]);
    counts.set(bag.counts, start[i]);
  }
  return { taskId: req.taskId, ok, start, hashes, counts, kindOffsets, normHash };
}
