"""SymPy expressions as text and back, without executing anything (the derivation cache's format).

:class:`Table` writes expressions in ``sympy.srepr`` syntax, one unique subtree per entry
of a list, an entry naming an earlier one as ``_j``::

    [Symbol('b', real=True), Integer(1), Add(_0, _1), ImmutableDenseMatrix([[_2, _1]])]

with the arguments of ``Add`` and ``Mul`` in their stored order, so that the reader
rebuilds the very same tree (``srepr`` lists terms in printing order, which an unevaluated
rebuild would not sort back). :func:`load_table` never calls ``eval``, ``exec``, ``compile``
(other than through ``ast.parse``), ``sympify`` or ``pickle``: the text is parsed into a
syntax tree and rebuilt from a whitelist of SymPy constructors with checked arguments.
Anything else — an unknown name or function, an attribute, a subscript, ``**kwargs``, a
forward reference, an assumption SymPy does not know, a wrong argument count or type —
raises :class:`UnsafeExpressionError`.

The constructors are called unevaluated (``evaluate=False``): the text is a tree that
SymPy produced, so nothing has to be simplified, and a hostile text cannot make the reader
expand or multiply out anything; the trees it may describe are bounded (:data:`MAX_NODES`).
"""

from __future__ import annotations

import ast
import re

import sympy
from sympy.core.assumptions import _assume_defined
from sympy.functions.elementary.piecewise import ExprCondPair

__all__ = ["MAX_NODES", "Table", "UnsafeExpressionError", "dumps", "load_table", "loads"]


class UnsafeExpressionError(ValueError):
    """Text the reader refuses (not a table of whitelisted constructors), or an object the writer cannot write."""


# -- writing -------------------------------------------------------------------------


def dumps(expr) -> str:
    """Text of one SymPy expression or matrix, read back exactly by :func:`loads`."""
    table = Table()
    table.add(expr)
    return table.text()


def loads(text: str):
    """The SymPy expression or matrix :func:`dumps` wrote as ``text`` (see :func:`load_table`)."""
    entries = load_table(text)
    if not entries:
        raise UnsafeExpressionError("an empty table")
    return entries[-1]


class Table:
    """Expressions as a table of unique subtrees: one ``srepr`` call per entry.

    Entry ``i`` refers to an earlier entry ``j`` as the name ``_j``, so a subtree shared
    by many matrix elements (a common denominator, ``Symbol('hbar', positive=True)``) is
    written, parsed and built once: ``[Symbol('b', real=True), Integer(1), Add(_0, _1)]``.
    Entries are deduplicated by their text, hence exactly (``Float(1.0)`` and
    ``Integer(1)``, equal for SymPy, stay two entries).
    """

    def __init__(self):
        self.entries = []  # text of each entry
        self._by_text = {}  # text → index
        self._by_id = {}  # id(object) → (object, index): a shared object is visited once

    def add(self, obj) -> int:
        """The index of ``obj`` (an expression or a matrix), adding it and its subtrees."""
        seen = self._by_id.get(id(obj))
        if seen is not None and seen[0] is obj:
            return seen[1]
        if isinstance(obj, sympy.MatrixBase):
            if obj.rows == 0 or obj.cols == 0:
                text = f"ImmutableDenseMatrix({obj.rows}, {obj.cols}, [])"
            else:
                rows = (", ".join(f"_{self.add(e)}" for e in obj.row(i)) for i in range(obj.rows))
                text = "ImmutableDenseMatrix([" + ", ".join(f"[{r}]" for r in rows) + "])"
        elif not isinstance(obj, sympy.Basic):
            raise UnsafeExpressionError(f"cannot write {type(obj).__name__} {obj!r}")
        elif obj.args and not obj.is_Atom:
            name = type(obj).__name__
            if name not in _CALLS or name in _ATOM_CALLS:
                raise UnsafeExpressionError(f"cannot write {name} (not among the constructors read back)")
            # stored order (srepr prints Add/Mul in printing order, which an unevaluated
            # rebuild would not sort back)
            text = f"{name}({', '.join(f'_{self.add(a)}' for a in obj.args)})"
        else:
            text = sympy.srepr(obj)  # atoms: Symbol, Integer, Rational, Float, I, pi, true ...
        index = self._by_text.get(text)
        if index is None:
            index = self._by_text[text] = len(self.entries)
            self.entries.append(text)
        self._by_id[id(obj)] = (obj, index)
        return index

    def text(self) -> str:
        """The table as text: a list, one entry per line."""
        return "[\n" + "".join(f"{e},\n" for e in self.entries) + "]"


# -- reading -------------------------------------------------------------------------

_FLOAT_TEXT = re.compile(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)", re.IGNORECASE)
_MAX_DIGITS = 4000  # below Python's int-from-string limit (4300): a longer literal is refused
_MAX_PRECISION = 100_000  # bits of a Float
#: the most nodes a tree read back may have, counting a shared subtree at each of its uses:
#: sharing makes a table of n entries able to describe a tree of 2**n nodes, which anything
#: downstream (printing, code generation) would have to walk (the shipped specs: < 40 000)
MAX_NODES = 10_000_000

#: bare names srepr writes for singletons
_NAMES = {
    "I": sympy.I,
    "pi": sympy.pi,
    "E": sympy.E,
    "oo": sympy.oo,
    "zoo": sympy.zoo,
    "nan": sympy.nan,
    "true": sympy.true,
    "false": sympy.false,
}
_RELATIONALS = {
    cls.__name__: cls
    for cls in (
        sympy.StrictLessThan,
        sympy.LessThan,
        sympy.StrictGreaterThan,
        sympy.GreaterThan,
        sympy.Equality,
        sympy.Unequality,
    )
}
#: functions of a fixed number of expression arguments, called unevaluated
_FUNCTIONS = {
    **{
        cls.__name__: (cls, 1)
        for cls in (
            sympy.exp,
            sympy.log,
            sympy.sin,
            sympy.cos,
            sympy.tan,
            sympy.sinh,
            sympy.cosh,
            sympy.tanh,
            sympy.conjugate,
            sympy.Abs,
            sympy.re,
            sympy.im,
            sympy.sign,
        )
    },
    "polylog": (sympy.polylog, 2),
    "Pow": (sympy.Pow, 2),
}
#: calls that write an atom (the writer leaves them to ``srepr``)
_ATOM_CALLS = {"Integer", "Rational", "Float", "Symbol"}
#: every call the reader accepts
_CALLS = {
    "Add",
    "Mul",
    "Integer",
    "Rational",
    "Float",
    "Symbol",
    "ImmutableDenseMatrix",
    "Piecewise",
    "ExprCondPair",
    "And",
    "Or",
    "Not",
    *_FUNCTIONS,
    *_RELATIONALS,
}


def load_table(text: str, symbol_name=None) -> list:
    """The entries of a :class:`Table` written as ``text``: SymPy expressions and matrices.

    Parameters
    ----------
    symbol_name : callable, optional
        ``symbol_name(name) -> bool``: the names a ``Symbol`` may have (default: any
        non-empty string).

    Raises
    ------
    UnsafeExpressionError
        On anything but a list of whitelisted constructors with valid arguments, whose
        references ``_j`` name earlier entries.
    """
    if not isinstance(text, str):
        raise UnsafeExpressionError(f"expected text, got {type(text).__name__}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise UnsafeExpressionError(f"not an expression table: {exc}") from None
    if not isinstance(tree.body, ast.List):
        raise UnsafeExpressionError("not an expression table: expected a list")
    reader = _Reader(symbol_name)
    try:
        for node in tree.body.elts:
            value = reader.node(node)
            if not isinstance(value, (sympy.Basic, sympy.ImmutableDenseMatrix)):
                _refuse(node, f"entry {len(reader.entries)} is a {type(value).__name__}, not a SymPy object")
            reader.entries.append(value)
    except RecursionError:
        raise UnsafeExpressionError("nested too deeply") from None
    except UnsafeExpressionError:
        raise
    except Exception as exc:  # a whitelisted constructor refused its (checked) arguments
        raise UnsafeExpressionError(f"invalid arguments: {type(exc).__name__}: {exc}") from None
    return reader.entries


def _refuse(node, why):
    where = f" at column {node.col_offset + 1}" if hasattr(node, "col_offset") else ""
    raise UnsafeExpressionError(f"{why}{where}")


_REFERENCE = re.compile(r"_(0|[1-9][0-9]{0,8})")


class _Reader:
    def __init__(self, symbol_name=None):
        self.symbol_name = symbol_name or bool
        self.entries = []
        self.sizes = {}  # id(object) → (object, nodes of its tree)

    def node(self, node):
        """A SymPy object, or a plain int/str/bool/list where a constructor takes one."""
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Name):
            if node.id in _NAMES:
                return _NAMES[node.id]
            match = _REFERENCE.fullmatch(node.id)
            if match is None or int(match[1]) >= len(self.entries):
                _refuse(node, f"unknown name {node.id!r}")
            return self.entries[int(match[1])]
        if isinstance(node, ast.Constant) and type(node.value) in (int, str, bool):
            return node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and type(node.operand.value) is int
        ):
            return -node.operand.value
        if isinstance(node, ast.List):
            return [self.node(e) for e in node.elts]
        return _refuse(node, f"{type(node).__name__} is not allowed")

    def call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in _CALLS:
            what = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
            _refuse(node, f"call of {what!r} is not allowed")
        name = node.func.id
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            _refuse(node, f"{name}: * and ** arguments are not allowed")
        args = [self.node(a) for a in node.args]
        kwargs = {k.arg: self.node(k.value) for k in node.keywords}
        if len(kwargs) != len(node.keywords):
            _refuse(node, f"{name}: repeated keyword")
        if name not in ("Symbol", "Float") and kwargs:
            _refuse(node, f"{name}: keyword arguments are not allowed")
        value = getattr(self, f"make_{name}", self.make_function)(node, name, args, kwargs)
        parts = list(value) if isinstance(value, sympy.MatrixBase) else value.args
        size = 1 + sum(self.size(a) for a in parts)
        if size > MAX_NODES:
            _refuse(node, f"{name}: a tree of more than {MAX_NODES} nodes")
        self.sizes[id(value)] = (value, size)
        return value

    def size(self, obj):
        known = self.sizes.get(id(obj))
        return known[1] if known is not None and known[0] is obj else 1

    # -- atoms

    def make_Integer(self, node, _name, args, _kwargs):
        (p,) = _ints(node, "Integer", args, 1)
        return sympy.Integer(p)

    def make_Rational(self, node, _name, args, _kwargs):
        p, q = _ints(node, "Rational", args, 2)
        if q <= 0:
            _refuse(node, "Rational: the denominator must be positive")
        return sympy.Rational(p, q)

    def make_Float(self, node, _name, args, kwargs):
        if len(args) != 1 or not isinstance(args[0], str) or not _FLOAT_TEXT.fullmatch(args[0]):
            _refuse(node, "Float takes one decimal string")
        if set(kwargs) != {"precision"} or type(kwargs["precision"]) is not int:
            _refuse(node, "Float takes precision=<int>")
        if not 1 <= kwargs["precision"] <= _MAX_PRECISION or len(args[0]) > _MAX_DIGITS:
            _refuse(node, "Float: precision out of range")
        return sympy.Float(args[0], precision=kwargs["precision"])

    def make_Symbol(self, node, _name, args, kwargs):
        if len(args) != 1 or not isinstance(args[0], str) or not args[0]:
            _refuse(node, "Symbol takes one non-empty name")
        if not self.symbol_name(args[0]):
            _refuse(node, f"Symbol: the name {args[0]!r} is not allowed")
        for key, value in kwargs.items():
            if key not in _assume_defined or type(value) is not bool:
                _refuse(node, f"Symbol: {key}={value!r} is not an assumption")
        return sympy.Symbol(args[0], **kwargs)

    # -- compound

    def make_Add(self, node, name, args, _kwargs):
        cls = sympy.Add if name == "Add" else sympy.Mul
        if len(args) < 2:
            _refuse(node, f"{name} takes at least two terms")
        return cls(*_exprs(node, name, args), evaluate=False)

    make_Mul = make_Add

    def make_function(self, node, name, args, _kwargs):
        if name in _RELATIONALS:
            cls, arity = _RELATIONALS[name], 2
        else:
            cls, arity = _FUNCTIONS[name]
        if len(args) != arity:
            _refuse(node, f"{name} takes {arity} argument(s), got {len(args)}")
        return cls(*_exprs(node, name, args), evaluate=False)

    def make_ExprCondPair(self, node, _name, args, _kwargs):
        if len(args) != 2 or not isinstance(args[0], sympy.Expr) or not isinstance(args[1], sympy.Basic):
            _refuse(node, "ExprCondPair takes an expression and a condition")
        if not isinstance(args[1], (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)):
            _refuse(node, "ExprCondPair: the condition must be a relation or a Boolean")
        return ExprCondPair(*args)

    def make_Piecewise(self, node, _name, args, _kwargs):
        if not args or not all(isinstance(a, ExprCondPair) for a in args):
            _refuse(node, "Piecewise takes ExprCondPair arguments")
        return sympy.Piecewise(*args, evaluate=False)

    def make_And(self, node, name, args, _kwargs):
        cls = {"And": sympy.And, "Or": sympy.Or, "Not": sympy.Not}[name]
        if (name == "Not") != (len(args) == 1) or not args:
            _refuse(node, f"{name}: wrong number of arguments")
        if not all(isinstance(a, (sympy.logic.boolalg.Boolean, sympy.core.relational.Relational)) for a in args):
            _refuse(node, f"{name} takes relations or Booleans")
        return cls(*args, evaluate=False)

    make_Or = make_Not = make_And

    def make_ImmutableDenseMatrix(self, node, _name, args, _kwargs):
        if len(args) == 3:
            rows, cols, entries = args
            if type(rows) is not int or type(cols) is not int or entries != [] or rows < 0 or cols < 0 or rows * cols:
                _refuse(node, "ImmutableDenseMatrix(rows, cols, []) is for an empty matrix only")
            return sympy.ImmutableDenseMatrix(rows, cols, [])
        if len(args) != 1 or not isinstance(args[0], list):
            _refuse(node, "ImmutableDenseMatrix takes a list of rows")
        rows = args[0]
        if not rows:
            return sympy.ImmutableDenseMatrix([])
        if not all(isinstance(r, list) and len(r) == len(rows[0]) and r for r in rows):
            _refuse(node, "ImmutableDenseMatrix: rows must be non-empty lists of equal length")
        for r in rows:
            _exprs(node, "ImmutableDenseMatrix", r)
        return sympy.ImmutableDenseMatrix(rows)


def _ints(node, name, args, n):
    if len(args) != n or any(type(a) is not int for a in args):
        _refuse(node, f"{name} takes {n} integer(s)")
    if any(len(str(abs(a))) > _MAX_DIGITS for a in args):
        _refuse(node, f"{name}: more than {_MAX_DIGITS} digits")
    return args


def _exprs(node, name, args):
    for a in args:
        if not isinstance(a, sympy.Expr) or isinstance(a, sympy.MatrixBase):
            _refuse(node, f"{name}: argument {a!r} is not an expression")
    return args
