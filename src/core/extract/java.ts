// Java methods for the tree-sitter engine (tree-functions.ts), grammar tree-sitter-java.
//
// Extracted: methods with bodies (interface default and static methods too), constructors and
// record compact constructors (named after their class), in classes, interfaces, enums, records,
// annotation types, anonymous class bodies and enum constant bodies: all 'method'. Lambdas are
// anonymous: not extracted. Abstract and interface methods without bodies are not extracted.
// qualname: enclosing named types and the name (`Outer.Inner.m`); a method of an anonymous class
// inside `Outer.run` is `Outer.run.m`.
// Parameters: names, with types as written (`int[]`, `List<String>`, varargs `String...`);
// annotations and `final` are not part of the type; the receiver parameter (`Foo this`) is left
// out. Java has no defaults: args_defaults are all null.
// Doc comment: the Javadoc block `/** ... */` ending on the line right above the declaration
// (annotations are part of the declaration, so Javadoc above them counts).
import type { Node } from 'web-tree-sitter';
import type { FunctionSite, LanguageRules, Params, ScopeSite } from './tree-functions.ts';

function params(list: Node | null): Params {
  const out: Params = { args: [], types: [], defaults: [] };
  if (!list) return out;
  for (const p of list.namedChildren) {
    if (!p) continue;
    if (p.type === 'formal_parameter') {
      const name = p.childForFieldName('name');
      const type = p.childForFieldName('type');
      const dims = p.childForFieldName('dimensions');
      out.args.push(name ? name.text : p.text);
      out.types.push(type ? type.text + (dims ? dims.text : '') : null);
      out.defaults.push(null);
    } else if (p.type === 'spread_parameter') {
      const decl = p.namedChildren.find((c) => c?.type === 'variable_declarator') ?? null;
      const type = p.namedChildren.find((c) => c !== null && c.type !== 'modifiers' && c.type !== 'variable_declarator') ?? null;
      const name = decl?.childForFieldName('name');
      out.args.push(name ? name.text : p.text);
      out.types.push(type ? `${type.text}...` : null);
      out.defaults.push(null);
    }
  }
  return out;
}

const DECLARATIONS = new Set(['class_declaration', 'interface_declaration', 'enum_declaration', 'record_declaration', 'annotation_type_declaration']);

export const JAVA_RULES: LanguageRules = {
  lang: 'java',
  functionTypes: ['method_declaration', 'constructor_declaration', 'compact_constructor_declaration'],
  scopeTypes: [...DECLARATIONS, 'class_body'],
  doc: { kind: 'block' },
  fn(node: Node): FunctionSite | null {
    if (!node.childForFieldName('body')) return null;
    const name = node.childForFieldName('name');
    if (!name) return null;
    const list = node.type === 'compact_constructor_declaration' ? null : node.childForFieldName('parameters');
    return { name: name.text, kind: 'method', isAsync: false, params: () => params(list), anchor: node };
  },
  scope(node: Node): ScopeSite | null {
    if (node.type === 'class_body') {
      // Bodies of named declarations are covered by the declaration; anonymous ones are scopes.
      const parent = node.parent;
      return parent && !DECLARATIONS.has(parent.type) ? { name: null, isClass: true } : null;
    }
    const name = node.childForFieldName('name');
    return { name: name ? name.text : null, isClass: true };
  },
};
