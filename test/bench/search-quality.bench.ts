// Search quality on real code, the CodeSearchNet protocol: for every documented function of some
// held-out stdlib packages, the first sentence of its docstring is the query and the function with
// its docstring removed is the target, ranked among all held-out targets. MRR@100 and recall@10 of
// our TF-IDF/SVD(256) (fitted on the other packages only; exact cosine k-NN from knn.ts) against the
// study's scikit-learn TfidfVectorizer + TruncatedSVD(256) pipeline, fitted on the same documents
// in the same run (plain tokenizer, and with identifiers split as ours does).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfidfSvdEmbedder, TfidfSvdFitter } from '../../src/core/embed/tfidf-svd.ts';
import { KnnQuery } from '../../src/core/search/knn.ts';
import { splitDocstring, stdlibFunctions } from '../unit/embed/stdlib-corpus.ts';
import type { BenchResult, BenchRow } from './types.ts';

const PY = '/usr/bin/python3';
const DIM = 256;
const K = 100;
/** One package in HOLD_OUT_EVERY is held out, chosen by a hash of its name (deterministic). */
const HOLD_OUT_EVERY = 5;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The package a stdlib file belongs to: its top-level folder, or the module file itself. */
const packageOf = (where: string): string => where.split('#')[0]!.split('/')[0]!.replace(/\.py$/, '');

/** First sentence of a docstring, whitespace collapsed; null when too short to be a query. */
function firstSentence(doc: string): string | null {
  const para = doc.trim().split(/\n\s*\n/)[0]!.replace(/\s+/g, ' ').trim();
  const m = /^(.+?[.!?])(\s|$)/.exec(para);
  const s = (m ? m[1]! : para).trim();
  return s.split(' ').length >= 3 ? s : null;
}

interface Split {
  train: string[];
  queries: string[];
  targets: string[];
  heldOut: string[];
}

function makeSplit(): Split {
  const fns = stdlibFunctions();
  const train: string[] = [];
  const queries: string[] = [];
  const targets: string[] = [];
  const held = new Set<string>();
  for (const f of fns) {
    const pkg = packageOf(f.where);
    if (fnv1a(pkg) % HOLD_OUT_EVERY !== 0) {
      train.push(f.text);
      continue;
    }
    held.add(pkg);
    const parts = splitDocstring(f.text);
    if (!parts) continue;
    const q = firstSentence(parts.docstring);
    if (!q || parts.code.trim().length < 20) continue;
    queries.push(q);
    targets.push(parts.code);
  }
  return { train, queries, targets, heldOut: [...held].sort() };
}

/** MRR@K and recall@10 when query i's answer is target i, by exact cosine over the embeddings. */
function score(qv: Float32Array, tv: Float32Array, n: number, dim: number): { mrr: number; r10: number } {
  const ids = new Uint32Array(n).map((_, i) => i);
  let mrr = 0;
  let r10 = 0;
  for (let i = 0; i < n; i++) {
    const s = new KnnQuery(qv.subarray(i * dim, (i + 1) * dim), K, { kind: 'cosine' });
    s.addFloat32(ids, tv);
    const rank = s.result().ids.indexOf(i);
    if (rank >= 0) mrr += 1 / (rank + 1);
    if (rank >= 0 && rank < 10) r10++;
  }
  return { mrr: mrr / n, r10: r10 / n };
}

const PEER = String.raw`
import json, re, sys, time
import numpy as np, sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize
d = json.load(open(sys.argv[1])); dim = int(sys.argv[2]); K = int(sys.argv[3])
word = re.compile(r'\w+')
part = re.compile(r'[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+|[^\W\d_]+')
def analyze(text):
    toks = []
    for w in word.findall(text):
        if w[0].isdigit() or len(w) > 80: continue
        s = w.strip('_')
        ps = part.findall(s)
        if len(ps) > 1 and len(s) > 1: toks.append(s.lower())
        toks.extend(p.lower() for p in ps if len(p) > 1)
    return toks
def evaluate(vec):
    t0 = time.perf_counter()
    X = vec.fit_transform(d['train'])
    svd = TruncatedSVD(n_components=dim, random_state=0).fit(X)
    Q = normalize(svd.transform(vec.transform(d['queries'])))
    T = normalize(svd.transform(vec.transform(d['targets'])))
    S = Q @ T.T
    n = len(d['queries']); mrr = 0.0; r10 = 0
    for i in range(n):
        s = S[i]
        rank = int((s > s[i]).sum())  # 0-based; ties count in the query's favour, as argsort would vary
        if rank < K: mrr += 1 / (rank + 1)
        if rank < 10: r10 += 1
    return {'mrr': mrr / n, 'r10': r10 / n, 's': time.perf_counter() - t0}
out = {'sklearn': sklearn.__version__}
out['plain'] = evaluate(TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=32768))
out['split'] = evaluate(TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=32768, analyzer=analyze))
print(json.dumps(out))
`;

interface PeerOut {
  sklearn: string;
  plain: { mrr: number; r10: number; s: number };
  split: { mrr: number; r10: number; s: number };
}

export default async function bench(): Promise<BenchResult> {
  const split = makeSplit();
  process.stderr.write(`search-quality: ${split.train.length} training functions, ${split.queries.length} queries from ${split.heldOut.length} held-out packages\n`);
  const t0 = performance.now();
  const fitter = new TfidfSvdFitter({ dim: DIM });
  for (const t of split.train) fitter.add(t);
  const model = fitter.finish();
  const emb = new TfidfSvdEmbedder(model);
  const qv = emb.embedSync(split.queries);
  const tv = emb.embedSync(split.targets);
  const ours = score(qv, tv, split.queries.length, model.dim);
  const oursS = (performance.now() - t0) / 1000;

  let peer: PeerOut | null = null;
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'atlas-search-quality-'));
  try {
    const file = join(dir, 'split.json');
    writeFileSync(file, JSON.stringify({ train: split.train, queries: split.queries, targets: split.targets }));
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    try {
      peer = JSON.parse(execFileSync(PY, ['-c', PEER, file, String(DIM), String(K)], { encoding: 'utf8', env, maxBuffer: 1 << 24 })) as PeerOut;
    } catch (e) {
      notes.push(`scikit-learn peer failed: ${(e as Error).message.split('\n')[0]}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: BenchRow[] = [
    { metric: 'MRR@100 (peer: plain tokenizer)', ours: ours.mrr, peer: peer?.plain.mrr ?? null, unit: 'MRR', higherIsBetter: true },
    { metric: 'recall@10 (peer: plain tokenizer)', ours: ours.r10, peer: peer?.plain.r10 ?? null, unit: 'recall', higherIsBetter: true },
    { metric: 'MRR@100 (peer: identifiers split)', ours: ours.mrr, peer: peer?.split.mrr ?? null, unit: 'MRR', higherIsBetter: true },
    { metric: 'recall@10 (peer: identifiers split)', ours: ours.r10, peer: peer?.split.r10 ?? null, unit: 'recall', higherIsBetter: true },
    { metric: 'fit + embed + rank', ours: oursS, peer: peer?.plain.s ?? null, unit: 's', higherIsBetter: false },
  ];
  notes.push(
    `Corpus: functions cut from this machine's Python stdlib; ${split.heldOut.length} packages held out by name hash (${split.heldOut.slice(0, 12).join(', ')}${split.heldOut.length > 12 ? ', …' : ''}). ${split.train.length} functions of the other packages fit both models; ${split.queries.length} documented held-out functions give query (first docstring sentence) and target (function without its docstring), ranked among all ${split.targets.length} targets by cosine.`,
    `Ours: TfidfSvdFitter(dim ${DIM}, defaults: 32768 terms, min_df 2, 0 power iterations), exact cosine top-${K} with knn.ts. Peer: scikit-learn ${peer?.sklearn ?? '?'} TfidfVectorizer(sublinear_tf, min_df=2, max_features=32768) + TruncatedSVD(${DIM}, n_iter=5, random_state=0), /usr/bin/python3, OPENBLAS_CORETYPE unset; 'identifiers split' uses the snake_case/camelCase analyzer of tfidf.bench.ts.`,
  );
  return { name: 'search quality (CodeSearchNet protocol, stdlib)', peer: `scikit-learn ${peer?.sklearn ?? ''} TF-IDF + TruncatedSVD(${DIM})`, rows, notes };
}
