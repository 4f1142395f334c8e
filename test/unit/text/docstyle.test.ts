// Docstring convention classifier on realistic docstrings of each style (already cleaned, as the
// extractor stores them).
import { describe, expect, it } from 'vitest';
import { classifyDocstring } from '../../../src/core/text/docstyle.ts';

const EPYTEXT = `Return the sum of two numbers.

@param a: the first number
@type a: int
@param b: the second number
@type b: int
@return: the sum
@rtype: int
@raise ValueError: if either is negative`;

const EPYTEXT_SHORT = `Open the connection.

@param timeout: seconds to wait before giving up`;

const REST = `Send a request.

:param method: HTTP method for the new request.
:param url: URL for the new request.
:param timeout: (optional) How many seconds to wait.
:type timeout: float or tuple
:returns: the response
:rtype: requests.Response
:raises ConnectionError: on network problems`;

const REST_DIRECTIVE_ONLY = `Deprecated alias of :func:\`new_name\`.

.. deprecated:: 3.4
   Use :func:\`new_name\` instead.`;

const GOOGLE = `Fetches rows from a Bigtable.

Retrieves rows pertaining to the given keys from the Table instance
represented by table_handle.

Args:
    table_handle: An open smalltable.Table instance.
    keys: A sequence of strings representing the key of each table row
        to fetch.
    require_all_keys: If True only rows with values set for all keys will be
        returned.

Returns:
    A dict mapping keys to the corresponding table row data fetched.

Raises:
    IOError: An error occurred accessing the smalltable.`;

const GOOGLE_RETURNS_ONLY = `Compute the checksum.

Returns:
    int: the CRC32 of the data.`;

const NUMPY = `Compute the arithmetic mean along the specified axis.

Parameters
----------
a : array_like
    Array containing numbers whose mean is desired.
axis : None or int, optional
    Axis along which the means are computed.

Returns
-------
m : ndarray
    A new array containing the mean values.

See Also
--------
average : Weighted average.

.. versionadded:: 1.7.0

Examples
--------
>>> np.mean([1, 2])
1.5`;

const NUMPY_NOTES_ONLY = `Solve the system.

Notes
-----
Uses LAPACK routine _gesv.`;

const PLAIN = `Return a new dict which maps field names to their values.

This is the plain prose docstring most of the standard library uses. Note: it
may mention Args: inline, or an example:

    >>> d = {}

and still be plain text.`;

const PLAIN_WITH_DECORATOR_SAMPLE = `Register a view.

Usage::

    @app.route('/')
    def index(): ...`;

describe('classifyDocstring', () => {
  it('says none for no docstring or a blank one', () => {
    expect(classifyDocstring(null)).toBe('none');
    expect(classifyDocstring('')).toBe('none');
    expect(classifyDocstring('   \n  ')).toBe('none');
  });

  it('recognises epytext', () => {
    expect(classifyDocstring(EPYTEXT)).toBe('epytext');
    expect(classifyDocstring(EPYTEXT_SHORT)).toBe('epytext');
  });

  it('recognises reST field lists and directives', () => {
    expect(classifyDocstring(REST)).toBe('rest');
    expect(classifyDocstring(REST_DIRECTIVE_ONLY)).toBe('rest');
  });

  it('recognises google sections', () => {
    expect(classifyDocstring(GOOGLE)).toBe('google');
    expect(classifyDocstring(GOOGLE_RETURNS_ONLY)).toBe('google');
  });

  it('recognises numpy underlined sections, even with a reST directive inside', () => {
    expect(classifyDocstring(NUMPY)).toBe('numpy');
    expect(classifyDocstring(NUMPY_NOTES_ONLY)).toBe('numpy');
  });

  it('says plain for prose, inline section words and code samples', () => {
    expect(classifyDocstring('Return the answer.')).toBe('plain');
    expect(classifyDocstring(PLAIN)).toBe('plain');
    expect(classifyDocstring(PLAIN_WITH_DECORATOR_SAMPLE)).toBe('plain');
    expect(classifyDocstring('Example:\n    >>> f()\n')).toBe('plain');
  });

  it('picks the style with the most evidence when styles mix', () => {
    // A reST docstring that mentions one google-like header still has more reST fields.
    expect(classifyDocstring(`${REST}\n\nReturns:\n    see above`)).toBe('rest');
    // A google docstring with one stray :param: line.
    expect(classifyDocstring(`${GOOGLE}\n\n:param x: stray`)).toBe('google');
  });

  it('accepts indented (uncleaned) docstrings', () => {
    const indented = GOOGLE.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n');
    expect(classifyDocstring(indented)).toBe('google');
    const numpyIndented = NUMPY.split('\n').map((l) => (l ? `        ${l}` : l)).join('\n');
    expect(classifyDocstring(numpyIndented)).toBe('numpy');
  });
});
