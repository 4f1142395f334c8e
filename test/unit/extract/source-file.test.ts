import { describe, expect, test } from 'vitest';
import { decodeSourceFile } from '../../../src/core/extract/source-file.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('decodeSourceFile', () => {
  test('decodes UTF-8 and strips a BOM', () => {
    const r = decodeSourceFile(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('def f(): return "é"\n')]));
    expect(r).toEqual({ ok: true, text: 'def f(): return "é"\n', encoding: 'utf-8' });
  });

  test('honours a PEP 263 cookie on line 1 or 2, decoding Latin-1 as Latin-1 (not windows-1252)', () => {
    const bytes = new Uint8Array([...enc('#!/usr/bin/env python\n# -*- coding: latin-1 -*-\ns = "'), 0xe9, 0x80, ...enc('"\n')]);
    const r = decodeSourceFile(bytes);
    expect(r.ok && r.text.endsWith('s = "\u00e9\u0080"\n')).toBe(true);
    const cp1252 = decodeSourceFile(new Uint8Array([...enc('# coding: cp1252\ns = "'), 0x80, ...enc('"\n')]));
    expect(cp1252.ok && cp1252.text.includes('\u20ac')).toBe(true);
  });

  test('a cookie after code on line 1 does not count', () => {
    const r = decodeSourceFile(new Uint8Array([...enc('x = 1\n# coding: latin-1\ny = "'), 0xe9, ...enc('"\n')]));
    expect(r).toMatchObject({ ok: false, reason: 'not-utf8' });
  });

  test('refuses what CPython refuses, with the reason', () => {
    expect(decodeSourceFile(new Uint8Array([0xff, 0xfe, 0x41]))).toMatchObject({ ok: false, reason: 'not-utf8' });
    expect(decodeSourceFile(enc('# coding: uft-8\nx = 1\n'))).toMatchObject({ ok: false, reason: 'not-utf8', detail: expect.stringContaining('uft-8') });
    expect(decodeSourceFile(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('# coding: utf8\nx = 1\n')]))).toMatchObject({ ok: false, reason: 'syntax-error' });
    expect(decodeSourceFile(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('# coding: utf-8\nx = 1\n')]))).toMatchObject({ ok: true });
    expect(decodeSourceFile(new Uint8Array([0x64, 0x00, 0x65]))).toMatchObject({ ok: false, reason: 'binary' });
    expect(decodeSourceFile(enc('x = 1\n'.repeat(100)), { maxBytes: 10 })).toMatchObject({ ok: false, reason: 'too-large' });
  });
});
