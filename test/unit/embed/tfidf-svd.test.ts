import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  TfidfSvdEmbedder,
  TfidfSvdFitter,
  deserializeTfidfSvd,
  embedTfidfSvd,
  fitTfidfSvd,
  serializeTfidfSvd,
  type TfidfSvdJson,
} from '../../../src/core/embed/tfidf-svd.ts';
import { embeddingRow } from '../../../src/core/embed/types.ts';
import { tokenize } from '../../../src/core/text/tokenize.ts';
import { splitDocstring, stdlibFunctions } from './stdlib-corpus.ts';

const SMALL_CORPUS = [
  'def read_config_file(path):\n    """Read the configuration file."""\n    with open(path) as fh:\n        return parse_config(fh.read())',
  'def write_config_file(path, config):\n    with open(path, "w") as fh:\n        fh.write(dump_config(config))',
  'def parseJsonResponse(response):\n    return json.loads(response.text)',
  'class HTTPServerHandler(BaseHandler):\n    def handle_request(self, request):\n        return self.server.dispatch(request)',
  'def compute_mean(values):\n    total = sum(values)\n    return total / len(values)',
  'def compute_variance(values):\n    mean = compute_mean(values)\n    return sum((v - mean) ** 2 for v in values) / len(values)',
  'def open_socket(host, port):\n    sock = socket.create_connection((host, port))\n    return sock',
  'def close_socket(sock):\n    sock.close()',
  'def parse_config(text):\n    return dict(line.split("=") for line in text.splitlines())',
  'def dump_config(config):\n    return "\\n".join(f"{k}={v}" for k, v in config.items())',
];

function hasSklearn(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

describe('TF-IDF', () => {
  it('matches hand-computed sublinear, smoothed, L2-normalised weights', async () => {
    const docs = ['alpha beta', 'alpha gamma gamma', 'delta'];
    const model = await fitTfidfSvd(docs, { dim: 2, minDf: 1 });
    expect(model.vocab).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    const n = 3;
    const idf = (df: number) => Math.log((1 + n) / (1 + df)) + 1;
    expect(model.idf[0]).toBeCloseTo(idf(2), 6);
    expect(model.idf[1]).toBeCloseTo(idf(1), 6);
    const e = new TfidfSvdEmbedder(model);
    const row = e.tfidf('alpha gamma gamma');
    const wa = idf(2);
    const wg = (1 + Math.log(2)) * idf(1);
    const z = Math.hypot(wa, wg);
    expect(Array.from(row.indices)).toEqual([0, 3]);
    expect(row.values[0]).toBeCloseTo(wa / z, 6);
    expect(row.values[1]).toBeCloseTo(wg / z, 6);
    // Unknown tokens only -> empty row and zero embedding.
    expect(e.tfidf('unrelated words').indices.length).toBe(0);
    const emb = await e.embed(['unrelated words', 'alpha']);
    expect(norm(embeddingRow(emb, model.dim, 0))).toBe(0);
    expect(norm(embeddingRow(emb, model.dim, 1))).toBeCloseTo(1, 5);
  });

  it('applies minDf, maxDfRatio and maxFeatures (by document frequency, ties by term)', async () => {
    const docs = ['aa bb cc dd', 'aa bb cc', 'aa bb ee', 'aa ff', 'gg hh'];
    const m1 = await fitTfidfSvd(docs, { dim: 2, minDf: 2 });
    expect(m1.vocab).toEqual(['aa', 'bb', 'cc']);
    const m2 = await fitTfidfSvd(docs, { dim: 2, minDf: 1, maxDfRatio: 0.7 });
    expect(m2.vocab).not.toContain('aa'); // df 4/5 > 0.7
    expect(m2.vocab).toContain('bb'); // df 3/5
    const m3 = await fitTfidfSvd(docs, { dim: 2, minDf: 1, maxFeatures: 4 });
    // df: aa 4, bb 3, cc 2, then dd/ee/ff/gg/hh at 1 -> alphabetical tie-break keeps dd.
    expect(m3.vocab).toEqual(['aa', 'bb', 'cc', 'dd']);
  });

  it.skipIf(!hasSklearn())('matches scikit-learn TfidfVectorizer(sublinear_tf=True) on the same tokens', () => {
    const fns = stdlibFunctions(400);
    const docs = fns.length >= 50 ? fns.map((f) => f.text) : SMALL_CORPUS;
    const tokens = docs.map((d) => tokenize(d));
    const py = `
import json, sys
from sklearn.feature_extraction.text import TfidfVectorizer
docs = json.load(sys.stdin)
v = TfidfVectorizer(analyzer=lambda d: d, sublinear_tf=True, min_df=2, smooth_idf=True, norm='l2')
X = v.fit_transform(docs).tocsr()
vocab = v.get_feature_names_out().tolist()
rows = [{vocab[j]: float(x) for j, x in zip(X.indices[X.indptr[i]:X.indptr[i+1]], X.data[X.indptr[i]:X.indptr[i+1]])} for i in range(0, X.shape[0], 7)]
from sklearn.decomposition import TruncatedSVD
svd = TruncatedSVD(8, algorithm='randomized', n_iter=12, random_state=0).fit(X)
json.dump({'vocab': vocab, 'idf': v.idf_.tolist(), 'rows': rows, 'sv': svd.singular_values_.tolist(), 'evr': svd.explained_variance_ratio_.tolist()}, sys.stdout)
`;
    const out = execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(tokens), encoding: 'utf8', maxBuffer: 1 << 28 });
    const ref = JSON.parse(out) as { vocab: string[]; idf: number[]; rows: Record<string, number>[]; sv: number[]; evr: number[] };
    const f = new TfidfSvdFitter({ dim: 8, minDf: 2, maxFeatures: 1e9, powerIterations: 12 });
    f.addAll(docs);
    const model = f.finish();
    expect(model.vocab).toEqual([...ref.vocab].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    const pos = new Map(model.vocab.map((t, i) => [t, i]));
    ref.vocab.forEach((t, i) => expect(model.idf[pos.get(t)!]).toBeCloseTo(ref.idf[i], 5));
    const e = new TfidfSvdEmbedder(model);
    ref.rows.forEach((want, r) => {
      const got = e.tfidf(docs[r * 7]);
      const gotMap: Record<string, number> = {};
      got.indices.forEach((j, t) => (gotMap[model.vocab[j]] = got.values[t]));
      expect(Object.keys(gotMap).sort()).toEqual(Object.keys(want).sort());
      for (const [term, w] of Object.entries(want)) expect(gotMap[term]).toBeCloseTo(w, 5);
    });
    // Same matrix, (nearly) converged randomized SVDs: same spectrum and explained variance.
    for (let i = 0; i < 8; i++) {
      expect(Math.abs(model.singularValues[i] - ref.sv[i]) / ref.sv[i]).toBeLessThan(1e-3);
      expect(model.explainedVarianceRatio[i]).toBeCloseTo(ref.evr[i], 3);
    }
  });
});

describe('TF-IDF + SVD model', () => {
  it('embeds to unit vectors and clamps dim to the data', async () => {
    const model = await fitTfidfSvd(SMALL_CORPUS, { dim: 256, minDf: 1 });
    expect(model.dim).toBe(SMALL_CORPUS.length); // rank bound: 10 documents
    expect(model.id).toBe(`tfidf-svd-${model.dim}`);
    expect(model.components.length).toBe(model.vocab.length * model.dim);
    const emb = embedTfidfSvd(model, SMALL_CORPUS);
    for (let i = 0; i < SMALL_CORPUS.length; i++) expect(norm(embeddingRow(emb, model.dim, i))).toBeCloseTo(1, 5);
    const evr = Array.from(model.explainedVarianceRatio);
    expect(evr.every((x) => x >= 0)).toBe(true);
    expect(evr.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    for (let i = 1; i < model.dim; i++) expect(model.singularValues[i]).toBeLessThanOrEqual(model.singularValues[i - 1] + 1e-12);
  });

  it('is deterministic for a seed (and the sample depends on it)', async () => {
    const fns = stdlibFunctions(3000).map((f) => f.text);
    const docs = fns.length >= 500 ? fns : Array.from({ length: 300 }, (_, i) => SMALL_CORPUS[i % 10] + ` item_${i % 37}`);
    const opts = { dim: 32, svdSample: 400, seed: 7, powerIterations: 2 };
    const a = await fitTfidfSvd(docs, opts);
    const b = await fitTfidfSvd(docs, opts);
    expect(Array.from(a.components)).toEqual(Array.from(b.components));
    expect(Array.from(a.singularValues)).toEqual(Array.from(b.singularValues));
    const c = await fitTfidfSvd(docs, { ...opts, seed: 8 });
    expect(Array.from(c.components)).not.toEqual(Array.from(a.components));
    expect(a.nSvdDocs).toBe(400);
    expect(a.nDocs).toBe(docs.length);
  });

  it('round-trips through serialisation with identical embeddings (float16 and float32)', async () => {
    const fns = stdlibFunctions(2000).map((f) => f.text);
    const docs = fns.length >= 500 ? fns : SMALL_CORPUS;
    for (const dtype of ['float16', 'float32'] as const) {
      const model = await fitTfidfSvd(docs, { dim: 48, dtype });
      const { json, binary } = serializeTfidfSvd(model);
      expect(binary.byteLength).toBe(model.vocab.length * 4 + model.vocab.length * model.dim * (dtype === 'float16' ? 2 : 4));
      // Through real JSON text and a copied, offset buffer, as a browser fetch would give.
      const parsed = JSON.parse(JSON.stringify(json)) as TfidfSvdJson;
      const padded = new Uint8Array(binary.byteLength + 3);
      padded.set(binary, 3);
      const back = deserializeTfidfSvd(parsed, padded.subarray(3));
      expect(back.vocab).toEqual(model.vocab);
      expect(back.config).toEqual(model.config);
      const probe = docs.slice(0, 50).concat(['read a configuration file', 'zzz_unknown_qqq']);
      expect(Array.from(embedTfidfSvd(back, probe))).toEqual(Array.from(embedTfidfSvd(model, probe)));
    }
    expect(() => deserializeTfidfSvd({ format: 'other' } as unknown as TfidfSvdJson, new Uint8Array(0))).toThrow();
  });

  it('accepts async iterables (shard readers)', async () => {
    async function* gen() {
      for (const d of SMALL_CORPUS) yield d;
    }
    const a = await fitTfidfSvd(gen(), { dim: 4, minDf: 1 });
    const b = await fitTfidfSvd(SMALL_CORPUS, { dim: 4, minDf: 1 });
    expect(Array.from(a.components)).toEqual(Array.from(b.components));
  });

  const fns = stdlibFunctions(12000);
  it.skipIf(fns.length < 5000)('retrieves real stdlib functions from their docstring words far above chance', async () => {
    // The study's task: docstring -> the function with its docstring removed.
    const pairs: { query: string; code: string }[] = [];
    for (const f of fns) {
      const s = splitDocstring(f.text);
      const q = s?.docstring.trim().split(/\n\s*\n/)[0] ?? '';
      if (s && q.length > 20) pairs.push({ query: q, code: s.code });
    }
    expect(pairs.length).toBeGreaterThan(500);
    const docs = fns.map((f) => splitDocstring(f.text)?.code ?? f.text);
    const model = await fitTfidfSvd(docs, { dim: 128 });
    const e = new TfidfSvdEmbedder(model);
    const D = await e.embed(pairs.map((p) => p.code));
    const nq = 300;
    const step = Math.floor(pairs.length / nq);
    const Q = await e.embed(Array.from({ length: nq }, (_, i) => pairs[i * step].query), { kind: 'query' });
    const dim = model.dim;
    let mrr = 0;
    let top10 = 0;
    for (let a = 0; a < nq; a++) {
      const target = a * step;
      const score = (b: number) => {
        let s = 0;
        for (let c = 0; c < dim; c++) s += Q[a * dim + c] * D[b * dim + c];
        return s;
      };
      const st = score(target);
      let rank = 1;
      for (let b = 0; b < pairs.length; b++) if (b !== target && score(b) > st) rank++;
      mrr += 1 / rank;
      if (rank <= 10) top10++;
    }
    mrr /= nq;
    const chanceMrr = Math.log(pairs.length) / pairs.length;
    expect(mrr).toBeGreaterThan(20 * chanceMrr);
    expect(top10 / nq).toBeGreaterThan(0.2);
  });
});
