"""Hamiltonians from strings, kwant-continuum style, without executing anything.

``parse_hamiltonian("(epsilon_1 + hbar**2*(k_x**2 + k_y**2)/(2*m)) * kron(proj(1, 3), sigma_0) + ...")``
returns a SymPy matrix; :meth:`symbolic_sw.Model.from_string` builds a model from it.

The text is parsed with :func:`ast.parse` and every node is checked against a
whitelist *before* anything is built; the SymPy objects are then built by walking
the tree. Nothing is ever passed to ``eval``, ``exec``, ``compile`` or
``sympy.sympify``, so a string cannot run code. Whatever is not listed below is
rejected with a :class:`~symbolic_sw.ModelError` (a ``ValueError``) that names the
offending piece and the fix.

Grammar
-------
numbers
    integers, decimals and ``1j``-style imaginary literals. Decimals are converted
    to exact rationals from their text as written (``0.1`` → ``1/10``,
    ``12345678901234567890.0`` → ``12345678901234567890``: never through a float),
    so the algebra stays exact.
operators
    ``+ - * / **`` and ``@`` (matrix product; ``*`` between matrices is the matrix
    product too), unary ``+ -``, parentheses. A scalar added to a square matrix
    means the scalar times the identity. Exponents must be numbers (``**(1/2)``
    is allowed on scalars); powers of a matrix must be integers ``0 … 8``.
names
    ``k_x, k_y, k_z``, ``hbar`` and the other parameters of
    :mod:`symbolic_sw.symbols` (``m, epsilon_1, epsilon_2, a_tilde, b_tilde, b,
    gamma_1, gamma_2, gamma_tilde, alpha_0, E_g``: the very same SymPy symbols, so a
    string model is identical to a built-in one), ``I``, ``pi``; the spin Pauli
    matrices ``sigma_0, sigma_x, sigma_y, sigma_z``, the orbital Pauli matrices
    ``tau_0, tau_x, tau_y, tau_z`` (the same 2×2 matrices), the Gell-Mann matrices
    ``lambda_1 … lambda_8`` (3×3, ``Tr λ_a λ_b = 2δ_ab``). Any other name must be
    declared through ``symbols=``. Names are ASCII (letters, digits, ``_``): Python
    would silently read look-alikes such as the full-width ``ｘ`` as ``x`` (NFKC), so
    any other character is refused with its code point.
functions (positional arguments only)
    ``kron(A, B, ...)`` (left factor slowest), ``Matrix([[a, b], [c, d]])``,
    ``block([[A, B], [C, D]])`` (assemble from blocks; a ``0`` entry is a zero
    block), ``diag(a, B, ...)``, ``eye(n)``, ``zeros(n)`` / ``zeros(r, c)``,
    ``proj(i, n)`` (n×n projector onto basis state i, **1-based**), ``ketbra(i, j, n)``
    (n×n matrix unit ``|i⟩⟨j|``, 1-based: ``kron(ketbra(1, 2, 3), h)`` is the block
    h₁₂ of a three-orbital model), ``dagger(A)`` (conjugate transpose; conjugate of
    a scalar), ``transpose(A)``, ``conjugate(x)``, ``sqrt, exp, cos, sin, cosh,
    sinh``.

Not allowed: attribute access (``x.T``), indexing, keyword arguments, lambdas,
comprehensions, comparisons, strings, f-strings, ``:=``, ``*args``, names
starting with ``_``.

Limits
------
The text is small, but what it denotes need not be: ``(k_x + k_y + b + m + hbar +
epsilon_1)**64`` is 30 characters and expands to 1.1·10⁷ terms. Every limit is
checked *before* the expensive step, from bounds that are cheap to compute, and
exceeding one raises a :class:`~symbolic_sw.ModelError` naming the limit and the fix:

* at most :data:`MAX_LENGTH` characters, nesting depth :data:`MAX_DEPTH` in the
  text and :data:`MAX_TREE_DEPTH` in the built expression (SymPy recurses through
  it: ``exp(exp(...))`` 90 deep overflows Python's stack);
* matrices up to :data:`MAX_DIM` × :data:`MAX_DIM`;
* numbers up to :data:`MAX_BITS` bits (:data:`MAX_ROOT_BITS` under a root) — a
  running bound over the whole expression, *after expansion*: the coefficients of
  a product multiply, a power multiplies the bits of its base, whatever the order
  of the factors (a matrix first included);
* exponents up to :data:`MAX_EXPONENT`, matrix powers up to :data:`MAX_MATRIX_POWER`,
  total degree up to :data:`MAX_DEGREE`;
* expansion: a sum of *n* terms to the power *p* expands to C(n+p−1, p) terms (and
  never more than the number of monomials of its degree in its symbols); each entry
  may expand to at most :data:`MAX_TERMS` terms, all entries to
  :data:`MAX_TOTAL_TERMS`;
* work: building the matrices (entries written, scalar products of matrix products
  — size³ for dense matrices, counted before each product) is limited to
  :data:`MAX_WORK` units.

So ``9**9**9**9`` or a 64×64 dense matrix power fails at once instead of hanging.
"""

from __future__ import annotations

import ast
import difflib
import fractions
import io
import itertools
import keyword
import math
import re
import tokenize
import unicodedata
from collections.abc import Mapping

import sympy

from . import symbols as _symbols
from .errors import ModelError
from .pauli import sigma_0, sigma_x, sigma_y, sigma_z

__all__ = [
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_DEGREE",
    "MAX_DEPTH",
    "MAX_DIM",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MATRIX_POWER",
    "MAX_ROOT_BITS",
    "MAX_TERMS",
    "MAX_TOTAL_TERMS",
    "MAX_TREE_DEPTH",
    "MAX_WORK",
    "model_from_string",
    "namespace",
    "parse",
    "parse_commutators",
    "parse_hamiltonian",
]

#: Longest accepted string (characters).
MAX_LENGTH = 50_000
#: Deepest accepted nesting (parentheses, calls, powers; long sums and products are flat).
MAX_DEPTH = 100
#: Largest matrix dimension (rows and columns).
MAX_DIM = 64
#: Largest number, in bits of numerator or denominator.
MAX_BITS = 4096
#: Largest |exponent| of a scalar power.
MAX_EXPONENT = 64
#: Largest power of a matrix.
MAX_MATRIX_POWER = 8
#: Largest number (bits) under a root: SymPy factors it to simplify the root.
MAX_ROOT_BITS = 256
#: Deepest accepted expression tree (functions, powers, products inside each other). SymPy
#: recurses through it, ~11 Python frames a level in ``conjugate`` (the Hermiticity check):
#: ``exp(`` nested 90 deep overflows the default recursion limit of 1000 (measured: 88 levels
#: pass, 90 fail; with a limit of 400, 30 pass and 40 fail). 40 levels leave room for callers.
MAX_TREE_DEPTH = 40
#: Most terms one scalar or matrix entry may expand to. ``Model`` expands every entry: a
#: multinomial in 6 symbols costs ~0.6 ms a term (measured: ``(6 terms)**8``, 1287 terms,
#: 0.8 s; ``**12``, 6188 terms, 5.4 s), so one entry stays under ~0.6 s.
MAX_TERMS = 1000
#: Most terms all entries of a matrix may expand to together. Measured in ``Model.from_string``:
#: 12 distinct entries of 792 multinomial terms (9504 in all) 7.5 s, 900 entries of 5 plain
#: terms (4500) 1.9 s: 5000 keeps the worst case near 4 s, and a 50 000-character literal
#: matrix stays below it.
MAX_TOTAL_TERMS = 5000
#: Highest total degree of a term (``(k_x**64)**64`` is refused; real models stay below ~10).
MAX_DEGREE = 128
#: Work budget of building the matrices: 1 unit per entry of a matrix result, 4 per scalar
#: product of a matrix product (measured: ~2.5 µs per entry of a symbolic 64×64 sum or scalar
#: multiple, ~13 µs per product of a dense symbolic 64×64 matrix product). A dense 64×64
#: product (64³ products, 3.5 s) is refused; a sparse kron-structured one costs ~4·10⁴ units.
MAX_WORK = 1_000_000

_I = sympy.I
_GELL_MANN = {
    1: [[0, 1, 0], [1, 0, 0], [0, 0, 0]],
    2: [[0, -_I, 0], [_I, 0, 0], [0, 0, 0]],
    3: [[1, 0, 0], [0, -1, 0], [0, 0, 0]],
    4: [[0, 0, 1], [0, 0, 0], [1, 0, 0]],
    5: [[0, 0, -_I], [0, 0, 0], [_I, 0, 0]],
    6: [[0, 0, 0], [0, 0, 1], [0, 1, 0]],
    7: [[0, 0, 0], [0, 0, -_I], [0, _I, 0]],
    8: [[1 / sympy.sqrt(3), 0, 0], [0, 1 / sympy.sqrt(3), 0], [0, 0, -2 / sympy.sqrt(3)]],
}


def _builtin_names() -> dict:
    names = {
        name: getattr(_symbols, name) for name in _symbols.__all__ if isinstance(getattr(_symbols, name), sympy.Symbol)
    }
    names.update(I=sympy.I, pi=sympy.pi)
    for c, s in zip("0xyz", (sigma_0, sigma_x, sigma_y, sigma_z)):
        names[f"sigma_{c}"] = sympy.ImmutableMatrix(s)
        names[f"tau_{c}"] = sympy.ImmutableMatrix(s)
    for a, rows in _GELL_MANN.items():
        names[f"lambda_{a}"] = sympy.ImmutableMatrix(rows)
    return names


_NAMES = _builtin_names()


# -- errors -------------------------------------------------------------------


class _Source:
    """The text as parsed (wrapped in parentheses so it may span lines)."""

    def __init__(self, text: str):
        self.text = text
        self.wrapped = "(\n" + text + "\n)"
        # the lines as Python counts them (\n, \r\n, \r: not str.splitlines' \f or \u2028), as
        # UTF-8 bytes: the AST's column offsets count bytes
        lines = self.wrapped.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._lines = [line.encode("utf-8") for line in lines]

    def segment(self, node) -> str | None:
        """The exact source text of a one-line node (a number literal), or ``None``."""
        if getattr(node, "end_lineno", None) != getattr(node, "lineno", None) or node.end_col_offset is None:
            return None
        return self._lines[node.lineno - 1][node.col_offset : node.end_col_offset].decode("utf-8")

    def at(self, line: int) -> str:
        """`` on line N`` for a multi-line text (``line`` counts the lines of the wrapped text)."""
        return f" on line {line - 1}" if "\n" in self.text.strip() else ""

    def where(self, node) -> str:
        seg = ast.get_source_segment(self.wrapped, node) if hasattr(node, "lineno") else None
        if not seg:
            return ""
        return f" (in `{_clip(' '.join(seg.split()))}`{self.at(node.lineno)})"

    def error(self, node, problem: str, fix: str) -> ModelError:
        return ModelError(f"cannot parse the Hamiltonian string: {problem}{self.where(node)}. Fix: {fix}")


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(x) -> str:
    """A value for a message: clipped, and never the decimal digits of a huge integer."""
    if isinstance(x, list):
        return "a list"
    if _is_matrix(x):
        return _describe(x)
    try:
        return _clip(str(x))
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        return "a very large number"


# -- pass 0: the tokens ---------------------------------------------------------------

_LOG2_10 = math.log2(10)
_DECIMAL = re.compile(r"(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:e(?P<exp>[+-]?[0-9]+))?")


def _scan(source: _Source):
    """Refuse what Python's own parser would silently change or choke on, before ``ast.parse``.

    * non-ASCII identifiers: Python normalises them (NFKC), so the full-width ``ｘ``
      would become the symbol ``x`` without a word;
    * number literals beyond :data:`MAX_BITS` bits (a decimal literal of more than 4300
      digits would even fail inside ``ast.parse`` with an unrelated message).

    The tokenizer only pre-checks: if it fails, ``ast.parse`` reports the syntax error.
    """
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source.wrapped).readline):
            if tok.type == tokenize.NAME and not tok.string.isascii():
                raise _non_ascii(source, tok)
            if tok.type == tokenize.NUMBER and _literal_bits(tok.string) > MAX_BITS:
                raise ModelError(
                    f"cannot parse the Hamiltonian string: a number with more than {MAX_BITS} bits appears "
                    f"(in `{_clip(tok.string)}`{source.at(tok.start[0])}). Fix: use smaller numbers, "
                    f"or symbols for large parameters"
                )
    except (tokenize.TokenError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        return


def _non_ascii(source: _Source, tok) -> ModelError:
    char = next(c for c in tok.string if not c.isascii())
    name = unicodedata.name(char, "unnamed character")
    plain = unicodedata.normalize("NFKC", tok.string)
    read = f", which Python would silently read as `{plain}`" if plain != tok.string and plain.isascii() else ""
    suggestion = plain if plain.isascii() and plain.isidentifier() else "x_1"
    return ModelError(
        f"cannot parse the Hamiltonian string: the name `{tok.string}` contains the non-ASCII character "
        f"'{char}' (U+{ord(char):04X} {name}){read} (in `{_clip(tok.string)}`{source.at(tok.start[0])}). "
        f"Fix: write names with ASCII letters, digits and _ only, e.g. `{suggestion}`"
    )


def _literal_bits(text: str) -> int:
    """An upper bound on the bits of a number literal, computed without converting it."""
    text = text.replace("_", "").lower().rstrip("j")
    if text[:2] in ("0x", "0o", "0b"):
        return int(text, 0).bit_length()  # powers-of-two bases convert in linear time
    m = _DECIMAL.fullmatch(text)
    if m is None:
        return 0  # not a number the tokenizer would give; ast.parse decides
    digits = (m["int"] + (m["frac"] or "")).lstrip("0")
    if not digits:
        return 0
    if m["exp"] and len(m["exp"].lstrip("+-")) > 6:
        return MAX_BITS + 1
    scale = int(m["exp"] or 0) - len(m["frac"] or "")
    return math.ceil((len(digits) + abs(scale)) * _LOG2_10)


def _literal(text: str) -> sympy.Expr:
    """The exact value of a decimal or imaginary literal, from its text (never via a float)."""
    text = text.replace("_", "").lower()
    imaginary = text.endswith("j")
    m = _DECIMAL.fullmatch(text.rstrip("j"))
    digits = int((m["int"] + (m["frac"] or "")) or "0")
    scale = int(m["exp"] or 0) - len(m["frac"] or "")
    value = sympy.Integer(digits * 10**scale) if scale >= 0 else sympy.Rational(digits, 10**-scale)
    return value * sympy.I if imaginary else value


# -- value helpers ----------------------------------------------------------


def _exact(x: float) -> sympy.Rational:
    """A float as the exact rational its shortest decimal text denotes (0.1 → 1/10)."""
    f = fractions.Fraction(repr(x))
    return sympy.Rational(f.numerator, f.denominator)


def _is_matrix(x) -> bool:
    return isinstance(x, sympy.MatrixBase)


def _describe(x) -> str:
    if isinstance(x, list):
        return "a list"
    if _is_matrix(x):
        return f"a {x.rows}x{x.cols} matrix"
    return "a scalar"


def _entries(x) -> list:
    """The nonzero entries of a matrix, or ``[x]`` for a scalar."""
    return x.values() if _is_matrix(x) else [x]


# -- cost bounds ---------------------------------------------------------------

#: saturation of the term counts (anything above MAX_TERMS is refused anyway)
_CAP = MAX_TERMS + 1


class _Stats(tuple):
    """Bounds of one SymPy expression: ``(depth, bits, terms, max_terms, degree, generators)``.

    ``bits`` bounds the numbers after expansion, ``terms`` the terms the expression
    expands to (saturated at ``_CAP``), ``max_terms`` the largest expansion anywhere
    inside (a denominator or a function argument is expanded on its own),
    ``degree`` its total degree in ``generators`` (symbols, and function values or
    roots, which expansion treats as atoms).
    """

    __slots__ = ()
    depth = property(lambda s: s[0])
    bits = property(lambda s: s[1])
    terms = property(lambda s: s[2])
    max_terms = property(lambda s: s[3])
    degree = property(lambda s: s[4])
    generators = property(lambda s: s[5])


_NO_GENERATORS = frozenset()


def _multisets(n: int, p: int) -> int:
    """C(n + p − 1, p), the terms of a sum of ``n`` terms to the power ``p``, saturated at ``_CAP``."""
    if n <= 1 or p <= 0:
        return 1
    k = min(p, n - 1)
    top = n + p - 1
    count = 1
    for i in range(1, k + 1):
        count = count * (top - k + i) // i
        if count >= _CAP:
            return _CAP
    return count


def _leaf_stats(e) -> _Stats:
    if e.is_Rational:
        return _Stats((1, max(abs(int(e.p)).bit_length(), int(e.q).bit_length()), 1, 1, 0, _NO_GENERATORS))
    if e.is_Symbol:
        return _Stats((1, 0, 1, 1, 1, frozenset((e,))))
    return _Stats((1, 0, 1, 1, 0, _NO_GENERATORS))  # I, pi, other constants


def _node_stats(e, parts: list) -> _Stats:
    """The bounds of ``e`` from those of its arguments ``parts``."""
    depth = 1 + max(p.depth for p in parts)
    inner = max(p.max_terms for p in parts)
    if e.is_Add or e.is_Mul:
        generators = frozenset().union(*(p.generators for p in parts))
        if e.is_Add:
            bits = max(p.bits for p in parts) + (len(parts) - 1).bit_length()  # coefficients add up
            terms = min(_CAP, sum(p.terms for p in parts))
            degree = max(p.degree for p in parts)
        else:
            bits = sum(p.bits for p in parts)  # coefficients multiply
            terms = 1
            for p in parts:
                terms = min(_CAP, terms * p.terms)
            degree = sum(p.degree for p in parts)
    elif e.is_Pow and e.exp.is_Integer and e.exp > 0:
        base, power = parts[0], int(e.exp)
        bits = max(power * base.bits, parts[1].bits)
        terms, degree, generators = _multisets(base.terms, power), power * base.degree, base.generators
    else:  # a root, a negative power, a function value: one atom of the expansion, expanded inside
        if e.is_Pow and e.exp.is_Rational:
            whole = abs(int(e.exp.p)) // int(e.exp.q)  # 1/(a+b)**2 expands its denominator
            bits = max(max(whole, 1) * parts[0].bits, parts[1].bits)
            inner = max(inner, _multisets(parts[0].terms, whole))
        else:
            bits = max(p.bits for p in parts)
        terms, degree, generators = 1, 1, frozenset((e,))
    # never more terms than monomials of this degree in these generators: C(g + d, d)
    terms = min(terms, _multisets(len(generators) + 1, degree))
    return _Stats((depth, bits, terms, max(terms, inner), degree, generators))


# -- pass 1: the whitelist ------------------------------------------------------

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}
_UNARY = {ast.UAdd: "+", ast.USub: "-"}
# how the operators outside the grammar are written, for the message
_OPERATOR_TEXT = {
    ast.BitXor: "^",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
}

# Ranks of the offences, worst first: only the worst one found is reported, so that a hostile
# string gets the most telling message rather than, say, a complaint about a keyword argument.
_HIDDEN_NAME, _FORBIDDEN, _CONSTANT, _MISUSE = range(4)

_ATTRIBUTE_FIX = "write the operation with an allowed function, e.g. transpose(A) or dagger(A) instead of A.T or A.H"

#: Constructs that are never allowed, besides attribute access: (node types, problem, fix).
_REJECTED = [
    (ast.Subscript, "indexing (x[...]) is not allowed", "build the matrix you need from the helper functions"),
    (ast.Lambda, "lambda expressions are not allowed", "write the expression itself"),
    (
        (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
        "comprehensions are not allowed",
        "write the matrix out, e.g. Matrix([[a, b], [c, d]])",
    ),
    ((ast.JoinedStr, ast.FormattedValue), "f-strings are not allowed", "format the string in Python before passing it"),
    (ast.NamedExpr, "assignment expressions (:=) are not allowed", "write the expression itself"),
    (
        (ast.Compare, ast.BoolOp, ast.IfExp),
        "comparisons, 'and'/'or' and conditional expressions are not allowed",
        "write a plain algebraic expression",
    ),
    ((ast.Dict, ast.Set), "dicts and sets are not allowed", "use Matrix([[...], [...]]) for matrix literals"),
    (ast.Starred, "'*' unpacking is not allowed", "pass the arguments one by one"),
    (ast.Slice, "slices are not allowed", "build the matrix you need from the helper functions"),
    ((ast.Await, ast.Yield, ast.YieldFrom), "await/yield are not allowed", "write a plain algebraic expression"),
]


class _Findings:
    """What pass 1 found: offences ``(rank, position, node, problem, fix)`` and unknown names, in order."""

    def __init__(self, tree, names: dict):
        self.names = names
        self.called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        self.offences, self.unknown_symbols, self.unknown_functions = [], [], []

    def offence(self, rank, node, problem, fix):
        self.offences.append((rank, len(self.offences), node, problem, fix))

    def unknown_names(self) -> list:
        """The messages for the unknown functions and symbols (empty if there are none)."""
        problems = []
        if self.unknown_functions:
            hints = _hints(self.unknown_functions, FUNCTIONS)
            problems.append(
                f"unknown function(s) {', '.join(self.unknown_functions)}{hints}; only the helper functions "
                f"{', '.join(sorted(FUNCTIONS))} can be called. Fix: write the function out with these "
                f"(new functions cannot be declared, for safety)"
            )
        if self.unknown_symbols:
            hints = _hints(self.unknown_symbols, self.names)
            example = ", ".join(repr(s) for s in self.unknown_symbols)
            problems.append(
                f"unknown symbol(s) {', '.join(self.unknown_symbols)}{hints}. Fix: declare them with "
                f"symbols=[{example}] (they become real SymPy symbols) or pass your own SymPy "
                f"symbols, e.g. symbols=[sympy.Symbol({self.unknown_symbols[0]!r}, positive=True)]"
            )
        return problems


def _add_once(names: list, name: str):
    if name not in names:
        names.append(name)


def _accept(found, node):
    """Allowed as such (its parts are nodes of their own)."""


def _check_binop(found, node):
    if type(node.op) not in _BINOPS:
        op = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
        found.offence(
            _MISUSE,
            node,
            f"operator '{op}' is not allowed",
            "use ** for powers" if op == "^" else "use only + - * / ** @",
        )


def _check_unaryop(found, node):
    if type(node.op) not in _UNARY:
        found.offence(
            _MISUSE, node, f"unary operator {type(node.op).__name__} is not allowed", "use only unary + and -"
        )


def _check_constant(found, node):
    v = node.value
    if isinstance(v, bool) or not isinstance(v, (int, float, complex)):
        kind = "strings are" if isinstance(v, (str, bytes)) else f"the constant {v!r} is"
        found.offence(_CONSTANT, node, f"{kind} not allowed", "use numbers, names and the helper functions only")


def _check_call(found, node):
    if not isinstance(node.func, ast.Name):
        found.offence(
            _MISUSE,
            node,
            "only the helper functions can be called (by name)",
            f"call one of {', '.join(sorted(FUNCTIONS))}",
        )
    if node.keywords:
        kw = ", ".join(f"{k.arg}=" if k.arg else "**" for k in node.keywords)
        found.offence(_MISUSE, node, f"keyword arguments ({kw}) are not allowed", "pass the arguments by position")


def _check_name(found, node):
    name = node.id
    if name.startswith("_"):
        found.offence(
            _HIDDEN_NAME,
            node,
            f"names starting with '_' (like '{name}') are not allowed",
            "use the documented names and helper functions only",
        )
    elif id(node) in found.called:
        _check_function_name(found, node)
    elif name in found.names:
        pass
    elif name in FUNCTIONS:
        found.offence(_MISUSE, node, f"'{name}' is a function", f"call it, e.g. {FUNCTIONS[name][1]}")
    else:
        _add_once(found.unknown_symbols, name)


def _check_function_name(found, node):
    name = node.id
    if name in FUNCTIONS:
        return
    if name in found.names:
        found.offence(
            _MISUSE,
            node,
            f"'{name}' is {_describe(found.names[name])}, not a function",
            f"remove the call; the functions are {', '.join(sorted(FUNCTIONS))}",
        )
    else:
        _add_once(found.unknown_functions, name)


def _check_attribute(found, node):
    found.offence(_FORBIDDEN, node, f"attribute access ('.{node.attr}') is not allowed", _ATTRIBUTE_FIX)


def _forbid(problem, fix):
    def check(found, node):
        found.offence(_FORBIDDEN, node, problem, fix)

    return check


def _not_allowed(found, node):
    found.offence(_FORBIDDEN, node, f"{type(node).__name__} is not allowed", "write a plain algebraic expression")


#: The whitelist: node type → its check (subclasses share it). Operators, contexts and keywords
#: are judged with the node that holds them.
_ALLOWED = {
    ast.Expression: _accept,
    ast.List: _accept,
    ast.Tuple: _accept,
    ast.BinOp: _check_binop,
    ast.UnaryOp: _check_unaryop,
    ast.Constant: _check_constant,
    ast.Call: _check_call,
    ast.Name: _check_name,
    ast.operator: _accept,
    ast.unaryop: _accept,
    ast.expr_context: _accept,
    ast.keyword: _accept,
}
# every other node is an offence: the rejected constructs with a message of their own, the rest with _not_allowed
_CHECKS = {
    **{
        t: _forbid(problem, fix)
        for types, problem, fix in _REJECTED
        for t in (types if isinstance(types, tuple) else (types,))
    },
    ast.Attribute: _check_attribute,
    **_ALLOWED,
}


def _lookup(table: dict, node, default):
    """The entry of ``table`` for the class of ``node`` or its nearest base class."""
    return next((table[cls] for cls in type(node).__mro__ if cls in table), default)


# -- the builder --------------------------------------------------------------


class _Builder:
    def __init__(self, source: _Source, names: dict):
        self.src = source
        self.names = names
        self._stats = {}  # bounds of the scalars built so far, by expression
        self.work = 0  # units of MAX_WORK spent

    def err(self, node, problem, fix):
        return self.src.error(node, problem, fix)

    # -- pass 1: whitelist, unknown names (iterative: no recursion limits) --

    def check(self, tree):
        """Reject every construct outside the whitelist; collect unknown names.

        The worst offence is reported (a name starting with ``_``, then a
        forbidden construct such as attribute access or a lambda, then the rest),
        so a hostile string gets the most telling message.
        """
        found = _Findings(tree, self.names)
        for node in ast.walk(tree):
            _lookup(_CHECKS, node, _not_allowed)(found, node)
        if found.offences:
            _, _, node, problem, fix = min(found.offences, key=lambda o: o[:2])
            raise self.err(node, problem, fix)
        problems = found.unknown_names()
        if problems:
            raise ModelError("cannot parse the Hamiltonian string: " + "; ".join(problems) + ".")

    # -- pass 2: build ---------------------------------------------------------

    def build(self, node, depth=0, lists=0):
        """The SymPy value of ``node``; ``lists``: how many levels of lists are allowed here."""
        if depth > MAX_DEPTH:
            raise self.err(
                node, f"the expression is nested more than {MAX_DEPTH} levels deep", "split it into smaller terms"
            )
        build = _lookup(_BUILDERS, node, None)
        if build is None:
            raise self.err(node, f"{type(node).__name__} is not allowed", "write a plain algebraic expression")
        value = build(self, node, depth, lists)
        if not isinstance(value, list) and not isinstance(node, ast.Expression):
            self.limit(node, value, charge=not isinstance(node, ast.Name))
        return value

    def _expression(self, node, depth, _lists):
        return self.build(node.body, depth + 1)

    def _constant(self, node, _depth, _lists):
        return self.constant(node)

    def _name(self, node, _depth, _lists):
        return self.names[node.id]

    def _sequence(self, node, depth, lists):
        if lists <= 0:
            raise self.err(
                node,
                "a list or tuple is only allowed as the argument of Matrix(...) or block(...)",
                "write e.g. Matrix([[a, b], [c, d]])",
            )
        return [self.build(e, depth + 1, lists - 1) for e in node.elts]

    def _unaryop(self, node, depth, _lists):
        value = self.build(node.operand, depth + 1)
        return -value if isinstance(node.op, ast.USub) else value

    def _binop(self, node, depth, _lists):
        if isinstance(node.op, ast.Pow):
            return self.power(node, self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        # a chain of + - (or of * / @) is left-nested: walk its spine without recursion
        group = (ast.Add, ast.Sub) if isinstance(node.op, (ast.Add, ast.Sub)) else (ast.Mult, ast.Div, ast.MatMult)
        chain = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            chain.append(node)
            node = node.left
        chain.reverse()
        first = (chain[0], "+" if group[0] is ast.Add else "*", self.build(node, depth + 1))
        # built lazily, in order: an error names the first offending operand
        rest = ((link, _BINOPS[type(link.op)], self.build(link.right, depth + 1)) for link in chain)
        operands = itertools.chain([first], rest)
        return self.sum(chain[-1], operands) if group[0] is ast.Add else self.product(operands)

    def _call(self, node, depth, _lists):
        name = node.func.id
        func, usage, list_levels = FUNCTIONS[name]
        args = [self.build(a, depth + 1, list_levels) for a in node.args]
        try:
            return func(self, node, *args)
        except TypeError:
            raise self.err(node, f"wrong number of arguments for {name}()", f"call it as {usage}") from None

    def constant(self, node):
        v = node.value
        if isinstance(v, int):
            return sympy.Integer(v)
        text = self.src.segment(node)
        if text is not None and _DECIMAL.fullmatch(text.replace("_", "").lower().rstrip("j")):
            return _literal(text)  # exact from the text: 12345678901234567890.0 keeps its digits
        if isinstance(v, float):  # not reached for literals; kept for safety
            if not math.isfinite(v):
                raise self.err(node, "the number is too large", "use a smaller number or a symbol")
            return _exact(v)
        if not (math.isfinite(v.real) and math.isfinite(v.imag)):
            raise self.err(node, "the number is too large", "use a smaller number or a symbol")
        return _exact(v.real) + _exact(v.imag) * sympy.I

    # -- cost bounds -------------------------------------------------------------

    def stats(self, expr) -> _Stats:
        """The bounds of a scalar (memoised over shared subexpressions; iterative: no recursion)."""
        memo = self._stats
        found = memo.get(expr)
        if found is not None:
            return found
        stack = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if e in memo:
                continue
            if not e.args:
                memo[e] = _leaf_stats(e)
            elif ready:
                memo[e] = _node_stats(e, [memo[a] for a in e.args])
            else:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in memo)
        return memo[expr]

    def charge(self, node, units: int, what: str):
        """Spend ``units`` of the work budget :data:`MAX_WORK` (before doing the work)."""
        self.work += units
        if self.work > MAX_WORK:
            raise self.err(
                node,
                f"building the matrices needs more than {MAX_WORK} elementary operations ({what}; "
                f"the limit MAX_WORK bounds the cost)",
                "write products of kron factors as kron(A*C, B*D), use sparser or smaller matrices, "
                "or build the matrix in Python and use Model(H, blocks)",
            )

    def limit(self, node, value, charge=True):
        """Check a built value against the limits of depth, bits, degree and expansion."""
        if _is_matrix(value) and charge:
            self.charge(node, value.rows * value.cols, f"a {value.rows}x{value.cols} matrix built")
        total = 0
        for entry in _entries(value):
            s = self.stats(entry)
            if s.depth > MAX_TREE_DEPTH:
                raise self.err(
                    node,
                    f"the expression is nested more than {MAX_TREE_DEPTH} levels deep (functions, powers and "
                    f"products inside each other; the limit MAX_TREE_DEPTH keeps SymPy's recursion safe)",
                    "write it with fewer nested functions, or split it into smaller terms",
                )
            if s.bits > MAX_BITS:
                raise self.err(
                    node,
                    f"a number with more than {MAX_BITS} bits appears (or would when the expression "
                    f"is expanded; the limit is MAX_BITS)",
                    "use smaller numbers, or symbols for large parameters",
                )
            if s.degree > MAX_DEGREE:
                raise self.err(
                    node,
                    f"a term of total degree {s.degree} appears (the limit MAX_DEGREE is {MAX_DEGREE})",
                    "use a smaller exponent",
                )
            if s.max_terms > MAX_TERMS:
                raise self.err(node, *_too_many_terms())
            total += s.terms
        if total > MAX_TOTAL_TERMS:
            raise self.err(node, *_too_many_terms_in_all())
        return value

    # -- arithmetic ----------------------------------------------------------------

    def square(self, node, M):
        if M.rows != M.cols:
            raise self.err(
                node,
                f"a scalar can only be added to a square matrix, not to {_describe(M)}",
                "multiply the scalar by a matrix of the right shape",
            )
        return sympy.ImmutableMatrix(sympy.eye(M.rows))

    def sum(self, top, operands):
        """``a ± b ± ...`` from ``(link, op, value)`` pairs.

        The scalar terms are added at once (a flat sum costs n log n, not n²), the matrices in
        order; a scalar added to a square matrix is a multiple of the identity.
        """
        scalars, matrix = [], None
        for link, op, value in operands:
            if isinstance(value, list):
                raise self.err(link, f"cannot apply '{op}' to a list", "wrap the list in Matrix(...)")
            if not _is_matrix(value):
                scalars.append(value if op == "+" else -value)
                continue
            if matrix is None:
                matrix = value if op == "+" else -value
                continue
            if matrix.shape != value.shape:
                raise self.err(
                    link,
                    f"cannot add a {matrix.rows}x{matrix.cols} and a {value.rows}x{value.cols} matrix",
                    "make the terms the same size, e.g. with kron(..., sigma_0)",
                )
            self.charge(link, matrix.rows * matrix.cols, "matrix sums")
            matrix = matrix + value if op == "+" else matrix - value
        scalar = sympy.Add(*scalars)
        if matrix is None:
            return scalar
        if not scalars:
            return matrix
        return matrix + scalar * self.square(top, matrix)

    def product(self, operands):
        """``a * b / c @ D ...`` from ``(link, op, value)`` pairs.

        Scalars commute, so they are multiplied at once (with a running bound on their bits),
        the matrices in order (each product costed before it is made).
        """
        scalars, matrix, bits = [], None, 0
        for link, op, value in operands:
            if isinstance(value, list):
                raise self.err(link, f"cannot apply '{op}' to a list", "wrap the list in Matrix(...)")
            if op == "@" and (matrix is None or not _is_matrix(value)):
                left = "a scalar" if matrix is None else _describe(matrix)
                raise self.err(
                    link, f"'@' needs two matrices, got {left} and {_describe(value)}", "use * to multiply by a scalar"
                )
            if op == "/":
                if _is_matrix(value):
                    raise self.err(link, "cannot divide by a matrix", "divide by scalars only")
                if value == 0:
                    raise self.err(link, "division by zero", "check the denominator")
                value = 1 / value
            if not _is_matrix(value):
                bits += self.stats(value).bits
                if bits > MAX_BITS:
                    raise self.err(
                        link,
                        f"the product would create a number with more than {MAX_BITS} bits (the limit MAX_BITS)",
                        "use smaller numbers, or symbols",
                    )
                scalars.append(value)
            elif matrix is None:
                matrix = value
            else:
                if matrix.cols != value.rows:
                    raise self.err(
                        link,
                        f"cannot multiply a {matrix.rows}x{matrix.cols} by a {value.rows}x{value.cols} matrix",
                        "check the sizes of the factors",
                    )
                matrix = self.limit(link, self.matmul(link, matrix, value), charge=False)
        scalar = sympy.Mul(*scalars)
        if matrix is None:
            return scalar
        return matrix if scalar == 1 else matrix * scalar

    def matmul(self, node, a, b):
        """``a*b`` for matrices, skipping zero entries.

        Before anything is multiplied: its cost (the scalar products, size³ when dense) is
        charged, and the terms its entries will expand to are bounded from those of the factors'
        entries (entry ij: the sum over k of terms(a_ik)·terms(b_kj), and never more than the
        monomials of its degree), so a product that would be refused afterwards is never made.
        """
        left, right = a.tolist(), b.tolist()
        nonzero = [[(j, y) for j, y in enumerate(row) if y != 0] for row in right]
        products = sum(len(nonzero[k]) for row in left for k, x in enumerate(row) if x != 0)
        self.charge(node, 4 * products + a.rows * b.cols, f"a {a.rows}x{a.cols} by {b.rows}x{b.cols} matrix product")
        self.bound_product(node, a, b, left, nonzero)
        out = []
        for row in left:
            sums = [[] for _ in range(b.cols)]
            for k, x in enumerate(row):
                if x != 0:
                    for j, y in nonzero[k]:
                        sums[j].append(x * y)
            out.append([sympy.Add(*terms) for terms in sums])
        return sympy.ImmutableMatrix(out) if out and b.cols else sympy.ImmutableMatrix(sympy.zeros(a.rows, b.cols))

    def bound_product(self, node, a, b, left, nonzero):
        """Refuse ``a*b`` if its entries would expand beyond :data:`MAX_TERMS` or :data:`MAX_TOTAL_TERMS`."""
        sa, sb = _entries_stats(self, a), _entries_stats(self, b)
        generators = frozenset().union(*(s.generators for s in (*sa, *sb)))
        degree = max((s.degree for s in sa), default=0) + max((s.degree for s in sb), default=0)
        cap = min(_CAP, _multisets(len(generators) + 1, degree))
        terms = {y: self.stats(y).terms for row in nonzero for _, y in row}
        total = worst = 0
        for row in left:
            sums = [0] * b.cols
            for k, x in enumerate(row):
                if x != 0:
                    tx = self.stats(x).terms
                    for j, y in nonzero[k]:
                        sums[j] += tx * terms[y]
            row_terms = [min(t, cap) for t in sums]
            total += sum(row_terms)
            worst = max(worst, *row_terms)
        if worst > MAX_TERMS:
            raise self.err(node, *_too_many_terms())
        if total > MAX_TOTAL_TERMS:
            raise self.err(node, *_too_many_terms_in_all())

    def power(self, node, base, exp):
        if isinstance(base, list) or isinstance(exp, list):
            raise self.err(node, "cannot raise a list to a power", "wrap the list in Matrix(...)")
        if _is_matrix(exp) or not exp.is_Rational:
            raise self.err(node, "the exponent must be a number", "use exp(...) for exponentials of expressions")
        if _is_matrix(base):
            return self.matrix_power(node, base, exp)
        if abs(exp.p) > MAX_EXPONENT or exp.q > MAX_EXPONENT:
            raise self.err(
                node,
                f"the exponent {_short(exp)} is too large (the limit is ±{MAX_EXPONENT})",
                "use a smaller exponent or a symbol",
            )
        bits = self.stats(base).bits
        if bits * max(abs(int(exp.p)) // int(exp.q), 1) > MAX_BITS:
            raise self.err(
                node,
                f"the power would create a number with more than {MAX_BITS} bits",
                "use smaller numbers, or symbols",
            )
        if exp.q != 1 and bits > MAX_ROOT_BITS:
            raise self.err(
                node,
                f"a root of a number with more than {MAX_ROOT_BITS} bits is not allowed",
                "use a symbol for the large number",
            )
        if base == 0 and exp < 0:
            raise self.err(node, "division by zero", "check the base of the negative power")
        return base**exp

    def matrix_power(self, node, base, exp):
        if not (exp.is_Integer and 0 <= exp <= MAX_MATRIX_POWER):
            raise self.err(
                node, f"a matrix power must be an integer from 0 to {MAX_MATRIX_POWER}", "multiply the matrices out"
            )
        if base.rows != base.cols:
            raise self.err(node, f"cannot take a power of {_describe(base)}", "use a square matrix")
        p = int(exp)
        bits = max((self.stats(e).bits for e in _entries(base)), default=0)
        if (bits + base.rows.bit_length()) * max(p, 1) > MAX_BITS:
            raise self.err(
                node,
                f"the power would create a number with more than {MAX_BITS} bits",
                "use smaller numbers, or symbols",
            )
        if p == 0:
            return sympy.ImmutableMatrix(sympy.eye(base.rows))
        # by squaring with our own product: every step costed before it is made and bounded
        # after (SymPy's own M**p simplifies as it goes: 8x8 symbolic to the 4th took 9.5 s)
        result, square = None, base
        while True:
            if p & 1:
                result = square if result is None else self.limit(node, self.matmul(node, result, square), False)
            p >>= 1
            if not p:
                return result
            square = self.limit(node, self.matmul(node, square, square), charge=False)


def _entries_stats(builder, x):
    return [builder.stats(e) for e in _entries(x)]


def _too_many_terms():
    return (
        f"expanding it would give more than {MAX_TERMS} terms (the limit MAX_TERMS; a sum of "
        f"n terms to the power p has C(n+p-1, p) terms)",
        "expand it by hand into fewer terms, use a smaller exponent, or split the model",
    )


def _too_many_terms_in_all():
    return (
        f"the matrix entries would expand to more than {MAX_TOTAL_TERMS} terms in all (the limit MAX_TOTAL_TERMS)",
        "simplify the entries, use smaller exponents, or split the model",
    )


#: How pass 2 builds each node type (pass 1 has let no other through).
_BUILDERS = {
    ast.Expression: _Builder._expression,
    ast.Constant: _Builder._constant,
    ast.Name: _Builder._name,
    ast.List: _Builder._sequence,
    ast.Tuple: _Builder._sequence,
    ast.UnaryOp: _Builder._unaryop,
    ast.BinOp: _Builder._binop,
    ast.Call: _Builder._call,
}


def _hints(names, known) -> str:
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        if close:
            hints.append(f"{name} → {close[0]}?")
    return f" (did you mean: {', '.join(hints)})" if hints else ""


# -- the functions ------------------------------------------------------------


def _scalar_arg(b, node, x, name):
    if isinstance(x, list) or _is_matrix(x):
        raise b.err(node, f"{name}() takes a scalar, got {_describe(x)}", f"apply {name} to scalar entries")
    return x


def _int_arg(b, node, x, name, what, low=1, high=MAX_DIM):
    if isinstance(x, list) or _is_matrix(x) or not x.is_Integer or not low <= x <= high:
        raise b.err(
            node,
            f"{name}(): {what} must be an integer from {low} to {high}, got {_short(x)}",
            f"call it as {FUNCTIONS[name][1]}",
        )
    return int(x)


def _matrix_arg(b, node, x, name):
    if isinstance(x, list):
        raise b.err(node, f"{name}() takes a matrix, got a list", "wrap the list in Matrix(...)")
    return x if _is_matrix(x) else sympy.ImmutableMatrix([[x]])


def _unary(fn, name):
    def apply(b, node, x):
        return fn(_scalar_arg(b, node, x, name))

    return apply


def _kron(b, node, *factors):
    if not factors:
        raise TypeError
    mats = [_matrix_arg(b, node, f, "kron") for f in factors]
    rows, cols = math.prod(M.rows for M in mats), math.prod(M.cols for M in mats)
    if rows > MAX_DIM or cols > MAX_DIM:
        raise b.err(node, f"kron() would give a {rows}x{cols} matrix (the limit is {MAX_DIM})", "use smaller factors")
    out = mats[0].tolist()
    for M in mats[1:]:
        right = M.tolist()
        # row (i, k), column (j, l) = A[i][j] * M[k][l], the left factor slowest
        out = [[x * y if x != 0 and y != 0 else 0 for x in row for y in mrow] for row in out for mrow in right]
    return sympy.ImmutableMatrix(rows, cols, [x for row in out for x in row])


def _rows(b, node, arg, name):
    if not isinstance(arg, list) or not arg:
        raise b.err(node, f"{name}() takes a non-empty list of rows", f"call it as {FUNCTIONS[name][1]}")
    rows = [r if isinstance(r, list) else [r] for r in arg] if name == "Matrix" else arg
    if name == "block" and not all(isinstance(r, list) and r for r in rows):
        raise b.err(node, "block() takes a list of rows, each a non-empty list", f"call it as {FUNCTIONS[name][1]}")
    if len({len(r) for r in rows}) != 1:
        raise b.err(
            node,
            f"the rows of {name}() have different lengths {[len(r) for r in rows]}",
            "give every row the same number of entries",
        )
    return rows


def _matrix(b, node, arg):
    rows = _rows(b, node, arg, "Matrix")
    if not isinstance(arg[0], list):  # a flat list is a column
        rows = [[x] for x in arg]
    for row in rows:
        for x in row:
            if isinstance(x, list) or _is_matrix(x):
                raise b.err(
                    node,
                    f"Matrix() entries must be scalars, got {_describe(x)}",
                    "assemble matrices from blocks with block([[A, B], [C, D]])",
                )
    if len(rows) > MAX_DIM or len(rows[0]) > MAX_DIM:
        raise b.err(node, f"the matrix is larger than {MAX_DIM}x{MAX_DIM}", "use a smaller matrix")
    return sympy.ImmutableMatrix(rows)


def _block(b, node, arg):
    rows = _rows(b, node, arg, "block")
    heights = [None] * len(rows)
    widths = [None] * len(rows[0])
    for r, row in enumerate(rows):
        for c, x in enumerate(row):
            if _is_matrix(x):
                for sizes, i, n, what in ((heights, r, x.rows, "row"), (widths, c, x.cols, "column")):
                    if sizes[i] not in (None, n):
                        raise b.err(
                            node,
                            f"block(): the blocks in block {what} {i + 1} have different sizes ({sizes[i]} and {n})",
                            "make the blocks fit together",
                        )
                    sizes[i] = n
            elif isinstance(x, list) or x != 0:
                raise b.err(
                    node,
                    f"block() entries must be matrices or 0, got {_short(x)}",
                    "multiply scalars by a matrix, e.g. x*eye(2)",
                )
    if None in heights or None in widths:
        raise b.err(
            node,
            "block(): a block row or column contains only zeros, so its size is unknown",
            "write that zero block as zeros(r, c)",
        )
    if sum(heights) > MAX_DIM or sum(widths) > MAX_DIM:
        raise b.err(node, f"the matrix is larger than {MAX_DIM}x{MAX_DIM}", "use a smaller matrix")
    grid = [
        [x if _is_matrix(x) else sympy.zeros(heights[r], widths[c]) for c, x in enumerate(row)]
        for r, row in enumerate(rows)
    ]
    return sympy.ImmutableMatrix(sympy.BlockMatrix(grid).as_explicit())


def _diag(b, node, *entries):
    if not entries:
        raise TypeError
    for x in entries:
        if isinstance(x, list):
            raise b.err(node, "diag() takes scalars or matrices, got a list", "pass the entries one by one")
    size = sum(x.rows if _is_matrix(x) else 1 for x in entries)
    if size > MAX_DIM:
        raise b.err(node, f"diag() would give a {size}x{size} matrix (the limit is {MAX_DIM})", "use fewer entries")
    return sympy.ImmutableMatrix(sympy.diag(*entries))


def _eye(b, node, n):
    return sympy.ImmutableMatrix(sympy.eye(_int_arg(b, node, n, "eye", "n")))


def _zeros(b, node, r, c=None):
    r = _int_arg(b, node, r, "zeros", "the size")
    c = r if c is None else _int_arg(b, node, c, "zeros", "the size")
    return sympy.ImmutableMatrix(sympy.zeros(r, c))


def _unit(b, node, i, j, n, name="ketbra"):
    n = _int_arg(b, node, n, name, "n")
    i = _int_arg(b, node, i, name, "the index (1-based)", 1, n)
    j = _int_arg(b, node, j, name, "the index (1-based)", 1, n)
    return sympy.ImmutableMatrix(n, n, lambda r, c: 1 if (r, c) == (i - 1, j - 1) else 0)


def _projector(b, node, i, n):
    return _unit(b, node, i, i, n, "proj")


def _dagger(b, node, x):
    if isinstance(x, list):
        raise b.err(node, "dagger() takes a matrix or scalar, got a list", "wrap the list in Matrix(...)")
    return x.H if _is_matrix(x) else sympy.conjugate(x)


def _transpose(b, node, x):
    return _matrix_arg(b, node, x, "transpose").T if _is_matrix(x) else _scalar_arg(b, node, x, "transpose")


#: name → (implementation, usage, how many list levels its arguments may contain)
FUNCTIONS = {
    "kron": (_kron, "kron(A, B, ...)", 0),
    "Matrix": (_matrix, "Matrix([[a, b], [c, d]])", 2),
    "block": (_block, "block([[A, B], [C, D]])", 2),
    "diag": (_diag, "diag(a, B, ...)", 0),
    "eye": (_eye, "eye(n)", 0),
    "zeros": (_zeros, "zeros(n) or zeros(rows, cols)", 0),
    "ketbra": (_unit, "ketbra(i, j, n) (n×n, 1-based indices)", 0),
    "proj": (_projector, "proj(i, n) (n×n, 1-based index)", 0),
    "dagger": (_dagger, "dagger(A)", 0),
    "transpose": (_transpose, "transpose(A)", 0),
    "conjugate": (_unary(sympy.conjugate, "conjugate"), "conjugate(x)", 0),
    "sqrt": (lambda b, node, x: b.power(node, _scalar_arg(b, node, x, "sqrt"), sympy.Rational(1, 2)), "sqrt(x)", 0),
    "exp": (_unary(sympy.exp, "exp"), "exp(x)", 0),
    "cos": (_unary(sympy.cos, "cos"), "cos(x)", 0),
    "sin": (_unary(sympy.sin, "sin"), "sin(x)", 0),
    "cosh": (_unary(sympy.cosh, "cosh"), "cosh(x)", 0),
    "sinh": (_unary(sympy.sinh, "sinh"), "sinh(x)", 0),
}


# -- the API ------------------------------------------------------------------


def namespace(symbols=None) -> dict:
    """The names a string may use: built-in symbols and matrices, plus ``symbols``.

    Parameters
    ----------
    symbols : iterable of str or sympy.Symbol, or mapping, optional
        Extra names. A string ``"x"`` becomes ``sympy.Symbol("x", real=True)``; a
        SymPy symbol is used as is, under its name; a mapping ``{name: value}``
        binds each name to a SymPy expression, symbol or matrix. A name given here
        replaces a built-in symbol of the same name.

    Returns
    -------
    dict
        ``{name: SymPy object}`` (functions are in :data:`FUNCTIONS`).
    """
    names = dict(_NAMES)
    if symbols is None:
        return names
    if isinstance(symbols, str):
        raise ModelError(
            f"symbols must be a list of names, got the string {symbols!r}. "
            f"Fix: symbols={symbols.replace(',', ' ').split()!r}."
        )
    items = symbols.items() if isinstance(symbols, Mapping) else ((None, s) for s in symbols)
    for name, value in items:
        if name is None:
            name, value = _named(value)
        _check_symbol_name(name)
        if isinstance(value, (list, tuple)) or not isinstance(value, (sympy.Basic, sympy.MatrixBase)):
            raise ModelError(
                f"the value of {name!r} must be a SymPy object (symbol, expression or "
                f"matrix), got {type(value).__name__}. Fix: e.g. sympy.Symbol({name!r}, real=True)."
            )
        names[name] = sympy.ImmutableMatrix(value) if _is_matrix(value) else value
    return names


def _named(entry) -> tuple:
    """``(name, value)`` of an entry of a ``symbols`` list: a name (a new real symbol) or a SymPy symbol."""
    if isinstance(entry, str):
        return entry, sympy.Symbol(entry, real=True)
    if isinstance(entry, sympy.Symbol):
        return entry.name, entry
    raise ModelError(
        f"symbols entries must be names or SymPy symbols, got {entry!r}. "
        f"Fix: pass a mapping {{name: value}} to bind a name to an expression."
    )


def _check_symbol_name(name):
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii() or keyword.iskeyword(name):
        raise ModelError(
            f"{name!r} cannot be used as a symbol name in a string. Fix: use a Python identifier of ASCII "
            f"letters, digits and _, such as 'alpha_1'."
        )
    if name.startswith("_"):
        raise ModelError(f"symbol names may not start with '_' (got {name!r}). Fix: rename it.")
    if name in FUNCTIONS or (name in _NAMES and _is_matrix(_NAMES[name])) or name in ("I", "pi"):
        raise ModelError(
            f"{name!r} is a built-in name of the string syntax and cannot be redefined. Fix: choose another name."
        )


def parse(text: str, *, symbols=None):
    """Parse a string into a SymPy scalar or matrix, executing nothing.

    Parameters
    ----------
    text : str
        The expression (the grammar is in the module docstring). It may span
        several lines and contain ``#`` comments.
    symbols : iterable or mapping, optional
        Extra names, see :func:`namespace`.

    Returns
    -------
    sympy.Expr or sympy.Matrix

    Raises
    ------
    ModelError
        (a ``ValueError``) naming what is not allowed, unknown, or ill-formed.
    """
    if not isinstance(text, str):
        raise ModelError(
            f"the Hamiltonian must be given as a string, got {type(text).__name__}. "
            f"Fix: pass a str, or use Model(H, blocks) for a SymPy matrix."
        )
    if len(text) > MAX_LENGTH:
        raise ModelError(
            f"the Hamiltonian string has {len(text)} characters, more than the limit "
            f"{MAX_LENGTH}. Fix: build a model this large with Model(H, blocks) from a SymPy matrix."
        )
    if not text.strip():
        raise ModelError(
            "the Hamiltonian string is empty. Fix: write the Hamiltonian, e.g. 'k_x**2*sigma_0 + b*sigma_z'."
        )
    names = namespace(symbols)
    source = _Source(text)
    _scan(source)
    try:
        tree = ast.parse(source.wrapped, mode="eval")
    except SyntaxError as exc:
        line = (exc.lineno or 2) - 1
        where = f" on line {line}" if "\n" in text.strip() else ""
        fix = (
            "write a single expression (no statements, assignments or imports)"
            if exc.msg and "invalid syntax" in exc.msg
            else "check the brackets and operators"
        )
        if exc.msg and "nested" in exc.msg:
            fix = "reduce the nesting of brackets"
        msg = (exc.msg or "invalid syntax").rstrip(".")
        sep = " " if msg.endswith("?") else ". "
        raise ModelError(f"cannot parse the Hamiltonian string: {msg}{where}{sep}Fix: {fix}.") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ModelError(
            f"cannot parse the Hamiltonian string: it is too long or too deeply nested "
            f"({type(exc).__name__}). Fix: split it into smaller terms, or build the matrix "
            f"in Python with Model(H, blocks)."
        ) from None
    builder = _Builder(source, names)
    builder.check(tree)
    try:
        value = builder.build(tree)
    except RecursionError:  # a last resort: MAX_DEPTH and MAX_TREE_DEPTH should come first
        raise ModelError(
            "cannot parse the Hamiltonian string: it is nested too deeply for SymPy (RecursionError). "
            "Fix: write it with fewer nested functions and brackets, or split it into smaller terms."
        ) from None
    return sympy.Matrix(value) if _is_matrix(value) else value


def parse_hamiltonian(text: str, *, symbols=None) -> sympy.Matrix:
    """Parse a Hamiltonian string into a square SymPy matrix, executing nothing.

    Parameters
    ----------
    text : str
        E.g. ``"hbar**2*(k_x**2 + k_y**2)/(2*m)*sigma_0 + alpha_0*(k_y*sigma_x - k_x*sigma_y)"``.
        The grammar (names, functions, limits) is in the module docstring.
    symbols : iterable or mapping, optional
        Extra names, see :func:`namespace`.

    Returns
    -------
    sympy.Matrix
        Square; Hermiticity is checked by :class:`~symbolic_sw.Model`, not here.

    Raises
    ------
    ModelError
        (a ``ValueError``) for anything not allowed, unknown names, or a result
        that is not a square matrix.
    """
    value = parse(text, symbols=symbols)
    if not _is_matrix(value):
        raise ModelError(
            f"the Hamiltonian string gives the scalar {_short(value)}, not a matrix; its size is "
            f"unknown. Fix: multiply scalar terms by a matrix, e.g. (...)*sigma_0 or (...)*eye(n)."
        )
    if value.rows != value.cols:
        raise ModelError(
            f"the Hamiltonian string gives a {value.rows}x{value.cols} matrix; it must be "
            f"square. Fix: check the kron factors and Matrix rows."
        )
    return value


def _resolve_symbols(names, items, what):
    """Symbols given by name (str) or as SymPy symbols."""
    if isinstance(items, str):
        items = items.replace(",", " ").split()
    resolved = []
    for s in items:
        if isinstance(s, str):
            if not isinstance(names.get(s), sympy.Symbol):
                raise ModelError(
                    f"{what} {s!r} is not a symbol of the string syntax. Fix: use a "
                    f"built-in name (k_x, k_y, k_z, hbar, ...) or declare it with symbols=[{s!r}]."
                )
            s = names[s]
        resolved.append(s)
    return resolved


_COMMUTATORS_FORM = 'e.g. commutators={"k_x, k_y": "-I*e*B_z/hbar", "z, k_z": "I"}'


def _commutator_key(names, key) -> tuple:
    """The two symbols named by a key of ``commutators``: ``"a, b"`` or ``("a", "b")``."""
    if isinstance(key, str):
        parts = [p.strip() for p in key.split(",")]
    elif isinstance(key, tuple):
        parts = list(key)
    else:
        parts = None
    if not parts or len(parts) != 2 or not all(isinstance(p, (str, sympy.Symbol)) and str(p) for p in parts):
        raise ModelError(
            f"commutators entry {_clip(repr(key))}: a key must name two symbols, [a, b] written as the string "
            f'"a, b" (or the tuple ("a", "b")). Fix: {_COMMUTATORS_FORM}.'
        )
    out = []
    for part in parts:
        if isinstance(part, sympy.Symbol):
            out.append(part)
            continue
        found = names.get(part)
        if not isinstance(found, sympy.Symbol):
            what = "a matrix, not a symbol" if found is not None else "not a symbol of the string syntax"
            hint = difflib.get_close_matches(part, [n for n, v in names.items() if isinstance(v, sympy.Symbol)], n=1)
            better = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ModelError(
                f"commutators entry {_clip(repr(key))}: {part!r} is {what}{better}. Fix: use a built-in name "
                f"(k_x, k_y, k_z, ...) or declare it with symbols=[{part!r}] (SYMBOLS in a derivation spec)."
            )
        out.append(found)
    return tuple(out)


def parse_commutators(commutators, *, symbols=None) -> dict:
    """``{(a, b): c}`` for :class:`~symbolic_sw.Model` from commutators written as strings (issue 16).

    Parameters
    ----------
    commutators : mapping
        ``{"a, b": "c"}`` meaning ``[a, b] = c``, e.g. ``{"k_x, k_y": "-I*e*B_z/hbar",
        "z, k_z": "I"}``. A key names two symbols, as the string ``"a, b"`` or the tuple
        ``("a", "b")``; a value is a scalar in the grammar of the Hamiltonian string (parsed
        by :func:`parse`, never evaluated) or a SymPy expression / number used as is. Names
        resolve through the same table as the Hamiltonian (built-ins and ``symbols``), so the
        commutator's symbols are the Hamiltonian's.
    symbols : iterable or mapping, optional
        Extra names, see :func:`namespace`.

    Returns
    -------
    dict
        ``{(sympy.Symbol, sympy.Symbol): sympy.Expr}``; whether each value is central and
        imaginary is checked by :class:`~symbolic_sw.Model`.

    Raises
    ------
    ModelError
        Naming the entry: not a mapping, a malformed key, an unknown name, a value that does not
        parse or is a matrix.
    """
    if commutators is None:
        return {}
    if not isinstance(commutators, Mapping):
        raise ModelError(
            f'commutators must be a mapping {{"a, b": "c"}} meaning [a, b] = c, got '
            f"{type(commutators).__name__}. Fix: {_COMMUTATORS_FORM}."
        )
    names = namespace(symbols)
    out = {}
    for key, value in commutators.items():
        pair = _commutator_key(names, key)
        if isinstance(value, str):
            try:
                value = parse(value, symbols=symbols)
            except ModelError as exc:
                text = str(exc).replace("the Hamiltonian string", "the value")
                raise ModelError(f"commutators entry {_clip(repr(key))}: {text}") from None
        elif isinstance(value, bool) or not isinstance(value, (sympy.Basic, int, fractions.Fraction)):
            raise ModelError(
                f'commutators entry {_clip(repr(key))}: the value must be a string (e.g. "-I*e*B_z/hbar") or a '
                f"SymPy expression, got {type(value).__name__}. Fix: {_COMMUTATORS_FORM}."
            )
        if _is_matrix(value):
            raise ModelError(
                f"commutators entry {_clip(repr(key))}: the value is {_short(value)}; [a, b] must be a "
                f"scalar (a number or an expression in commuting symbols). Fix: {_COMMUTATORS_FORM}."
            )
        if pair in out or pair[::-1] in out:
            raise ModelError(
                f"commutators entry {_clip(repr(key))}: the pair [{pair[0]}, {pair[1]}] is given twice. Fix: list "
                f"each pair once ([b, a] = -[a, b] follows)."
            )
        if isinstance(value, (int, fractions.Fraction)):  # a number: converted exactly, nothing parsed
            value = sympy.Rational(value.numerator, value.denominator)
        out[pair] = value
    return out


def model_from_string(
    cls,
    text,
    blocks,
    *,
    basis=None,
    symbols=None,
    momenta=None,
    perturbation=None,
    spin=True,
    time_reversal=False,
    hbar=None,
    name=None,
    **options,
):
    """The implementation of :meth:`symbolic_sw.Model.from_string` (see there)."""
    names = namespace(symbols)
    H = parse_hamiltonian(text, symbols=symbols)
    if options.get("commutators") is not None:
        options["commutators"] = parse_commutators(options["commutators"], symbols=symbols)
    if isinstance(perturbation, str):
        perturbation = parse_hamiltonian(perturbation, symbols=symbols)
    if momenta is not None:
        momenta = _resolve_symbols(names, momenta, "momentum")
    if options.get("perturbative"):
        options["perturbative"] = _resolve_symbols(names, options["perturbative"], "perturbative parameter")
    if hbar is None:
        hbar = names["hbar"]
    if basis is not None:
        if isinstance(basis, str):
            raise ModelError(
                f"basis must be a list of labels, one per basis state, got the string {basis!r}. "
                f"Fix: e.g. basis=['Γ1↑', 'Γ1↓', ...]."
            )
        basis = tuple(str(label) for label in basis)
        if len(basis) != H.rows:
            raise ModelError(
                f"basis has {len(basis)} labels but the Hamiltonian is {H.rows}x{H.cols}. "
                f"Fix: give one label per basis state."
            )
    return cls(
        H,
        blocks,
        momenta=momenta,
        perturbation=perturbation,
        spin=spin,
        time_reversal=time_reversal,
        hbar=hbar,
        name=name,
        basis=basis,
        source=text,
        **options,
    )
