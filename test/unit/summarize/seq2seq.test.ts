// The seq2seq summariser end to end on a generated random-weight T5 model with the real
// transformers.js layout (encoder_model + decoder_model_merged with past key values, RoBERTa BPE
// tokenizer): tokens come out, long inputs are truncated and recorded, the cached decoding path
// agrees with raw onnxruntime-node greedy decoding, and load failures are clear.
import { basename, dirname } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Seq2SeqSummarizer, SummarizerLoadError } from '../../../src/core/summarize/seq2seq.ts';
import { ensureT5Model } from '../../fixtures/models/t5-fixture.ts';
import { greedyRaw, loadRawT5 } from '../../fixtures/models/t5-raw-ort.ts';
import { stdlibFunctions } from '../embed/stdlib-corpus.ts';

let dir = '';
const CODE = stdlibFunctions(400).map((f) => f.text).filter((t) => t.length > 120 && t.length < 320).slice(0, 3);

beforeAll(async () => {
  dir = await ensureT5Model({ mode: 'tiny' });
}, 120_000);

describe('Seq2SeqSummarizer on the tiny T5 fixture', () => {
  for (const dtype of ['q8', 'fp32'] as const) {
    it(`generates tokens for real functions (${dtype}), caches by content`, async () => {
      const s = new Seq2SeqSummarizer({ modelId: basename(dir), modelBase: dirname(dir), dtype, maxNewTokens: 12, sessionOptions: { intraOpNumThreads: 2 } });
      expect(CODE.length).toBe(3);
      const progress: number[] = [];
      const r = await s.summarize([...CODE, CODE[0]], { onProgress: (p) => progress.push(p.done) });
      expect(r).toHaveLength(4);
      for (const x of r.slice(0, 3)) {
        expect(x.tokenIds.length).toBeGreaterThan(0);
        expect(x.tokenIds.length).toBeLessThanOrEqual(12);
        expect(x.outputTokens).toBeGreaterThan(0);
        expect(x.text.length).toBeGreaterThan(0);
        expect(x.truncated).toBe(false);
        expect(x.cached).toBe(false);
      }
      expect(r[3].cached).toBe(true);
      expect(r[3].text).toBe(r[0].text);
      expect(s.stats.generated).toBe(3);
      expect(progress).toEqual([1, 2, 3, 4]);
      await s.dispose();
    }, 60_000);
  }

  it('truncates an 800k-character function to the token budget and records it', async () => {
    const s = new Seq2SeqSummarizer({ modelId: basename(dir), modelBase: dirname(dir), maxInputTokens: 64, maxNewTokens: 8 });
    const line = 'x = [a_long_name + other_name * 12345 for a_long_name in range(100)]\n';
    const huge = `def huge():\n${`    ${line}`.repeat(Math.ceil(800_000 / (line.length + 4)))}`;
    expect(huge.length).toBeGreaterThan(800_000);
    const t0 = performance.now();
    const [r] = await s.summarize([huge]);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(r.truncated).toBe(true);
    expect(r.inputTokens).toBe(64);
    expect(r.tokenIds.length).toBeGreaterThan(0);
    expect(s.stats.truncated).toBe(1);
    const tok = await s.tokenize(huge);
    expect(tok.ids).toHaveLength(64);
    expect(tok.ids[63]).toBe(2); // </s> kept at the end
    expect(tok.ids[0]).toBe(1); // <s>
    await s.dispose();
  }, 60_000);

  it('decodes the same tokens as raw onnxruntime-node greedy decoding, with and without the key-value cache', async () => {
    const s = new Seq2SeqSummarizer({ modelId: basename(dir), modelBase: dirname(dir), dtype: 'fp32', maxNewTokens: 10 });
    const raw = await loadRawT5(dir, 'fp32', 2);
    for (const code of CODE) {
      const { ids } = await s.tokenize(code);
      const [r] = await s.summarize([code]);
      const cached = await greedyRaw(raw, ids, 10);
      const full = await greedyRaw(raw, ids, 10, { cache: false });
      expect(cached).toEqual(full);
      expect(r.tokenIds).toEqual(cached);
    }
    await raw.release();
    await s.dispose();
  }, 60_000);

  it('stops between functions when cancelled', async () => {
    const s = new Seq2SeqSummarizer({ modelId: basename(dir), modelBase: dirname(dir), maxNewTokens: 4 });
    const ac = new AbortController();
    const done: number[] = [];
    await expect(
      s.summarize(CODE, {
        signal: ac.signal,
        onProgress: (p) => {
          done.push(p.done);
          if (p.done === 1) ac.abort();
        },
      }),
    ).rejects.toThrow();
    expect(done).toEqual([1]);
    await s.dispose();
  }, 60_000);

  it('fails with a clear SummarizerLoadError for a missing model or a non-seq2seq config', async () => {
    const missing = new Seq2SeqSummarizer({ modelId: 'no-such-model', modelBase: dirname(dir) });
    await expect(missing.load()).rejects.toBeInstanceOf(SummarizerLoadError);
    await expect(missing.load()).rejects.toThrow(/no-such-model/);
    const nowhere = new Seq2SeqSummarizer({ modelId: 'x' });
    await expect(nowhere.load()).rejects.toThrow(/no model base/);
    expect(() => new Seq2SeqSummarizer({ maxNewTokens: 0 })).toThrow(RangeError);
  });
});
