// One dedup thread: parses function bodies with web-tree-sitter and returns their feature bags.
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { Language, Parser } from 'web-tree-sitter';
import type { FeatureBag } from '../../src/core/dedup/features.ts';
import { bodyFeatures } from '../../src/core/dedup/body-features.ts';
import { N_KINDS } from '../../src/core/dedup/settings.ts';
import { loadPythonExtractor, pythonGrammarPath } from '../grammars.ts';
import type { DedupRequest, DedupResponse } from './dedup-protocol.ts';

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

port.on('message', (req: DedupRequest) => {
  void handle(req).then(
    (res) => {
      const transfer = [res.ok, res.start, res.hashes, res.counts, res.kindOffsets, res.normHash].map((a) => (a as Uint8Array).buffer as ArrayBuffer);
      port.postMessage(res, transfer);
    },
    (err: unknown) => port.postMessage({ taskId: req.taskId, error: String((err as Error)?.stack ?? err) } satisfies DedupResponse),
  );
});


async function handle(req: DedupRequest): Promise<DedupResponse> {
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
