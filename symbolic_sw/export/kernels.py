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

import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import MpmathPrinter

from ..pauli import SIGMA

__all__ = ["kernel_functions", "describe", "pauli_coefficients", "polynomial_terms"]


def describe(name: str) -> str:
    """One-line docstring of a kernel, with the paper's equation."""
    kind, *key = name.split("_")
    if kind == "H":
        return "Effective Hamiltonian H_eff(k), Eq. (18)."
    if kind == "S":
        return f"Effective spin S_eff^{key[0]}, Eq. (22)."
    if kind == "T":
        return f"Effective spin torque T_eff^{key[0]} = (i/ħ)[H_eff, S_eff^{key[0]}], Eq. (21)."
    if kind == "J":
        return f"Effective spin current J_eff_{{{key[0]},{key[1]}}}, Eq. (20)."
    return (f"δJ_{{{key[0]},{key[1]}}} = J_eff_{{{key[0]},{key[1]}}} − ½{{(1/ħ)∂H_eff/∂k_{key[1]}, "
            f"σ_{key[0]}}}: the part beyond the standard definition, Eq. (27).")


def _distribute(expr):
    """Distribute pure-number factors (``I``, ½) over sums, and nothing else.

    Enough for the terms of ``Tr(σ_μ M)/2`` to cancel as like terms, while every
    denominator keeps its factored form (``expand`` would multiply them out).
    """
    if expr.is_Add:
        return sympy.Add(*[_distribute(t) for t in expr.args])
    if expr.is_Mul:
        numbers = [f for f in expr.args if f.is_number]
        others = [f for f in expr.args if not f.is_number]
        if len(others) == 1 and others[0].is_Add:
            c = sympy.Mul(*numbers)
            return sympy.Add(*[_distribute(c * t) for t in others[0].args])
    return expr


def pauli_coefficients(M):
    """``[c_0, c_x, c_y, c_z]`` of a 2×2 SymPy matrix, ``M = Σ c_μ σ_μ``."""
    M = sympy.Matrix(M)
    return [_distribute((SIGMA[mu] * M.applyfunc(_distribute)).trace() / 2) for mu in "0xyz"]


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


class _Printer:
    def __init__(self, kind):
        self.kind = kind
        self.printer = (_NumPy({"fully_qualified_modules": True}) if kind == "numpy"
                        else _Mpmath({"fully_qualified_modules": True}))

    def __call__(self, expr):
        return self.printer.doprint(expr)


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
        return {zero[:i] + (1,) + zero[i + 1:]: sympy.S.One}
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


def _body(M, parameters, momenta, kind):
    printer = _Printer(kind)
    M = sympy.Matrix(M)
    labels, exprs = _components(M)
    replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("cse"))
    lines = [f"{s} = {printer(e)}" for s, e in replacements]
    args = ", ".join(str(s) for s in (*momenta, *parameters))
    if kind == "numpy":
        lines.append(f"shape = numpy.broadcast({args}).shape")
    if M.shape == (2, 2):
        lines.append("return _pauli(")
        if kind == "numpy":
            lines.append("    shape,")
        lines += [f"    {lab}={printer(e)}," for lab, e in zip(labels, reduced)]
        lines.append(")")
    else:
        lines.append("return _entries(" + ("shape, " if kind == "numpy" else "") + f"{M.rows}, {{")
        lines += [f"    ({i}, {j}): {printer(e)}," for (i, j), e in zip(labels, reduced)]
        lines.append("})")
    return lines


def kernel_functions(derived, kind="numpy"):
    """``[{"name", "doc", "body", "terms", "coefficients"}]`` for the template, one per operator.

    ``body`` evaluates the closed form elementwise (the general path).  For the
    numpy kernels of an operator polynomial in the momenta, ``terms`` lists the
    ``(component, *powers)`` of its coefficients and ``coefficients`` is the body
    of the function computing them from scalar parameters; both are None
    otherwise (and always for mpmath).
    """
    params = [str(p) for p in derived.parameters]
    momenta = [str(k) for k in derived.momenta]
    functions = []
    for name, M in derived.operators.items():
        f = {"name": name, "doc": describe(name), "body": _body(M, params, momenta, kind),
             "terms": None, "coefficients": None}
        terms = polynomial_terms(M, derived.momenta) if kind == "numpy" else None
        if terms is not None:
            f["terms"] = [f"({_label_text(label)}, {', '.join(map(str, powers))})"
                          for label, powers, _ in terms]
            f["coefficients"] = _coefficient_body(terms, derived.momenta, _Printer(kind))
        functions.append(f)
    return functions
