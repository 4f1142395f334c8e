// JavaScript, TypeScript and TSX functions for the tree-sitter engine (tree-functions.ts), with the
// grammars tree-sitter-javascript (JSX included), tree-sitter-typescript and tree-sitter-tsx.
//
// Extracted: function declarations (generators too), class and object-literal methods (getters and
// setters included, `#private` names as written), and function or arrow-function VALUES that have a
// name where they are defined: `const f = () => {}`, `f = function () {}`, `obj.f = ...`,
// `Foo.prototype.f = ...` (a 'method' of Foo), `{ f: () => {} }`, class fields `f = () => {}`.
// A value's name is the binding's name, not a function expression's own name
// (`const a = function b() {}` is `a`). Callbacks and IIFEs are anonymous: not extracted.
// Scopes: classes (declarations and named class expressions), TypeScript namespaces/modules, and
// object literals bound to a name (their functions are 'method's).
// Qualnames of assignments drop `this.`, `exports.`, `module.exports.` and `.prototype`.
// Parameters: names as written with patterns kept as text (`{ a, b }`, `...rest`); TypeScript types
// without the ':'; defaults as written. JavaScript has no annotations: args_types are all null.
// Doc comment: the JSDoc block `/** ... */` ending on the line right above the declaration.
import type { Node } from 'web-tree-sitter';
import { annotationText, type FunctionSite, type LanguageRules, type Params, type ScopeSite } from './tree-functions.ts';

const FUNCTION_VALUES = new Set(['function_expression', 'function', 'generator_function', 'arrow_function']);

interface ContextName {
  name: string | null;
  prefix: string[];
  prototype: boolean;
  /** The statement or member that holds the declaration (for the doc comment and first line). */
  holder: Node;
}

function unquote(t: string): string {
  return /^(['"`]).*\1$/s.test(t) ? t.slice(1, -1) : t;
}

/** `this.a`, `module.exports.b`, `Foo.prototype.c` -> name and qualname prefix. */
function memberName(left: Node): { name: string | null; prefix: string[]; prototype: boolean } {
  const prop = left.childForFieldName('property');
  const obj = left.childForFieldName('object');
  if (!prop || !obj) return { name: null, prefix: [], prototype: false };
  const parts = obj.text.split('.').map((p) => p.trim());
  let prototype = false;
  const prefix: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p === 'prototype') {
      prototype = true;
      continue;
    }
    if (i === 0 && (p === 'this' || p === 'exports')) continue;
    if (i === 0 && p === 'module' && parts[1] === 'exports') {
      i++;
      continue;
    }
    if (!/^[\w$#]+$/.test(p)) return { name: prop.text, prefix: [], prototype: false };
    prefix.push(p);
  }
  return { name: prop.text, prefix, prototype };
}

/** The name a function or object value gets from where it is written, if any. */
function contextName(node: Node): ContextName {
  const parent = node.parent;
  const none: ContextName = { name: null, prefix: [], prototype: false, holder: node };
  if (!parent) return none;
  switch (parent.type) {
    case 'variable_declarator': {
      const id = parent.childForFieldName('name');
      if (!id || id.type !== 'identifier') return none;
      let holder: Node = parent.parent ?? parent;
      if (holder.parent?.type === 'export_statement') holder = holder.parent;
      return { name: id.text, prefix: [], prototype: false, holder };
    }
    case 'assignment_expression': {
      const left = parent.childForFieldName('left');
      if (!left) return none;
      const holder = parent.parent?.type === 'expression_statement' ? parent.parent : parent;
      if (left.type === 'identifier') return { name: left.text, prefix: [], prototype: false, holder };
      if (left.type === 'member_expression') return { ...memberName(left), holder };
      return none;
    }
    case 'pair': {
      const key = parent.childForFieldName('key');
      if (!key) return none;
      return { name: unquote(key.text), prefix: [], prototype: false, holder: parent };
    }
    case 'public_field_definition':
    case 'field_definition': {
      const key = parent.childForFieldName('name') ?? parent.childForFieldName('property');
      if (!key) return none;
      return { name: unquote(key.text), prefix: [], prototype: false, holder: withDecorators(parent) };
    }
    default:
      return none;
  }
}

/** The first of the decorators written right before a class member, or the member itself. */
function withDecorators(node: Node): Node {
  let first = node;
  for (let p = node.previousNamedSibling; p && p.type === 'decorator'; p = p.previousNamedSibling) first = p;
  return first;
}

/** Tokens and nodes that may precede `async` in a declaration. */
const MODIFIERS = new Set(['decorator', 'accessibility_modifier', 'override_modifier', 'comment']);

function isAsync(node: Node): boolean {
  for (const c of node.children) {
    if (!c) continue;
    if (c.type === 'async') return true;
    // Modifiers come first: past the first name, pattern or parameter list there is no `async`.
    if (c.isNamed && !MODIFIERS.has(c.type)) return false;
  }
  return false;
}

function params(node: Node, typed: boolean): Params {
  const out: Params = { args: [], types: [], defaults: [] };
  const list = node.childForFieldName('parameters');
  if (!list) {
    const single = node.childForFieldName('parameter');
    if (single) {
      out.args.push(single.text);
      out.types.push(null);
      out.defaults.push(null);
    }
    return out;
  }
  for (const p of list.namedChildren) {
    if (!p || p.type === 'comment') continue;
    let name: string;
    let type: string | null = null;
    let def: string | null = null;
    switch (p.type) {
      case 'assignment_pattern': {
        name = p.childForFieldName('left')?.text ?? p.text;
        def = p.childForFieldName('right')?.text ?? null;
        break;
      }
      case 'required_parameter':
      case 'optional_parameter': {
        name = p.childForFieldName('pattern')?.text ?? p.text;
        type = annotationText(p.childForFieldName('type'));
        def = p.childForFieldName('value')?.text ?? null;
        break;
      }
      default:
        name = p.text;
    }
    out.args.push(name);
    out.types.push(typed ? type : null);
    out.defaults.push(def);
  }
  return out;
}

export function javascriptRules(lang: 'javascript' | 'typescript' | 'tsx'): LanguageRules {
  const typed = lang !== 'javascript';
  return {
    lang,
    functionTypes: ['function_declaration', 'generator_function_declaration', 'method_definition', ...FUNCTION_VALUES],
    scopeTypes: ['class_declaration', 'abstract_class_declaration', 'class', 'internal_module', 'module', 'object'],
    doc: { kind: 'block' },
    fn(node: Node): FunctionSite | null {
      const body = node.childForFieldName('body');
      if (!body) return null;
      const type = node.type;
      if (type === 'method_definition') {
        const name = node.childForFieldName('name');
        return { name: name ? name.text : null, isAsync: isAsync(node), params: () => params(node, typed), anchor: withDecorators(node) };
      }
      if (type === 'function_declaration' || type === 'generator_function_declaration') {
        const name = node.childForFieldName('name');
        const anchor = node.parent?.type === 'export_statement' ? node.parent : node;
        return { name: name ? name.text : null, isAsync: isAsync(node), params: () => params(node, typed), anchor };
      }
      const ctx = contextName(node);
      const own = node.childForFieldName('name');
      const name = ctx.name ?? (own ? own.text : null);
      return {
        name,
        qualPrefix: ctx.name !== null && ctx.prefix.length ? ctx.prefix : undefined,
        kind: ctx.prototype ? 'method' : undefined,
        isAsync: isAsync(node),
        params: () => params(node, typed),
        anchor: ctx.name !== null ? ctx.holder : node,
      };
    },
    scope(node: Node): ScopeSite | null {
      const type = node.type;
      if (type === 'object') {
        const ctx = contextName(node);
        return { name: ctx.name, isClass: true };
      }
      if (type === 'internal_module' || type === 'module') {
        const name = node.childForFieldName('name');
        return { name: name ? unquote(name.text) : null, isClass: false };
      }
      const name = node.childForFieldName('name');
      if (name) return { name: name.text, isClass: true };
      return { name: contextName(node).name, isClass: true };
    },
  };
}
