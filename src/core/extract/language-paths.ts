// Which source language a file is, by its path. Shared by the archive reader (to keep only source
// files) and the multi-language extractor; kept apart from languages.ts so that reading archives
// does not pull in web-tree-sitter.

export type SourceLanguage = 'python' | 'javascript' | 'typescript' | 'tsx' | 'go' | 'java' | 'ruby' | 'rust';

export const SOURCE_LANGUAGES: readonly SourceLanguage[] = ['python', 'javascript', 'typescript', 'tsx', 'go', 'java', 'ruby', 'rust'];

const BY_EXTENSION: ReadonlyMap<string, SourceLanguage> = new Map([
  ['py', 'python'],
  ['pyi', 'python'],
  ['js', 'javascript'],
  ['mjs', 'javascript'],
  ['cjs', 'javascript'],
  ['jsx', 'javascript'],
  ['ts', 'typescript'],
  ['mts', 'typescript'],
  ['cts', 'typescript'],
  ['tsx', 'tsx'],
  ['go', 'go'],
  ['java', 'java'],
  ['rb', 'ruby'],
  ['rake', 'ruby'],
  ['gemspec', 'ruby'],
  ['rs', 'rust'],
]);

/** Ruby files known by their whole name. */
const BY_NAME: ReadonlyMap<string, SourceLanguage> = new Map([
  ['Rakefile', 'ruby'],
  ['Gemfile', 'ruby'],
]);

/**
 * The language of a file by its extension (case-insensitive) or, for a few Ruby files, its name;
 * null for anything else. `.d.ts` files are TypeScript (their declarations have no bodies and yield
 * few functions); minified bundles are not recognised as such here.
 */
export function languageOfPath(path: string): SourceLanguage | null {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const base = path.slice(slash + 1);
  const byName = BY_NAME.get(base);
  if (byName) return byName;
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || dot === base.length - 1) return null;
  return BY_EXTENSION.get(base.slice(dot + 1).toLowerCase()) ?? null;
}
