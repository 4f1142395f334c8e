// Ruby methods for the tree-sitter engine (tree-functions.ts), grammar tree-sitter-ruby.
//
// Extracted: `def name` ('method' inside a class, module or `class << self`; 'nested' inside another
// method; else 'function') and `def self.name` / `def obj.name` (singleton methods; qualname
// `Class.name`, or `obj.name` for another receiver). Endless methods (`def f = 1`) too. Blocks,
// procs, lambdas and `define_method` are anonymous or dynamic: not extracted; they are not scopes
// either, so a `def` inside a block keeps its class as scope.
// qualname: enclosing class and module names (`A::B` counts as `A.B`) and the name, joined by '.'.
// Parameters as written with their markers: `*args`, `**opts`, `&blk`, `...`, `**nil`; keyword
// parameters by name (`key:` is `key`); destructuring as text. Defaults (optional and keyword
// parameters) as written. Ruby has no annotations: args_types are all null.
// Doc comment: the `#` lines directly above the `def` (a `#!` line ends it), dedented.
import type { Node } from 'web-tree-sitter';
import type { FunctionSite, LanguageRules, Params, ScopeSite } from './tree-functions.ts';

function params(list: Node | null): Params {
  const out: Params = { args: [], types: [], defaults: [] };
  if (!list) return out;
  for (const p of list.namedChildren) {
    if (!p || p.type === 'comment') continue;
    let name: string;
    let def: string | null = null;
    switch (p.type) {
      case 'optional_parameter':
      case 'keyword_parameter': {
        name = p.childForFieldName('name')?.text ?? p.text;
        def = p.childForFieldName('value')?.text ?? null;
        break;
      }
      default:
        name = p.text;
    }
    out.args.push(name);
    out.types.push(null);
    out.defaults.push(def);
  }
  return out;
}

function constantPath(node: Node | null): string | null {
  if (!node) return null;
  return node.text.replace(/^::/, '').split('::').map((s) => s.trim()).join('.');
}

export const RUBY_RULES: LanguageRules = {
  lang: 'ruby',
  functionTypes: ['method', 'singleton_method'],
  scopeTypes: ['class', 'module', 'singleton_class'],
  doc: { kind: 'lines', prefix: '#', exclude: /^#!/ },
  fn(node: Node): FunctionSite | null {
    const name = node.childForFieldName('name');
    if (!name) return null;
    const site: FunctionSite = { name: name.text, isAsync: false, params: () => params(node.childForFieldName('parameters')), anchor: node };
    if (node.type === 'singleton_method') {
      const obj = node.childForFieldName('object');
      if (obj && obj.type !== 'self') site.qualPrefix = [obj.text];
    }
    return site;
  },
  scope(node: Node): ScopeSite | null {
    if (node.type === 'singleton_class') return { name: null, isClass: true };
    return { name: constantPath(node.childForFieldName('name')), isClass: true };
  },
};
