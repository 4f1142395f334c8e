// Docstring convention classifier: which of the four common structured conventions a docstring
// follows, if any.
//
// Evidence, counted per docstring (line based, one linear pass, no backtracking regular expressions
// over the whole text):
//   epytext  `@param x: ...`, `@type x: ...`, `@return: ...`, `@raise E: ...` (known epytext fields
//            only, so a decorator in a code sample does not count)
//   rest     Sphinx field lists `:param x: ...`, `:type x: ...`, `:returns: ...`, `:rtype: ...`,
//            `:raises E: ...`, `:ivar ...:`; also `.. directive::` lines, but only as a tie-breaker
//            (numpy and google docstrings often carry `.. versionadded::`)
//   google   a section header `Args:`, `Returns:`, `Raises:`, `Yields:`, `Attributes:` ... alone on
//            its line with a more indented non-blank line after it (`Example:`/`Note:` alone are
//            common in plain prose and do not count)
//   numpy    a known section title (`Parameters`, `Returns`, `Raises`, `See Also`, `Notes`, ...)
//            underlined by a line of dashes
// The style with the most evidence wins; ties go numpy > google > rest > epytext (from the most to
// the least specific pattern). No evidence: `plain` if there is any text, `none` if null or blank.
import type { DocStyle } from '../data/schema.ts';

const EPYTEXT_FIELDS = new Set([
  'param', 'parameter', 'arg', 'argument', 'type', 'keyword', 'kwarg', 'kwparam', 'return', 'returns',
  'rtype', 'returntype', 'raise', 'raises', 'except', 'exception', 'ivar', 'cvar', 'var', 'vartype',
  'see', 'note', 'attention', 'bug', 'warning', 'warn', 'version', 'todo', 'since', 'deprecated',
  'author', 'organization', 'copyright', 'license', 'contact', 'summary', 'precondition',
  'postcondition', 'invariant', 'change', 'requires', 'yield', 'yields', 'ytype', 'status',
]);

const REST_FIELDS = new Set([
  'param', 'parameter', 'arg', 'argument', 'key', 'keyword', 'kwarg', 'kwparam', 'type', 'raises',
  'raise', 'except', 'exception', 'var', 'ivar', 'cvar', 'vartype', 'returns', 'return', 'rtype',
  'yield', 'yields', 'ytype', 'meta',
]);

const GOOGLE_SECTIONS = new Set([
  'args', 'arguments', 'parameters', 'params', 'keyword args', 'keyword arguments', 'kwargs',
  'other parameters', 'returns', 'return', 'yields', 'yield', 'raises', 'raise', 'except',
  'exceptions', 'attributes', 'warns', 'receives', 'todo', 'methods',
]);

const NUMPY_SECTIONS = new Set([
  'parameters', 'params', 'arguments', 'args', 'returns', 'return', 'yields', 'yield', 'receives',
  'raises', 'warns', 'warnings', 'other parameters', 'attributes', 'methods', 'see also', 'notes',
  'note', 'references', 'examples', 'example', 'keyword arguments', 'keyword args',
]);

const EPYTEXT_LINE = /^@([a-z]+)\b[^:\n]*:/;
const REST_LINE = /^:([a-z]+)\b[^:\n]*:/;
const DIRECTIVE_LINE = /^\.\. [A-Za-z][\w-]*::/;
const DASHES = /^-{3,}$/;

function indentOf(line: string): number {
  let k = 0;
  while (k < line.length && (line.charCodeAt(k) === 32 || line.charCodeAt(k) === 9)) k++;
  return k;
}

/** Classifies a docstring (already cleaned or raw) as one of the conventions, `plain` or `none`. */
export function classifyDocstring(doc: string | null): DocStyle {
  if (doc === null) return 'none';
  if (doc.trim() === '') return 'none';
  const lines = doc.split('\n');
  let epytext = 0;
  let rest = 0;
  let directives = 0;
  let google = 0;
  let numpy = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const ind = indentOf(line);
    if (ind === line.length) continue;
    const c = line.charCodeAt(ind);
    const t = ind === 0 ? line.trimEnd() : line.slice(ind).trimEnd();
    if (c === 64 /* @ */) {
      const m = EPYTEXT_LINE.exec(t);
      if (m && EPYTEXT_FIELDS.has(m[1])) epytext++;
      continue;
    }
    if (c === 58 /* : */) {
      const m = REST_LINE.exec(t);
      if (m && REST_FIELDS.has(m[1])) rest++;
      continue;
    }
    if (c === 46 /* . */) {
      if (DIRECTIVE_LINE.test(t)) directives++;
      continue;
    }
    if (t.length > 40) continue;
    // Section headers: `Title:` (google) or `Title` over `-----` (numpy).
    if (t.endsWith(':')) {
      const title = t.slice(0, -1).trimEnd().toLowerCase();
      if (GOOGLE_SECTIONS.has(title)) {
        let j = i + 1;
        while (j < lines.length && lines[j].trim() === '') j++;
        if (j < lines.length && indentOf(lines[j]) > ind) google++;
      }
      continue;
    }
    if (i + 1 < lines.length) {
      const under = lines[i + 1].trim();
      if (DASHES.test(under) && NUMPY_SECTIONS.has(t.toLowerCase())) numpy++;
    }
  }
  const best = Math.max(epytext, rest, google, numpy);
  if (best > 0) {
    if (numpy === best) return 'numpy';
    if (google === best) return 'google';
    if (rest === best) return 'rest';
    return 'epytext';
  }
  if (directives > 0) return 'rest';
  return 'plain';
}
