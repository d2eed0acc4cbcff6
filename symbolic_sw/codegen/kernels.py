"""Code generation: closed-form effective operators → numpy / mpmath kernel source.

Each operator becomes one function; its Pauli coefficients (or matrix entries)
go through one common-subexpression elimination and SymPy's ``NumPyPrinter`` /
``MpmathPrinter``.  The module skeleton lives in ``templates/kernels*.py.j2``.

For the numpy kernels an operator that is a polynomial in the momenta (every
shipped one: the denominators are k-free gap factors) also gets its coefficient
table: the coefficient of each Pauli component (or entry) and monomial
``k_x**a k_y**b`` (any number of momenta) as a function of the parameters
alone.  The generated module evaluates that table once per call and the
monomials once per block of points (the fast path, see
``templates/kernels.py.j2``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import MpmathPrinter

from ..operators import kind_of
from ..pauli import pauli_coefficients
from .names import check_identifiers

__all__ = [
    "BACKENDS",
    "Backend",
    "check_names",
    "describe",
    "kernel_functions",
    "pauli_coefficients",
    "polynomial_terms",
    "runtime_source",
]


def describe(name: str) -> str:
    """One-line docstring of a kernel, with the paper's equation (from the operator kind)."""
    kind, key = kind_of(name)
    return kind.describe(key)


class _ReciprocalMixin:
    """Print ``x**(-n)`` as ``1/x**n`` (the stock numpy printer writes ``x**(-1.0)``)."""

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, PRECEDENCE['Pow'])}"
        if expr.exp.is_Integer and expr.exp < 0:
            return f"1/{self.parenthesize(sympy.Pow(expr.base, -expr.exp), PRECEDENCE['Mul'])}"
        return super()._print_Pow(expr, rational=rational)


class _NumPy(_ReciprocalMixin, NumPyPrinter):
    pass


class _Mpmath(_ReciprocalMixin, MpmathPrinter):
    pass


def _components(M):
    """``(labels, exprs)``: Pauli coefficients of a 2×2 matrix, else its nonzero entries."""
    M = sympy.Matrix(M)
    if M.shape == (2, 2):
        return ["c_0", "c_x", "c_y", "c_z"], pauli_coefficients(M)
    labels, exprs = [], []
    for i in range(M.rows):
        for j in range(M.cols):
            if M[i, j] != 0:
                labels.append((i, j))
                exprs.append(M[i, j])
    return labels, exprs


def _monomials(expr, momenta):
    """``{powers: coefficient}`` with ``expr = Σ coefficient · Π k_i**powers[i]``, or None.

    The coefficients are free of the momenta and keep their factored form (no
    ``expand``: the gap-factor denominators stay as they are).  None when
    ``expr`` is not a polynomial in the momenta (a momentum in a denominator or
    inside a function).
    """
    zero = (0,) * len(momenta)
    if not expr.has(*momenta):
        return {zero: expr}
    if expr in momenta:
        i = momenta.index(expr)
        return {(*zero[:i], 1, *zero[i + 1 :]): sympy.S.One}
    if expr.is_Add:
        parts = {}
        for arg in expr.args:
            terms = _monomials(arg, momenta)
            if terms is None:
                return None
            for mono, c in terms.items():
                parts.setdefault(mono, []).append(c)
        return {mono: sympy.Add(*cs) for mono, cs in parts.items()}
    if expr.is_Mul:
        free = sympy.Mul(*[f for f in expr.args if not f.has(*momenta)])
        result = {zero: free}
        for factor in (f for f in expr.args if f.has(*momenta)):
            terms = _monomials(factor, momenta)
            if terms is None:
                return None
            result = _product(result, terms)
        return result
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        base = _monomials(expr.base, momenta)
        if base is None:
            return None
        result = {zero: sympy.S.One}
        for _ in range(int(expr.exp)):
            result = _product(result, base)
        return result
    return None


def _product(p, q):
    """Product of two ``{powers: coefficient}`` polynomials."""
    parts = {}
    for m1, c1 in p.items():
        for m2, c2 in q.items():
            parts.setdefault(tuple(a + b for a, b in zip(m1, m2)), []).append(c1 * c2)
    return {mono: sympy.Add(*cs) for mono, cs in parts.items()}


def polynomial_terms(M, momenta):
    """``[(component, powers, coefficient)]`` of ``M`` as a polynomial in the momenta, or None.

    ``component`` is ``"c_0"`` … ``"c_z"`` for a 2×2 matrix (Pauli decomposition)
    and the entry ``(i, j)`` otherwise; ``coefficient`` multiplies
    ``Π momenta[i]**powers[i]`` and depends on the parameters only.  Terms come
    in a fixed order (component, then total degree, then descending powers of
    the momenta in their order); zero coefficients are dropped.  None when some
    component is not a polynomial in the momenta.
    """
    momenta = tuple(momenta)
    terms = []
    for label, expr in zip(*_components(M)):
        monomials = _monomials(sympy.sympify(expr), momenta)
        if monomials is None:
            return None
        for powers in sorted(monomials, key=lambda mono: (sum(mono), tuple(-e for e in mono))):
            if monomials[powers] != 0:
                terms.append((label, powers, monomials[powers]))
    return terms


def _label_text(label):
    """A component as a Python literal: ``"c_x"`` or ``(i, j)``."""
    return f'"{label}"' if isinstance(label, str) else f"({label[0]}, {label[1]})"


def _monomial_text(powers, momenta):
    factors = [f"{k}**{n}" if n > 1 else str(k) for k, n in zip(momenta, powers) if n]
    return "*".join(factors) or "1"


def _coefficient_body(terms, momenta, printer):
    """Lines of the scalar coefficient function: cse, then the tuple of coefficients."""
    replacements, reduced = sympy.cse([c for *_, c in terms], symbols=sympy.numbered_symbols("cse"))
    lines = [f"{s} = {printer(e)}" for s, e in replacements]
    lines.append("return (")
    for (label, powers, _), e in zip(terms, reduced):
        lines.append(f"    # {label}: {_monomial_text(powers, momenta)}")
        lines.append(f"    {printer(e)},")
    lines.append(")")
    return lines


#: the most arguments ``numpy.broadcast`` takes (32 before numpy 2, 64 since)
_BROADCAST_MAX = 32


def _body(M, parameters, momenta, backend):
    printer = backend.printer
    M = sympy.Matrix(M)
    labels, exprs = _components(M)
    replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("cse"))
    lines = [f"{s} = {printer(e)}" for s, e in replacements]
    args = [str(s) for s in (*momenta, *parameters)]
    if backend.grid and len(args) <= _BROADCAST_MAX:
        lines.append(f"shape = numpy.broadcast({', '.join(args)}).shape")
    elif backend.grid:  # more arguments than numpy.broadcast takes
        lines.append(f"shape = numpy.broadcast_shapes({', '.join(f'numpy.shape({a})' for a in args)})")
    if M.shape == (2, 2):
        lines.append("return _pauli(")
        if backend.grid:
            lines.append("    shape,")
        lines += [f"    {lab}={printer(e)}," for lab, e in zip(labels, reduced)]
        lines.append(")")
    else:
        lines.append("return _entries(" + ("shape, " if backend.grid else "") + f"{M.rows}, {{")
        lines += [f"    ({i}, {j}): {printer(e)}," for (i, j), e in zip(labels, reduced)]
        lines.append("})")
    return lines


# -- kernel backends, described once -------------------------------------------------

_MARKER = "# ---- inlined into every generated kernel module from here on"


def runtime_source(module: str) -> str:
    """The code of a runtime module (``"runtime_numpy"``) below its marker line, for inlining.

    The runtime is a real module of this package (linted, unit-tested); a
    generated file carries a verbatim copy so that it stays standalone.
    """
    text = resources.files(__package__).joinpath(f"{module}.py").read_text(encoding="utf-8")
    _head, marker, body = text.partition(_MARKER)
    if not marker:
        raise RuntimeError(f"{module}.py has no inlining marker")  # a packaging defect, not user input
    return body.partition("\n")[2].strip("\n")


@dataclass(frozen=True)
class Backend:
    """A kernel backend: how closed forms are printed and which module skeleton holds them.

    Parameters
    ----------
    name : str
        ``load_kernels(..., kind=name)``.
    filename : str
        The generated file in ``generated/<name>/``.
    template : str
        Its jinja2 template in ``codegen/templates``.
    printer : callable
        ``expr -> source text`` (a SymPy code printer).
    runtime : tuple of str
        Runtime modules of this package inlined, in order, into every file.
    grid : bool
        Vectorised over arrays of points (kernels get the broadcast ``shape``).
    fast_path : bool
        Emit coefficient tables for operators polynomial in the momenta.
    """

    name: str
    filename: str
    template: str
    printer: Callable
    runtime: tuple
    grid: bool
    fast_path: bool

    def source(self) -> str:
        """The runtime inlined into every generated file of this backend: its modules' code, in order."""
        return "\n\n\n".join(runtime_source(m) for m in self.runtime)


def _printer(cls):
    return cls({"fully_qualified_modules": True}).doprint


#: the backends every derivation generates, in file order; adding one (JAX, numba) is one entry
BACKENDS = {
    "numpy": Backend(
        "numpy",
        "kernels.py",
        "kernels.py.j2",
        _printer(_NumPy),
        ("runtime_common", "runtime_numpy"),
        grid=True,
        fast_path=True,
    ),
    "mpmath": Backend(
        "mpmath",
        "kernels_mpmath.py",
        "kernels_mpmath.py.j2",
        _printer(_Mpmath),
        ("runtime_common", "runtime_mpmath"),
        grid=False,
        fast_path=False,
    ),
}


def check_names(parameters, momenta, operators, *, observables=False) -> None:
    """Refuse parameter, momentum and operator names that cannot be identifiers of the generated code.

    Call before rendering (``observables``: the spec also generates
    ``observables.py``).  A name that is not a plain Python identifier, or
    clashes with one the generated modules use themselves (``numpy``,
    ``evaluate``, ``out``, ``shape``, ``cse0``, a built-in, the runtime's names
    …), raises :class:`~symbolic_sw.errors.ModelError` naming it and the fix;
    :func:`kernel_functions` checks the same (without ``observables``).
    """
    check_identifiers(parameters, momenta, operators, backends=BACKENDS.values(), observables=observables)


def kernel_functions(operators, parameters, momenta, backend="numpy"):
    """``[{"name", "doc", "body", "terms", "coefficients"}]`` for the template, one per operator.

    ``operators`` maps kernel names to closed forms.  ``body`` evaluates the
    closed form elementwise (the general path).  For a backend with a fast path
    and an operator polynomial in the momenta, ``terms`` lists the ``(component,
    *powers)`` of its coefficients and ``coefficients`` is the body of the
    function computing them from scalar parameters; both are None otherwise.
    A name that cannot be an identifier of the generated code raises
    :class:`~symbolic_sw.errors.ModelError` (:func:`check_names`).
    """
    backend = BACKENDS[backend] if isinstance(backend, str) else backend
    check_names(parameters, momenta, operators)
    params = [str(p) for p in parameters]
    names = [str(k) for k in momenta]
    functions = []
    for name, M in operators.items():
        f = {
            "name": name,
            "doc": describe(name),
            "body": _body(M, params, names, backend),
            "terms": None,
            "coefficients": None,
        }
        terms = polynomial_terms(M, tuple(momenta)) if backend.fast_path else None
        if terms is not None:
            f["terms"] = [f"({_label_text(label)}, {', '.join(map(str, powers))})" for label, powers, _ in terms]
            f["coefficients"] = _coefficient_body(terms, tuple(momenta), backend.printer)
        functions.append(f)
    return functions
