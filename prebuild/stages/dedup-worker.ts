// One dedup thread: parses function bodies with web-tree-sitter and returns their feature bags.
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { extractFeatures, type FeatureBag } from '../../src/core/dedup/features.ts';
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

/** The definition node of a parsed function body: the first function_definition, or a decorated one's definition. */
function definitionOf(root: Node): Node | null {
  const cursor = root.walk();
  try {
    for (;;) {
      const node = cursor.currentNode;
      if (node.type === 'function_definition') return node;
      if (node.type === 'decorated_definition') return node.childForFieldName('definition');
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return null;
    }
  } finally {
    cursor.delete();
  }
}

/** Features of one body, or null when it does not parse. */
export function bodyFeatures(parser: Parser, body: string): FeatureBag | null {
  // Method bodies are indented whole lines: under `if 1:` any indentation is a valid block.
  const src = /^[ \t]/.test(body) ? `if 1:\n${body}` : body;
  const tree = parser.parse(src);
  if (!tree) return null;
  try {
    if (tree.rootNode.hasError) return null;
    const node = definitionOf(tree.rootNode);
    return node ? extractFeatures(node) : null;
  } finally {
    tree.delete();
  }
}

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
