// Multi-language extraction on real code: files from Debian packages and npm packages under
// test/fixtures/code/<lang>/ (origin and licence in each file's header). Every expectation below was
// checked by reading the fixture; line numbers are the fixture's own (header included).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtractedFunction } from '../../../src/core/data/schema.ts';
import {
  grammarFileName,
  languageOfPath,
  MultiLanguageExtractor,
  SOURCE_LANGUAGES,
  type SourceLanguage,
} from '../../../src/core/extract/languages.ts';
import { contentHash } from '../../../src/core/util/hash.ts';

const require = createRequire(import.meta.url);
const wasmDir = join(dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm');
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'code');

const loads: SourceLanguage[] = [];
let ex: MultiLanguageExtractor;
beforeAll(async () => {
  ex = await MultiLanguageExtractor.create({
    grammarWasm: async (lang) => {
      loads.push(lang);
      return new Uint8Array(readFileSync(join(wasmDir, grammarFileName(lang))));
    },
    runtimeWasmUrl: require.resolve('web-tree-sitter/web-tree-sitter.wasm'),
  });
});
afterAll(() => ex?.delete());

async function extractFixture(lang: SourceLanguage, rel: string): Promise<Map<string, ExtractedFunction[]>> {
  const src = readFileSync(join(fixtures, rel), 'utf8');
  const r = await ex.extract(lang, src, rel);
  expect(r.error).toBeNull();
  const byQual = new Map<string, ExtractedFunction[]>();
  for (const f of r.functions) {
    expect(f.lang).toBe(lang);
    expect(f.args_types.length).toBe(f.args.length);
    expect(f.args_defaults.length).toBe(f.args.length);
    expect(f.n_lines).toBe(f.end_line - f.start_line + 1);
    expect(f.body.split('\n').length).toBe(f.n_lines);
    expect(f.content_hash).toBe(contentHash(f.body));
    // The body is exactly the source lines start_line..end_line.
    expect(f.body).toBe(src.split('\n').slice(f.start_line - 1, f.end_line).join('\n'));
    const list = byQual.get(f.qualname) ?? [];
    list.push(f);
    byQual.set(f.qualname, list);
  }
  return byQual;
}

function one(m: Map<string, ExtractedFunction[]>, qualname: string): ExtractedFunction {
  const list = m.get(qualname);
  if (!list || list.length !== 1) throw new Error(`expected one ${qualname}, got ${list?.length ?? 0} of [${[...m.keys()].join(', ')}]`);
  return list[0];
}

describe('languages', () => {
  it('maps paths to languages and languages to grammar files that exist', () => {
    expect(languageOfPath('a/b.py')).toBe('python');
    expect(languageOfPath('x.mjs')).toBe('javascript');
    expect(languageOfPath('X.JSX')).toBe('javascript');
    expect(languageOfPath('types.d.ts')).toBe('typescript');
    expect(languageOfPath('App.tsx')).toBe('tsx');
    expect(languageOfPath('main.go')).toBe('go');
    expect(languageOfPath('A.java')).toBe('java');
    expect(languageOfPath('lib/Rakefile')).toBe('ruby');
    expect(languageOfPath('x.gemspec')).toBe('ruby');
    expect(languageOfPath('src/lib.rs')).toBe('rust');
    expect(languageOfPath('README.md')).toBeNull();
    expect(languageOfPath('.py')).toBeNull();
    expect(languageOfPath('Makefile')).toBeNull();
    for (const lang of SOURCE_LANGUAGES) expect(readFileSync(join(wasmDir, grammarFileName(lang))).length).toBeGreaterThan(10_000);
  });
});

describe('Go (golang-1.19-src: path/path.go, strings/replace.go)', () => {
  it('functions with doc comments, variadic parameters and exact bodies', async () => {
    const m = await extractFixture('go', 'go/path.go');
    expect([...m.keys()]).toEqual(['lazybuf.index', 'lazybuf.append', 'lazybuf.string', 'Clean', 'lastSlash', 'Split', 'Join', 'Ext', 'Base', 'IsAbs', 'Dir']);
    const isAbs = one(m, 'IsAbs');
    expect(isAbs).toMatchObject({ name: 'IsAbs', kind: 'function', is_async: false, start_line: 222, end_line: 224, args: ['path'], args_types: ['string'], args_defaults: [null] });
    expect(isAbs.body).toBe("func IsAbs(path string) bool {\n\treturn len(path) > 0 && path[0] == '/'\n}");
    expect(isAbs.docstring).toBe('IsAbs reports whether the path is absolute.');
    expect(isAbs.docstyle).toBe('plain');
    const clean = one(m, 'Clean');
    expect(clean.docstring?.startsWith('Clean returns the shortest path name equivalent to path\nby purely lexical processing.')).toBe(true);
    // go/doc keeps the indentation of list items inside the comment.
    expect(clean.docstring).toContain('\n 3. Eliminate each inner .. path name element (the parent directory)\n    along with');
    expect(clean.docstring?.endsWith('https://9p.io/sys/doc/lexnames.html')).toBe(true);
    expect(one(m, 'Join')).toMatchObject({ args: ['elem'], args_types: ['...string'] });
    const index = one(m, 'lazybuf.index');
    expect(index).toMatchObject({ name: 'index', kind: 'method', args: ['i'], args_types: ['int'], docstring: null, docstyle: 'none' });
  });

  it('methods on pointer receivers, grouped parameter names', async () => {
    const m = await extractFixture('go', 'go/replace.go');
    expect(m.size).toBe(21);
    expect(one(m, 'trieNode.add')).toMatchObject({ kind: 'method', args: ['key', 'val', 'priority', 'r'], args_types: ['string', 'string', 'int', '*genericReplacer'] });
    expect(one(m, 'Replacer.WriteString')).toMatchObject({
      args: ['w', 's'],
      args_types: ['io.Writer', 'string'],
      docstring: 'WriteString writes s to w with all replacements performed.',
      start_line: 104,
    });
    expect(m.get('byteReplacer.WriteString')?.length).toBe(1);
    expect(one(m, 'NewReplacer').kind).toBe('function');
  });
});

describe('Java (commons-csv 1.9.0: CSVRecord.java)', () => {
  it('methods, overloads, constructors, Javadoc and parameter types', async () => {
    const m = await extractFixture('java', 'java/CSVRecord.java');
    expect(m.get('CSVRecord.get')?.map((f) => f.args_types[0])).toEqual(['Enum<?>', 'int', 'String']);
    const getInt = m.get('CSVRecord.get')?.[1] as ExtractedFunction;
    expect(getInt).toMatchObject({ kind: 'method', start_line: 89, end_line: 91, args: ['i'], args_defaults: [null] });
    expect(getInt.body).toBe('    public String get(final int i) {\n        return values[i];\n    }');
    expect(getInt.docstring).toBe('Returns a value by index.\n\n@param i\n           a column index (0-based)\n@return the String at the given index');
    const ctor = one(m, 'CSVRecord.CSVRecord');
    expect(ctor).toMatchObject({ kind: 'method', args: ['parser', 'values', 'comment', 'recordNumber', 'characterPosition'] });
    expect(ctor.args_types).toEqual(['CSVParser', 'String[]', 'String', 'long', 'long']);
    const putIn = one(m, 'CSVRecord.putIn');
    expect(putIn.args_types).toEqual(['M']);
    expect(putIn.docstring?.startsWith('Puts all values of this record into the given Map.')).toBe(true);
    expect(one(m, 'CSVRecord.values').docstring).toBeNull();
    expect([...m.values()].flat().length).toBe(22);
  });
});

describe('Ruby (ruby3.1 stdlib: observer.rb, shellwords.rb)', () => {
  it('module methods with # doc blocks, defaults and splats', async () => {
    const m = await extractFixture('ruby', 'ruby/observer.rb');
    expect([...m.keys()]).toEqual([
      'Observable.add_observer', 'Observable.delete_observer', 'Observable.delete_observers', 'Observable.count_observers',
      'Observable.changed', 'Observable.changed?', 'Observable.notify_observers',
    ]);
    const add = one(m, 'Observable.add_observer');
    expect(add).toMatchObject({ kind: 'method', start_line: 156, end_line: 162, args: ['observer', 'func'], args_types: [null, null], args_defaults: [null, ':update'] });
    expect(add.docstring?.split('\n')[0]).toBe('Add +observer+ as an observer on this object. So that it will receive');
    expect(add.docstring?.endsWith('<tt>*arg</tt> is the value passed to #notify_observers by this\n         Observable')).toBe(true);
    expect(one(m, 'Observable.changed')).toMatchObject({ args: ['state'], args_defaults: ['true'], docstring: expect.stringMatching(/^Set the changed state of this object\./) as unknown as string });
    expect(one(m, 'Observable.notify_observers').args).toEqual(['*arg']);
  });

  it('methods reopened on core classes', async () => {
    const m = await extractFixture('ruby', 'ruby/shellwords.rb');
    expect([...m.keys()]).toEqual(['Shellwords.shellsplit', 'Shellwords.shellescape', 'Shellwords.shelljoin', 'String.shellsplit', 'String.shellescape', 'Array.shelljoin']);
    expect(one(m, 'String.shellescape').docstring?.startsWith('call-seq:\n  str.shellescape => string')).toBe(true);
    expect(one(m, 'Shellwords.shellsplit')).toMatchObject({ start_line: 91, args: ['line'] });
  });
});

describe('Rust (semver 1.0.14: lib.rs, identifier.rs, impls.rs)', () => {
  it('impl methods with /// docs, self parameters and types', async () => {
    const m = await extractFixture('rust', 'rust/lib.rs');
    const nw = one(m, 'Version.new');
    expect(nw).toMatchObject({ kind: 'method', start_line: 401, args: ['major', 'minor', 'patch'], args_types: ['u64', 'u64', 'u64'], args_defaults: [null, null, null] });
    expect(nw.docstring?.split('\n').slice(0, 3)).toEqual(['Create `Version` with an empty pre-release and build metadata.', '', 'Equivalent to:']);
    expect(nw.docstring).toContain('\n```\n# use semver::{BuildMetadata, Prerelease, Version};');
    expect(one(m, 'VersionReq.matches')).toMatchObject({
      args: ['&self', 'version'],
      args_types: [null, '&Version'],
      docstring: 'Evaluate whether the given `Version` satisfies the version requirement\ndescribed by `self`.',
    });
    expect(one(m, 'Prerelease.is_empty').docstring).toBeNull();
  });

  it('nested functions with attributes; plain // comments are not docs', async () => {
    const m = await extractFixture('rust', 'rust/identifier.rs');
    const cold = one(m, 'decode_len.decode_len_cold');
    expect(cold).toMatchObject({ kind: 'nested', start_line: 365, args: ['ptr'], args_types: ['*const u8'], docstring: null });
    expect(cold.body.split('\n').slice(0, 3)).toEqual(['        #[cold]', '        #[inline(never)]', '        unsafe fn decode_len_cold(mut ptr: *const u8) -> NonZeroUsize {']);
    expect(one(m, 'decode_len')).toMatchObject({ kind: 'function', docstring: null });
    expect(one(m, 'Identifier.drop').args).toEqual(['&mut self']);
  });

  it('trait impls are named by their type', async () => {
    const m = await extractFixture('rust', 'rust/impls.rs');
    expect([...m.keys()]).toEqual([
      'Identifier.default', 'Identifier.hash', 'Prerelease.deref', 'BuildMetadata.deref', 'Prerelease.partial_cmp',
      'BuildMetadata.partial_cmp', 'Prerelease.cmp', 'BuildMetadata.cmp', 'VersionReq.from_iter',
    ]);
    expect(one(m, 'Identifier.hash')).toMatchObject({ args: ['&self', 'hasher'], args_types: [null, '&mut H'] });
  });
});

describe('JavaScript (picomatch 4.0.7: lib/picomatch.js)', () => {
  it('arrow functions bound to names and properties, JSDoc across a blank line, destructured defaults', async () => {
    const m = await extractFixture('javascript', 'javascript/picomatch.js');
    const main = one(m, 'picomatch');
    expect(main).toMatchObject({ kind: 'function', start_line: 46, end_line: 112, args: ['glob', 'options', 'returnState'], args_defaults: [null, null, 'false'] });
    expect(main.docstring?.startsWith('Creates a matcher function from one or more glob patterns.')).toBe(true);
    expect(main.docstring).toContain("console.log(isMatch('a\\\\b')); //=> false");
    const test = one(m, 'picomatch.test');
    expect(test).toMatchObject({ args: ['input', 'regex', 'options', '{ glob, posix }'], args_types: [null, null, null, null], args_defaults: [null, null, null, '{}'] });
    expect(test.docstring?.split('\n')[0]).toBe('Test `input` with the given `regex`. This is used by the main');
    expect(one(m, 'picomatch.arrayMatcher')).toMatchObject({ kind: 'nested', args: ['str'] });
    const toRegex = one(m, 'picomatch.toRegex');
    expect(toRegex.start_line).toBe(343);
    expect(toRegex.body.split('\n')[0]).toBe('picomatch.toRegex = (source, options) => {');
    expect(m.size).toBe(13);
  });
});

describe('TypeScript (comlink 4.4.2: src/comlink.ts)', () => {
  it('typed parameters with defaults, object-literal methods, nested named function expressions', async () => {
    const m = await extractFixture('typescript', 'typescript/comlink.ts.txt');
    expect(one(m, 'expose')).toMatchObject({
      kind: 'function',
      start_line: 301,
      args: ['obj', 'ep', 'allowedOrigins'],
      args_types: ['any', 'Endpoint', '(string | RegExp)[]'],
      args_defaults: [null, 'globalThis as any', '["*"]'],
    });
    expect(one(m, 'expose.callback')).toMatchObject({ kind: 'nested', args: ['ev'], args_types: ['MessageEvent'] });
    expect(one(m, 'windowEndpoint')).toMatchObject({ args_types: ['PostMessageWithOrigin', 'EventSource', null], args_defaults: [null, 'globalThis', '"*"'] });
    expect(one(m, 'windowEndpoint.postMessage')).toMatchObject({ kind: 'method', args: ['msg', 'transferables'], args_types: ['any', 'Transferable[]'] });
    expect(one(m, 'proxyTransferHandler.serialize')).toMatchObject({ kind: 'method', args: ['obj'] });
    expect(one(m, 'createProxy').args_defaults).toEqual([null, null, '[]', 'function () {}']);
    expect(one(m, 'isObject')).toMatchObject({ start_line: 178, end_line: 179, args_types: ['unknown'] });
    expect(m.size).toBe(34);
  });
});

describe('TSX (@tanstack/react-query 5.108.0: QueryErrorResetBoundary.tsx)', () => {
  it('components and hooks with JSDoc, JSX bodies', async () => {
    const m = await extractFixture('tsx', 'tsx/QueryErrorResetBoundary.tsx');
    expect([...m.keys()]).toEqual([
      'createValue', 'createValue.clearReset', 'createValue.reset', 'createValue.isReset', 'useQueryErrorResetBoundary', 'QueryErrorResetBoundary',
    ]);
    expect(one(m, 'createValue').docstring).toBe(
      "Creates the value shared through the boundary's context, which tracks whether a reset was\nrequested.\n@returns The `clearReset`, `isReset`, and `reset` functions of the boundary.",
    );
    expect(one(m, 'createValue.reset')).toMatchObject({ kind: 'method', docstring: 'Resets any query errors within the boundary, so queries know they can try again.' });
    expect(one(m, 'useQueryErrorResetBoundary')).toMatchObject({ kind: 'function', start_line: 105, end_line: 106, args: [] });
    const comp = one(m, 'QueryErrorResetBoundary');
    expect(comp.args_types).toEqual(['QueryErrorResetBoundaryProps']);
    expect(comp.body).toContain('<QueryErrorResetBoundaryContext.Provider value={value}>');
  });
});

describe('MultiLanguageExtractor', () => {
  it('delegates Python to the Python extractor and loads each grammar once, lazily', async () => {
    const r = await ex.extract('python', 'class A:\n    def m(self, x=1):\n        """Doc."""\n        return x\n', 'a.py');
    expect(r.error).toBeNull();
    expect(r.functions[0]).toMatchObject({ qualname: 'A.m', kind: 'method', lang: 'python', args: ['self', 'x'], args_defaults: [null, '1'], docstring: 'Doc.' });
    await ex.extract('python', 'def f(): pass\n', 'b.py');
    expect(loads.filter((l) => l === 'python').length).toBe(1);
    expect(new Set(loads).size).toBe(loads.length);
  });

  it('reports the first syntax error and still returns what the grammar recognised (non-Python)', async () => {
    const r = await ex.extract('javascript', 'function ok(a) { return a; }\nfunction broken( {\n', 'x.js');
    expect(r.error?.line).toBe(2);
    expect(r.functions.map((f) => f.qualname)).toContain('ok');
    const py = await ex.extract('python', 'def ok():\n    pass\ndef broken(:\n', 'x.py');
    expect(py.functions).toEqual([]);
    expect(py.error?.line).toBe(3);
  });

  it('small written cases: decorators, async, generics, namespaces, Go receivers, Ruby singletons', async () => {
    const ts = await ex.extract(
      'typescript',
      'namespace NS {\n  export class C {\n    /** Doc m. */\n    @dec()\n    static async m<T>(x?: T): Promise<void> {}\n  }\n}\n',
      'a.ts',
    );
    expect(ts.functions[0]).toMatchObject({ qualname: 'NS.C.m', kind: 'method', is_async: true, start_line: 4, args: ['x'], args_types: ['T'], docstring: 'Doc m.' });
    const go = await ex.extract('go', 'package p\n\n// F is f.\n//go:noinline\nfunc (s *S[K]) F(a, _ int, fn func(int) error) {}\n', 'a.go');
    expect(go.functions[0]).toMatchObject({ qualname: 'S.F', kind: 'method', args: ['a', '_', 'fn'], args_types: ['int', 'int', 'func(int) error'], docstring: 'F is f.' });
    const rb = await ex.extract('ruby', 'class A::B\n  def self.make(*xs, k: 1, **o, &b) = new\n  def outer\n    def inner; end\n  end\nend\n', 'a.rb');
    expect(rb.functions.map((f) => [f.qualname, f.kind])).toEqual([['A.B.make', 'method'], ['A.B.outer', 'method'], ['A.B.outer.inner', 'nested']]);
    expect(rb.functions[0]).toMatchObject({ args: ['*xs', 'k', '**o', '&b'], args_defaults: [null, '1', null, null] });
    const js = await ex.extract('javascript', 'Foo.prototype.bar = async function (a = 1, ...r) {};\nsetTimeout(() => { function helper() {} });\n', 'a.js');
    expect(js.functions.map((f) => [f.qualname, f.kind, f.is_async])).toEqual([['Foo.bar', 'method', true], ['helper', 'nested', false]]);
    expect(js.functions[0].args).toEqual(['a', '...r']);
  });
});
