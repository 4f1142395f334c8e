// Go functions for the tree-sitter engine (tree-functions.ts), grammar tree-sitter-go.
//
// Extracted: top-level function declarations ('function') and method declarations ('method',
// qualname `Receiver.Name` with the receiver's pointer and type parameters dropped: `(s *Server[K])
// Serve` is `Server.Serve`). Function literals are anonymous: not extracted. Go functions are
// declared only at the top level, so only the root's children are looked at.
// Parameters: one entry per name (`a, b int` gives two, both typed `int`); an unnamed parameter is
// `_`; a variadic one keeps its `...` in the type (`...string`); the receiver is not a parameter.
// Go has no defaults: args_defaults are all null. Type parameters are not parameters.
// Doc comment: the `//` lines (or one `/* */` block) directly above, as go/doc reads them: the
// first space after `//` goes, directive lines (`//go:generate`, `//line`, `//export`,
// `//nolint:x`) are left out, indentation inside is kept.
import type { Node } from 'web-tree-sitter';
import { bareTypeName, type FunctionSite, type LanguageRules, type Params } from './tree-functions.ts';

function params(list: Node | null): Params {
  const out: Params = { args: [], types: [], defaults: [] };
  if (!list) return out;
  for (const p of list.namedChildren) {
    if (!p || (p.type !== 'parameter_declaration' && p.type !== 'variadic_parameter_declaration')) continue;
    const typeNode = p.childForFieldName('type');
    let type = typeNode ? typeNode.text : null;
    if (p.type === 'variadic_parameter_declaration' && type !== null) type = `...${type}`;
    const names = p.childrenForFieldName('name').filter((n): n is Node => n !== null);
    if (names.length === 0) {
      out.args.push('_');
      out.types.push(type);
      out.defaults.push(null);
    }
    for (const n of names) {
      out.args.push(n.text);
      out.types.push(type);
      out.defaults.push(null);
    }
  }
  return out;
}

export const GO_RULES: LanguageRules = {
  lang: 'go',
  functionTypes: ['function_declaration', 'method_declaration'],
  scopeTypes: [],
  topLevelOnly: true,
  doc: { kind: 'lines', prefix: '//', block: '/*', keepIndent: true, directive: /^\/\/(line |extern |export |[a-z0-9]+:[a-z0-9])/ },
  fn(node: Node): FunctionSite | null {
    if (!node.childForFieldName('body')) return null;
    const name = node.childForFieldName('name');
    if (!name) return null;
    const site: FunctionSite = { name: name.text, isAsync: false, params: () => params(node.childForFieldName('parameters')), anchor: node };
    if (node.type === 'method_declaration') {
      const recv = node.childForFieldName('receiver');
      const decl = recv?.namedChildren.find((c) => c?.type === 'parameter_declaration') ?? null;
      const type = decl?.childForFieldName('type');
      if (type) site.qualPrefix = [bareTypeName(type.text)];
      site.kind = 'method';
    }
    return site;
  },
  scope() {
    return null;
  },
};
