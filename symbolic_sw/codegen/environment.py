r"""The jinja2 environment of the templates, with the filters that keep user text inert.

User text (the spec's file name, its docstring, the model's description, the
parameter and operator names) reaches the generated files only through these
filters:

- ``pyliteral``: a Python literal with the same value (a string as a
  double-quoted literal: ``"samokhin_c4v"`` stays byte-identical; quotes,
  backslashes and control characters are escaped);
- ``pydoc``: text inside a triple-quoted docstring (backslashes doubled, no run of
  quotes can close it, control characters escaped);
- ``comment``: text inside a one-line ``#`` (Python) or ``%`` (LaTeX) comment
  (line breaks and other control characters escaped, so nothing leaves the comment);
- ``texlabel``: a LaTeX ``\label`` key (letters, digits and ``_`` kept, anything
  else written ``-<hex>-``);
- ``mdinline``, ``mdcomment``: Markdown table cells and headings (one line,
  ``|`` escaped), an HTML comment (``--`` cannot close it);
- ``pytuple``: a tuple literal of names (``("a",)`` for one);
- ``signature``: ``momenta | signature(parameters)`` → ``"k_x, k_y, *, a, b"``, also
  without parameters or momenta.

Names that become identifiers are checked before rendering by
:func:`symbolic_sw.codegen.kernels.check_names`.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata

import jinja2

__all__ = [
    "FILTERS",
    "comment",
    "environment",
    "mdcomment",
    "mdinline",
    "pydoc",
    "pyliteral",
    "pytuple",
    "signature",
    "texlabel",
]

#: characters written as escapes: control characters, lone surrogates, line/paragraph separators
_UNSAFE = frozenset(("Cc", "Cs", "Zl", "Zp"))


def _unsafe(c: str) -> bool:
    return unicodedata.category(c) in _UNSAFE


def _escape(c: str) -> str:
    r"""``\x00``, ``\n``, ``\u2028``, ``\ud800``: the Python escape of one character."""
    return c.encode("unicode_escape").decode("ascii")


def pyliteral(value) -> str:
    r"""A Python literal with the value of ``value`` (str, int, float, bool, None, or a tuple/list of them).

    A string becomes a double-quoted literal with only ``\``, ``"`` and unsafe
    characters (control characters, surrogates, line separators) escaped, so an
    ordinary name prints as ``"name"``.
    """
    if isinstance(value, str):
        body = "".join("\\" + c if c in '\\"' else _escape(c) if _unsafe(c) else c for c in value)
        return f'"{body}"'
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(float(value))
    if isinstance(value, tuple):
        items = [pyliteral(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(pyliteral(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} into generated code as a literal")


def pydoc(text) -> str:
    r"""``text`` made safe inside a triple-quoted docstring (same value when read back).

    Backslashes are doubled; a ``"`` followed by another ``"`` or ending the
    text is written ``\"`` (so no run of quotes closes the docstring, also
    when fragments are joined); control characters other than newline and tab
    are escaped.
    """
    text = str(text)
    out = []
    for i, c in enumerate(text):
        if c == "\\":
            out.append("\\\\")
        elif c == '"' and text[i + 1 : i + 2] in ('"', ""):
            out.append('\\"')
        elif c in "\n\t" or not _unsafe(c):
            out.append(c)
        else:
            out.append(_escape(c))
    return "".join(out)


def comment(text) -> str:
    """``text`` on one line: safe in a ``#`` or ``%`` comment (line breaks and control characters escaped)."""
    return "".join(_escape(c) if c != "\t" and _unsafe(c) else c for c in str(text))


def texlabel(text) -> str:
    """A LaTeX label key: letters, digits and ``_`` as they are, any other character as ``-<hex>-``."""
    return re.sub(r"[^A-Za-z0-9_]", lambda m: f"-{ord(m.group()):x}-", str(text), flags=re.ASCII)


def mdinline(text) -> str:
    """One line of Markdown for a table cell or heading: line breaks become spaces, ``|`` is escaped."""
    return "".join(" " if _unsafe(c) else c for c in str(text)).replace("|", "\\|")


def mdcomment(text) -> str:
    """Text inside an HTML comment ``<!-- ... -->`` on one line (``--`` cannot end it)."""
    text = comment(text)
    while "--" in text:
        text = text.replace("--", "- -")
    return text


def pytuple(values) -> str:
    """A tuple literal of the items (names as strings): ``("a", "b")``, ``("a",)``, ``()``."""
    return pyliteral(tuple(str(v) if not isinstance(v, (int, float)) else v for v in values))


def signature(momenta, parameters) -> str:
    """The argument list of a kernel: momenta positional, parameters keyword-only."""
    parts = [*map(str, momenta)]
    if parameters:
        parts += ["*", *map(str, parameters)]
    return ", ".join(parts)


FILTERS = {
    "pyliteral": pyliteral,
    "pytuple": pytuple,
    "pydoc": pydoc,
    "comment": comment,
    "texlabel": texlabel,
    "mdinline": mdinline,
    "mdcomment": mdcomment,
    "signature": signature,
}


def environment() -> jinja2.Environment:
    """The environment that renders ``codegen/templates`` (strict undefined, no autoescape, the filters)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("symbolic_sw.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env
