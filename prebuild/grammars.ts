// Node side of grammar loading: finds the tree-sitter runtime and grammar .wasm files in
// node_modules (by package resolution, so hoisting and workspaces do not matter) and builds the
// extractor. One extractor per thread; it is reusable for any number of files.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PythonExtractor } from '../src/core/extract/python.ts';

const require = createRequire(import.meta.url);

/** Absolute path of tree-sitter-python.wasm from @vscode/tree-sitter-wasm. */
export function pythonGrammarPath(): string {
  return join(dirname(require.resolve('@vscode/tree-sitter-wasm/package.json')), 'wasm', 'tree-sitter-python.wasm');
}

/** Absolute path of web-tree-sitter's runtime .wasm. */
export function treeSitterRuntimePath(): string {
  return require.resolve('web-tree-sitter/web-tree-sitter.wasm');
}

/** A ready Python extractor for this thread. */
export async function loadPythonExtractor(): Promise<PythonExtractor> {
  const grammarWasm = new Uint8Array(await readFile(pythonGrammarPath()));
  return PythonExtractor.create({ grammarWasm, runtimeWasmUrl: treeSitterRuntimePath() });
}
