// Features of one stored function body, the way every dedup path computes them (the prebuild's
// workers, the browser's dedup worker): parse the body alone, find its definition, extract.
import type { Node, Parser } from 'web-tree-sitter';
import { extractFeatures, type FeatureBag } from './features.ts';

/** The definition node of a parsed function body: the first function_definition, or a decorated one's definition. */
function definitionOf(root: Node): Node | null {
  const cursor = root.walk();
  try {
    for (;;) {
      const node = cursor.currentNode;
      if (node.type === 'function_definition') return node;
      if (node.type === 'decorated_definition') return node.childForFieldName('definition');
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return null;
    }
  } finally {
    cursor.delete();
  }
}

/** Features of one body, or null when it does not parse. */
export function bodyFeatures(parser: Parser, body: string): FeatureBag | null {
  // Method bodies are indented whole lines: under `if 1:` any indentation is a valid block.
  const src = /^[ \t]/.test(body) ? `if 1:\n${body}` : body;
  const tree = parser.parse(src);
  if (!tree) return null;
  try {
    if (tree.rootNode.hasError) return null;
    const node = definitionOf(tree.rootNode);
    return node ? extractFeatures(node) : null;
  } finally {
    tree.delete();
  }
}
