// The manifest's optional `layouts[].tiles` entry (written by prebuild/stages/tiles.ts): manifests
// without it stay valid, a well-formed one validates, and each way of breaking it is refused with a
// message naming the field.
import { describe, expect, test } from 'vitest';
import { ManifestError, validateManifest } from '../../../src/core/data/manifest.ts';
import { SCHEMA_VERSION } from '../../../src/core/data/schema.ts';

const file = (path: string, rows?: number) => ({ path, bytes: 10, sha256: 'a'.repeat(64), ...(rows !== undefined ? { rows } : {}) });

function manifest(tiles?: unknown): Record<string, unknown> {
  return {
    schema_version: SCHEMA_VERSION,
    generator: 'test',
    sources: ['synthetic'],
    counts: { repos: 1, files: 1, functions: 3, skipped_files: 0 },
    tables: {
      repos: [file('repos.parquet', 1)],
      functions: [file('functions-00000.parquet', 3)],
      'layout-default': [file('layout-default-00000.parquet', 3)],
      'tiles-default': [file('tiles-default.parquet', 9)],
      'points-default': [file('points-default-00000.parquet', 2), file('points-default-00001.parquet', 1)],
    },
    embeddings: [],
    layouts: [
      {
        name: 'default',
        method: 'synthetic',
        table: 'layout-default',
        dims: 3,
        bounds: { min: [0, 0, 0], max: [1, 1, 1] },
        ...(tiles !== undefined ? { tiles } : {}),
      },
    ],
    default_layout: 'default',
    models: {},
    stats: null,
  };
}

const good = {
  table: 'tiles-default',
  points: 'points-default',
  levels: 8,
  extent: { x0: -1.5, y0: -2, size: 4 },
  code_ranges: [
    [0, 1000],
    [1001, 65535],
  ],
};

describe('manifest layouts[].tiles', () => {
  test('is optional: a manifest without it validates as before', () => {
    expect(validateManifest(manifest()).layouts[0]!.tiles).toBeUndefined();
  });

  test('a well-formed entry validates and is kept', () => {
    expect(validateManifest(manifest(good)).layouts[0]!.tiles).toEqual(good);
  });

  const broken: [string, unknown, RegExp][] = [
    ['not an object', 5, /tiles is malformed: not an object/],
    ['an unlisted pyramid table', { ...good, table: 'tiles-other' }, /table names no table/],
    ['an unlisted points table', { ...good, points: 'nope' }, /points names no table/],
    ['levels out of range', { ...good, levels: 16 }, /levels is not a whole number from 0 to 15/],
    ['fractional levels', { ...good, levels: 2.5 }, /levels/],
    ['a zero size', { ...good, extent: { x0: 0, y0: 0, size: 0 } }, /positive size/],
    ['a non-finite origin', { ...good, extent: { x0: null, y0: 0, size: 1 } }, /extent/],
    ['one range too few', { ...good, code_ranges: [[0, 5]] }, /one range per points shard/],
    ['a reversed range', { ...good, code_ranges: [[9, 5], [10, 11]] }, /is not \[lo, hi\]/],
    ['a code beyond the level', { ...good, code_ranges: [[0, 5], [6, 65536]] }, /within 0\.\.65535/],
    ['a range that is not a pair', { ...good, code_ranges: [[0], [1, 2]] }, /is not \[lo, hi\]/],
  ];
  for (const [what, tiles, message] of broken) {
    test(`refuses ${what}`, () => {
      let err: unknown;
      try {
        validateManifest(manifest(tiles));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).kind).toBe('malformed');
      expect((err as Error).message).toMatch(/layouts\[0\]\.tiles/);
      expect((err as Error).message).toMatch(message);
    });
  }
});
