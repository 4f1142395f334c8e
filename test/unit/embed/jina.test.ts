// JinaEmbedder on a generated random-weight model with Jina's real signature and file layout
// (test/fixtures/models/gen-jina.py), loaded through transformers.js exactly as the real model is.
// Nothing is downloaded: the embedder never allows remote models unless asked.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, test } from 'vitest';
import { createEmbedder, JinaEmbedder, ModelLoadError, type EmbedProgress, type JinaOptions } from '../../../src/core/embed/jina.ts';
import { TfidfSvdEmbedder, TfidfSvdFitter } from '../../../src/core/embed/tfidf-svd.ts';
import { ensureTinyJinaModel } from '../../fixtures/models/jina-fixture.ts';
import { stdlibFunctions } from './stdlib-corpus.ts';

let dir: string;
let hidden: number;
let base: JinaOptions;

beforeAll(async () => {
  dir = await ensureTinyJinaModel();
  hidden = (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { hidden_size: number }).hidden_size;
  base = { modelId: basename(dir), modelBase: dirname(dir), sessionOptions: { intraOpNumThreads: 2 } };
});

const SHORT = 'def inc(x):\n    return x + 1\n';
const MEDIUM = 'def area(self):\n    """Area of the rectangle."""\n    w, h = self.size\n    return w * h\n';
const LONG = `class Parser:\n    def parse(self, text):\n${'        self.tokens.append(text.strip())\n'.repeat(6)}        return self.tokens\n`;

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function row(v: Float32Array, dim: number, i: number): Float32Array {
  return v.subarray(i * dim, (i + 1) * dim);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs the fp32 ONNX file directly (no transformers.js) and returns last_hidden_state. */
async function rawHidden(ids: number[][], maskOverride?: number[][]): Promise<{ data: Float32Array; len: number }> {
  const session = await ort.InferenceSession.create(join(dir, 'onnx', 'model.onnx'), { intraOpNumThreads: 2 });
  const len = Math.max(...ids.map((r) => r.length));
  const inputIds = new BigInt64Array(ids.length * len).fill(1n); // <pad> is id 1 in the fixture's vocabulary
  const mask = new BigInt64Array(ids.length * len);
  ids.forEach((r, i) =>
    r.forEach((id, t) => {
      inputIds[i * len + t] = BigInt(id);
      mask[i * len + t] = 1n;
    }),
  );
  if (maskOverride) maskOverride.forEach((r, i) => r.forEach((m, t) => (mask[i * len + t] = BigInt(m))));
  const out = await session.run({
    input_ids: new ort.Tensor('int64', inputIds, [ids.length, len]),
    attention_mask: new ort.Tensor('int64', mask, [ids.length, len]),
  });
  const data = out.last_hidden_state.data as Float32Array;
  await session.release();
  return { data, len };
}

/** Masked mean pooling + L2 normalisation written out the plain way, for one row. */
function handPool(h: Float32Array, len: number, dim: number, rowIndex: number, realTokens: number): Float32Array {
  const mean = new Array<number>(dim).fill(0);
  for (let t = 0; t < realTokens; t++) for (let c = 0; c < dim; c++) mean[c] += h[(rowIndex * len + t) * dim + c] / realTokens;
  const norm = Math.sqrt(mean.reduce((s, x) => s + x * x, 0));
  return Float32Array.from(mean, (x) => x / norm);
}

describe('JinaEmbedder (generated Jina-shaped model)', () => {
  test('loads from a local folder through transformers.js, without allowing downloads', async () => {
    const e = new JinaEmbedder({ ...base });
    await e.load();
    expect(env.allowRemoteModels).toBe(false);
    expect(e.dim).toBe(hidden);
    expect(e.dtype).toBe('q8');
    expect(e.id).toBe(basename(dir).toLowerCase());
    expect(new JinaEmbedder().id).toBe('jina-v2-base-code');
    const v = await e.embed([SHORT, MEDIUM]);
    expect(v.length).toBe(2 * hidden);
    expect(dot(row(v, hidden, 0), row(v, hidden, 0))).toBeCloseTo(1, 5);
    expect(dot(row(v, hidden, 1), row(v, hidden, 1))).toBeCloseTo(1, 5);
    // Different code, different vectors.
    expect(dot(row(v, hidden, 0), row(v, hidden, 1))).toBeLessThan(0.999);
    await e.dispose();
  });

  test('tokenises code as written: whitespace and newlines change the tokens', async () => {
    const e = new JinaEmbedder({ ...base });
    const a = await e.tokenize(SHORT);
    const b = await e.tokenize(SHORT.replace('\n    ', ' '));
    expect(a.ids[0]).toBe(0); // <s>
    expect(a.ids[a.ids.length - 1]).toBe(2); // </s>
    expect(a.ids).not.toEqual(b.ids);
    // A sensible code vocabulary: far fewer tokens than characters.
    expect(a.ids.length).toBeLessThan(SHORT.length / 2);
    await e.dispose();
  });

  test('mean pooling and normalisation match a hand computation on the raw ONNX output', async () => {
    const e = new JinaEmbedder({ ...base, dtype: 'fp32' });
    const texts = [SHORT, LONG, MEDIUM];
    const ids = await Promise.all(texts.map(async (t) => (await e.tokenize(t)).ids));
    const { data, len } = await rawHidden(ids);
    const ours = await e.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const hand = handPool(data, len, hidden, i, ids[i].length);
      expect(maxAbsDiff(row(ours, hidden, i), hand), `row ${i}`).toBeLessThan(1e-5);
    }
    await e.dispose();
  });

  test('padding does not change a vector: a text alone equals the same text in a padded batch', async () => {
    const e = new JinaEmbedder({ ...base, dtype: 'fp32', batchSize: 8 });
    const alone = await e.embed([SHORT]);
    const batched = await e.embed([LONG, SHORT, MEDIUM]);
    const { tokens } = await e.embedDetailed([LONG, SHORT]);
    expect(tokens[0]).toBeGreaterThan(tokens[1]); // SHORT really was padded in that batch
    expect(maxAbsDiff(alone, row(batched, e.dim, 1))).toBeLessThan(1e-5);

    // The fixture model does read the mask: with the padding unmasked the same row comes out different.
    const ids = [(await e.tokenize(LONG)).ids, (await e.tokenize(SHORT)).ids];
    const len = ids[0].length;
    const { data } = await rawHidden(ids, [new Array<number>(len).fill(1), new Array<number>(len).fill(1)]);
    const unmasked = handPool(data, len, e.dim, 1, ids[1].length);
    expect(maxAbsDiff(alone, unmasked)).toBeGreaterThan(1e-3);
    await e.dispose();
  });

  test('identical texts run through the model once; length-sorted batches come back in input order', async () => {
    const fns = [...new Set(stdlibFunctions(40).map((f) => f.text))].slice(0, 7);
    expect(fns.length).toBe(7);
    const texts = [fns[0], fns[1], fns[0], fns[2], fns[3], fns[1], fns[4], fns[5], fns[6], fns[0]];
    const e = new JinaEmbedder({ ...base, batchSize: 3, maxTokens: 64 });
    const r = await e.embedDetailed(texts);
    expect(e.stats.rowsEmbedded).toBe(7);
    expect(e.stats.modelCalls).toBe(3); // ceil(7 / 3)
    expect(e.stats.duplicates).toBe(3);
    const d = e.dim;
    expect(row(r.vectors, d, 2)).toEqual(row(r.vectors, d, 0));
    expect(row(r.vectors, d, 9)).toEqual(row(r.vectors, d, 0));
    expect(row(r.vectors, d, 5)).toEqual(row(r.vectors, d, 1));
    // Each row is the vector of its own text (q8 activations are quantised per batch, so compare closely, not exactly).
    for (const i of [0, 3, 4, 6, 7, 8]) {
      const single = await e.embed([texts[i]]);
      expect(dot(single, row(r.vectors, d, i)), `row ${i}`).toBeGreaterThan(0.99);
    }
    await e.dispose();
  });

  test('truncation to maxTokens is recorded per row and keeps the closing token', async () => {
    // fp32: q8 activations are quantised with one scale per batch, so there a vector also depends
    // (slightly) on the other texts of its batch.
    const e = new JinaEmbedder({ ...base, maxTokens: 16, dtype: 'fp32' });
    const r = await e.embedDetailed([SHORT, LONG, '']);
    expect(Array.from(r.truncated)).toEqual([0, 1, 0]);
    expect(r.tokens[1]).toBe(16);
    expect(r.tokens[0]).toBeLessThanOrEqual(16);
    expect(r.tokens[2]).toBe(2); // an empty text is just <s></s>
    const t = await e.tokenize(LONG);
    expect(t).toMatchObject({ truncated: true });
    expect(t.ids[15]).toBe(2);
    // A truncated text embeds like any other text with the same first tokens.
    const other = await e.embedDetailed([`${LONG}\n    # a different ending\n    return None\n`, SHORT, '']);
    expect(other.truncated[0]).toBe(1);
    expect(maxAbsDiff(row(r.vectors, e.dim, 1), row(other.vectors, e.dim, 0))).toBeLessThan(1e-6);

    // A very long text is tokenised from a prefix; the tokens are those of the whole text.
    const huge = Array.from({ length: 400 }, (_, i) => `    value_${i} = compute(value_${i - 1}, ${i})\n`).join('');
    const full = new JinaEmbedder({ ...base, maxTokens: 100_000 });
    const all = (await full.tokenize(huge)).ids;
    const cut = await e.tokenize(huge);
    expect(cut.ids).toEqual([...all.slice(0, 15), 2]);
    await Promise.all([e.dispose(), full.dispose()]);
  });

  test('cancels between batches with an AbortError and reports progress', async () => {
    const texts = [...new Set(stdlibFunctions(40).map((f) => f.text))].slice(0, 12);
    const ctrl = new AbortController();
    const seen: EmbedProgress[] = [];
    const e = new JinaEmbedder({
      ...base,
      batchSize: 2,
      maxTokens: 32,
      onProgress: (p) => {
        seen.push(p);
        if (p.phase === 'embed' && p.done >= 4) ctrl.abort();
      },
    });
    await expect(e.embed(texts, { signal: ctrl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(e.stats.modelCalls).toBe(2);
    const embed = seen.filter((p) => p.phase === 'embed');
    expect(embed.map((p) => p.done)).toEqual([2, 4]);
    expect(embed[1].total).toBe(new Set(texts).size);
    expect(embed[1].snippetsPerSec).toBeGreaterThan(0);
    expect(embed[1].etaSec).toBeGreaterThan(0);
    // Already aborted: nothing runs.
    const calls = e.stats.modelCalls;
    await expect(e.embed(texts, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(e.stats.modelCalls).toBe(calls);
    await e.dispose();
  });

  test('dtype picks the ONNX file: q8, fp16 and fp32 give close but distinct vectors', async () => {
    const vecs: Record<string, Float32Array> = {};
    for (const dtype of ['fp32', 'fp16', 'q8'] as const) {
      const e = new JinaEmbedder({ ...base, dtype });
      vecs[dtype] = await e.embed([MEDIUM]);
      await e.dispose();
    }
    expect(vecs.fp16).not.toEqual(vecs.fp32);
    expect(vecs.q8).not.toEqual(vecs.fp32);
    expect(dot(vecs.fp16, vecs.fp32)).toBeGreaterThan(0.999);
    expect(dot(vecs.q8, vecs.fp32)).toBeGreaterThan(0.95);
    expect(new JinaEmbedder({ device: 'webgpu' }).dtype).toBe('fp16');
  });

  test('a missing model gives a ModelLoadError naming the model and where it looked', async () => {
    const missing = join(dirname(dir), 'no-such-model-here');
    const e = new JinaEmbedder({ modelId: 'jinaai/jina-embeddings-v2-base-code', modelBase: missing });
    const err = await e.embed([SHORT]).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelLoadError);
    const m = err as ModelLoadError;
    expect(m.modelId).toBe('jinaai/jina-embeddings-v2-base-code');
    expect(m.message).toContain('jinaai/jina-embeddings-v2-base-code');
    expect(m.message).toContain(missing);
    expect(m.reason).toMatch(/not found|allowRemoteModels/i);
    await expect(createEmbedder({ kind: 'jina' })).rejects.toThrow(/remote models are not allowed/);
  });

  test('createEmbedder picks TF-IDF/SVD or Jina by name', async () => {
    const fitter = new TfidfSvdFitter({ dim: 4, minDf: 1, svdSample: 50 });
    fitter.addAll(stdlibFunctions(40).map((f) => f.text));
    const tfidf = await createEmbedder({ kind: 'tfidf', model: fitter.finish() });
    expect(tfidf).toBeInstanceOf(TfidfSvdEmbedder);
    expect((await tfidf.embed([SHORT])).length).toBe(tfidf.dim);
    const jina = await createEmbedder({ kind: 'jina', ...base });
    expect(jina).toBeInstanceOf(JinaEmbedder);
    expect(jina.dim).toBe(hidden);
    expect((await jina.embed([SHORT])).length).toBe(hidden);
    await jina.dispose?.();
  });
});
