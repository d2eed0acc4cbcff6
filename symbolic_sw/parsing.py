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
    to exact rationals through their decimal text (``0.1`` → ``1/10``), so the
    algebra stays exact.
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
    declared through ``symbols=``.
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
starting with ``_``. Limits: at most :data:`MAX_LENGTH` characters, nesting
depth :data:`MAX_DEPTH`, matrices up to :data:`MAX_DIM` × :data:`MAX_DIM`,
numbers up to :data:`MAX_BITS` bits (:data:`MAX_ROOT_BITS` under a root),
exponents up to :data:`MAX_EXPONENT` — so ``9**9**9**9`` fails at once instead of hanging.
"""

from __future__ import annotations

import ast
import difflib
import fractions
import keyword
import math
from collections.abc import Mapping

import sympy

from . import symbols as _symbols
from .errors import ModelError
from .pauli import sigma_0, sigma_x, sigma_y, sigma_z

__all__ = [
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_DEPTH",
    "MAX_DIM",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MATRIX_POWER",
    "MAX_ROOT_BITS",
    "model_from_string",
    "namespace",
    "parse",
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

    def where(self, node) -> str:
        seg = ast.get_source_segment(self.wrapped, node) if hasattr(node, "lineno") else None
        if not seg:
            return ""
        seg = " ".join(seg.split())
        if len(seg) > 60:
            seg = seg[:57] + "..."
        line = node.lineno - 1
        at = f" on line {line}" if "\n" in self.text.strip() else ""
        return f" (in `{seg}`{at})"

    def error(self, node, problem: str, fix: str) -> ModelError:
        return ModelError(f"cannot parse the Hamiltonian string: {problem}{self.where(node)}. Fix: {fix}")


# -- value helpers ----------------------------------------------------------


def _exact(x: float) -> sympy.Rational:
    """A float literal as the exact rational its shortest decimal text denotes (0.1 → 1/10)."""
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


def _number_bits(x) -> int:
    """Bits of the exact rational coefficient of a scalar (0 if it has none)."""
    if x.is_Rational:
        c = x
    elif x.is_Mul:
        c = x.as_coeff_Mul()[0]
    elif x.is_Add:
        c = x.as_coeff_Add()[0]
    else:
        return 0
    if not c.is_Rational:
        return 0
    return max(abs(int(c.p)).bit_length(), int(c.q).bit_length())


def _max_bits(x) -> int:
    """Bits of the largest rational number anywhere in a scalar or matrix."""
    items = list(x) if _is_matrix(x) else [x]
    best = 0
    for item in items:
        for atom in item.atoms(sympy.Rational):
            best = max(best, abs(int(atom.p)).bit_length(), int(atom.q).bit_length())
    return best


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
        return build(self, node, depth, lists)

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
        value = self.build(node, depth + 1)
        for link in reversed(chain):
            value = self.binop(link, value, self.build(link.right, depth + 1))
        return value

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
            value = sympy.Integer(v)
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise self.err(node, "the number is too large", "use a smaller number or a symbol")
            value = _exact(v)
        else:
            if not (math.isfinite(v.real) and math.isfinite(v.imag)):
                raise self.err(node, "the number is too large", "use a smaller number or a symbol")
            value = _exact(v.real) + _exact(v.imag) * sympy.I
        return self.bounded(node, value)

    def bounded(self, node, value, full=False):
        bits = _max_bits(value) if full else (0 if _is_matrix(value) else _number_bits(value))
        if bits > MAX_BITS:
            raise self.err(
                node,
                f"a number with more than {MAX_BITS} bits appears",
                "use smaller numbers, or symbols for large parameters",
            )
        return value

    def square(self, node, M):
        if M.rows != M.cols:
            raise self.err(
                node,
                f"a scalar can only be added to a square matrix, not to {_describe(M)}",
                "multiply the scalar by a matrix of the right shape",
            )
        return sympy.ImmutableMatrix(sympy.eye(M.rows))

    def binop(self, node, a, b):
        op = _BINOPS[type(node.op)]
        for x in (a, b):
            if isinstance(x, list):
                raise self.err(node, f"cannot apply '{op}' to a list", "wrap the list in Matrix(...)")
        if op in "+-":
            return self.add(node, op, a, b)
        if op in "*@":
            return self.multiply(node, op, a, b)
        if _is_matrix(b):
            raise self.err(node, "cannot divide by a matrix", "divide by scalars only")
        if b == 0:
            raise self.err(node, "division by zero", "check the denominator")
        return self.bounded(node, a / b)

    def add(self, node, op, a, b):
        """``a + b`` or ``a - b``; a scalar added to a square matrix is a multiple of the identity."""
        ma, mb = _is_matrix(a), _is_matrix(b)
        if ma and mb and a.shape != b.shape:
            raise self.err(
                node,
                f"cannot add a {a.rows}x{a.cols} and a {b.rows}x{b.cols} matrix",
                "make the terms the same size, e.g. with kron(..., sigma_0)",
            )
        if ma and not mb:
            b = b * self.square(node, a)
        elif mb and not ma:
            a = a * self.square(node, b)
        return self.bounded(node, a + b if op == "+" else a - b)

    def multiply(self, node, op, a, b):
        """``a * b`` or ``a @ b`` (``@`` only between matrices)."""
        ma, mb = _is_matrix(a), _is_matrix(b)
        if op == "@" and not (ma and mb):
            raise self.err(
                node, f"'@' needs two matrices, got {_describe(a)} and {_describe(b)}", "use * to multiply by a scalar"
            )
        if not (ma and mb):
            return self.bounded(node, a * b)
        if a.cols != b.rows:
            raise self.err(
                node,
                f"cannot multiply a {a.rows}x{a.cols} by a {b.rows}x{b.cols} matrix",
                "check the sizes of the factors",
            )
        return self.bounded(node, a * b, full=True)

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
                f"the exponent {exp} is too large (the limit is ±{MAX_EXPONENT})",
                "use a smaller exponent or a symbol",
            )
        if _max_bits(base) * abs(int(exp.p)) > MAX_BITS:
            raise self.err(
                node,
                f"the power would create a number with more than {MAX_BITS} bits",
                "use smaller numbers, or symbols",
            )
        if exp.q != 1 and _max_bits(base) > MAX_ROOT_BITS:
            raise self.err(
                node,
                f"a root of a number with more than {MAX_ROOT_BITS} bits is not allowed",
                "use a symbol for the large number",
            )
        if base == 0 and exp < 0:
            raise self.err(node, "division by zero", "check the base of the negative power")
        return self.bounded(node, base**exp)

    def matrix_power(self, node, base, exp):
        if not (exp.is_Integer and 0 <= exp <= MAX_MATRIX_POWER):
            raise self.err(
                node, f"a matrix power must be an integer from 0 to {MAX_MATRIX_POWER}", "multiply the matrices out"
            )
        if base.rows != base.cols:
            raise self.err(node, f"cannot take a power of {_describe(base)}", "use a square matrix")
        if _max_bits(base) * max(int(exp), 1) * base.rows > MAX_BITS:
            raise self.err(
                node,
                f"the power would create a number with more than {MAX_BITS} bits",
                "use smaller numbers, or symbols",
            )
        return self.bounded(node, base ** int(exp), full=True)


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
            f"{name}(): {what} must be an integer from {low} to {high}, got {_show(x)}",
            f"call it as {FUNCTIONS[name][1]}",
        )
    return int(x)


def _show(x):
    return _describe(x) if isinstance(x, list) or _is_matrix(x) else str(x)


def _matrix_arg(b, node, x, name):
    if isinstance(x, list):
        raise b.err(node, f"{name}() takes a matrix, got a list", "wrap the list in Matrix(...)")
    return x if _is_matrix(x) else sympy.ImmutableMatrix([[x]])


def _unary(fn, name):
    def apply(b, node, x):
        return b.bounded(node, fn(_scalar_arg(b, node, x, name)))

    return apply


def _kron(b, node, *factors):
    if not factors:
        raise TypeError
    mats = [_matrix_arg(b, node, f, "kron") for f in factors]
    rows, cols = math.prod(M.rows for M in mats), math.prod(M.cols for M in mats)
    if rows > MAX_DIM or cols > MAX_DIM:
        raise b.err(node, f"kron() would give a {rows}x{cols} matrix (the limit is {MAX_DIM})", "use smaller factors")
    out = mats[0]
    for M in mats[1:]:
        out = sympy.ImmutableMatrix(
            out.rows * M.rows, out.cols * M.cols, lambda i, j: out[i // M.rows, j // M.cols] * M[i % M.rows, j % M.cols]
        )
    return b.bounded(node, out, full=True)


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
                    f"block() entries must be matrices or 0, got {_show(x)}",
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
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ModelError(
            f"{name!r} cannot be used as a symbol name in a string. Fix: use a Python identifier such as 'alpha_1'."
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
    value = builder.build(tree)
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
            f"the Hamiltonian string gives the scalar {value}, not a matrix; its size is "
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
