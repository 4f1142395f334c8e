import { describe, expect, it } from 'vitest';
import { extractFeatures, splitIdentifier } from '../../../src/core/dedup/features.ts';
import { FEATURE_KINDS, N_KINDS } from '../../../src/core/dedup/settings.ts';
import { pythonParser, withFunctionNode } from './corpus.ts';

const SRC = `def parse_header(lineText, maxCount=10):
    """Split a header line."""
    # a comment
    parts = lineText.split(':', 1)
    if len(parts) != 2 or maxCount < 0:
        return None
    name, value = parts
    return name.strip().lower(), value.strip()`;

const SAME_LAYOUT_CHANGED = `def parse_header(lineText,   maxCount=10):  # trailing
    """Split a header line."""

    parts = lineText.split(':',
                           1)
    if len(parts) != 2 or maxCount < 0:
        return None  # none
    name, value = parts
    return name.strip().lower(), value.strip()`;

describe('dedup features', () => {
  it('splits identifiers like apollo (snake, camel, digits; lower-case; short tokens dropped)', () => {
    expect(splitIdentifier('parseHTTPHeader_v2')).toEqual(['parse', 'http', 'header']);
    expect(splitIdentifier('max_line_length')).toEqual(['max', 'line', 'length']);
    expect(splitIdentifier('x')).toEqual([]);
    expect(splitIdentifier('utf8Decoder')).toEqual(['utf', 'decoder']);
  });

  it('gives a sorted sparse bag per kind, blind to layout and comments', async () => {
    const parser = await pythonParser();
    const bag = withFunctionNode(parser, SRC, extractFeatures);
    const bag2 = withFunctionNode(parser, SAME_LAYOUT_CHANGED, extractFeatures);
    expect(bag.kindOffsets.length).toBe(N_KINDS + 1);
    expect(bag.kindOffsets[N_KINDS]).toBe(bag.hashes.length);
    expect(bag.counts.length).toBe(bag.hashes.length);
    for (let k = 0; k < N_KINDS; k++) {
      const from = bag.kindOffsets[k];
      const to = bag.kindOffsets[k + 1];
      expect(to - from, FEATURE_KINDS[k]).toBeGreaterThan(0);
      for (let i = from + 1; i < to; i++) expect(bag.hashes[i]).toBeGreaterThan(bag.hashes[i - 1]);
    }
    for (const c of bag.counts) expect(c).toBeGreaterThan(0);
    expect(Array.from(bag2.hashes)).toEqual(Array.from(bag.hashes));
    expect(Array.from(bag2.counts)).toEqual(Array.from(bag.counts));
    expect(Array.from(bag2.normHash)).toEqual(Array.from(bag.normHash));
    // Identifier sub-tokens: parse, header, line, text, max, count, parts, split, len, name, value, strip, lower.
    expect(bag.kindOffsets[1] - bag.kindOffsets[0]).toBe(13);
    // A changed operator changes the normalised hash and the graphlets, not the identifiers.
    const op = withFunctionNode(parser, SRC.replace('maxCount < 0', 'maxCount > 0'), extractFeatures);
    expect(Array.from(op.normHash)).not.toEqual(Array.from(bag.normHash));
    expect(Array.from(op.hashes.subarray(0, op.kindOffsets[1]))).toEqual(Array.from(bag.hashes.subarray(0, bag.kindOffsets[1])));
    expect(Array.from(op.hashes.subarray(op.kindOffsets[2], op.kindOffsets[3]))).not.toEqual(
      Array.from(bag.hashes.subarray(bag.kindOffsets[2], bag.kindOffsets[3])),
    );
  });
});
