// Function extraction in every supported language behind one object: Python goes to the existing
// PythonExtractor (full CPython-compatible schema); JavaScript, TypeScript/TSX, Go, Java, Ruby and
// Rust go to the tree-sitter engine (tree-functions.ts) with each language's rules (javascript.ts,
// go.ts, java.ts, ruby.ts, rust.ts). Grammars come from @vscode/tree-sitter-wasm and are loaded
// lazily, per language, the first time a file of that language is extracted; one parser per
// language is then reused. The web-tree-sitter runtime is initialised once per thread, shared with
// the Python extractor.
import { Language } from 'web-tree-sitter';
import { type SourceLanguage, SOURCE_LANGUAGES, languageOfPath } from './language-paths.ts';
import { GO_RULES } from './go.ts';
import { JAVA_RULES } from './java.ts';
import { javascriptRules } from './javascript.ts';
import { type ExtractResult, PythonExtractor, initTreeSitter } from './python.ts';
import { RUBY_RULES } from './ruby.ts';
import { RUST_RULES } from './rust.ts';
import { type LanguageRules, TreeFunctionExtractor } from './tree-functions.ts';

export { type SourceLanguage, SOURCE_LANGUAGES, languageOfPath };

const GRAMMAR_FILES: Record<SourceLanguage, string> = {
  python: 'tree-sitter-python.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  go: 'tree-sitter-go.wasm',
  java: 'tree-sitter-java.wasm',
  ruby: 'tree-sitter-ruby.wasm',
  rust: 'tree-sitter-rust.wasm',
};

/** Grammar file names inside @vscode/tree-sitter-wasm's wasm folder, per language. */
export function grammarFileName(lang: SourceLanguage): string {
  const f = GRAMMAR_FILES[lang];
  if (!f) throw new Error(`no grammar for language '${String(lang)}'`);
  return f;
}

/** The engine rules of a non-Python language. */
export function rulesFor(lang: Exclude<SourceLanguage, 'python'>): LanguageRules {
  switch (lang) {
    case 'javascript':
    case 'typescript':
    case 'tsx':
      return javascriptRules(lang);
    case 'go':
      return GO_RULES;
    case 'java':
      return JAVA_RULES;
    case 'ruby':
      return RUBY_RULES;
    case 'rust':
      return RUST_RULES;
  }
}

export interface MultiExtractorOptions {
  /** The grammar of a language: its .wasm bytes, or a URL/path `Language.load` understands. */
  grammarWasm: (lang: SourceLanguage) => Promise<Uint8Array | string>;
  /** Where web-tree-sitter's own runtime .wasm lives (browser bundles); default: next to its JS. */
  runtimeWasmUrl?: string;
}

interface Loaded {
  extract(source: string): ExtractResult;
  delete(): void;
}

export class MultiLanguageExtractor {
  private readonly opts: MultiExtractorOptions;
  private readonly loaded = new Map<SourceLanguage, Promise<Loaded>>();
  private deleted = false;

  private constructor(opts: MultiExtractorOptions) {
    this.opts = opts;
  }

  /** Initialises the runtime; grammars load lazily, per language, on first use. */
  static async create(opts: MultiExtractorOptions): Promise<MultiLanguageExtractor> {
    await initTreeSitter(opts.runtimeWasmUrl);
    return new MultiLanguageExtractor(opts);
  }

  private load(lang: SourceLanguage): Promise<Loaded> {
    let p = this.loaded.get(lang);
    if (!p) {
      p = (async (): Promise<Loaded> => {
        const wasm = await this.opts.grammarWasm(lang);
        if (lang === 'python') return PythonExtractor.create({ grammarWasm: wasm, runtimeWasmUrl: this.opts.runtimeWasmUrl });
        const language = await Language.load(wasm);
        return new TreeFunctionExtractor(language, rulesFor(lang));
      })();
      // A failed load is not cached: the next call tries again (and reports its own error).
      p.catch(() => this.loaded.delete(lang));
      this.loaded.set(lang, p);
    }
    return p;
  }

  /**
   * Extracts the functions of one file. Same ExtractResult as PythonExtractor: functions with
   * `lang` set, and the first syntax error or null. `path` is used in error messages only.
   */
  async extract(lang: SourceLanguage, source: string, path: string): Promise<ExtractResult> {
    if (this.deleted) throw new Error('MultiLanguageExtractor used after delete()');
    if (!SOURCE_LANGUAGES.includes(lang)) throw new Error(`${path}: unsupported language '${String(lang)}'`);
    const ex = await this.load(lang);
    return ex.extract(source);
  }

  /** Frees every loaded parser. The extractor must not be used afterwards. */
  delete(): void {
    this.deleted = true;
    for (const p of this.loaded.values()) void p.then((ex) => ex.delete(), () => {});
    this.loaded.clear();
  }
}
