"""Code generation: closed-form effective operators → numpy / mpmath kernel source.

Each operator becomes one function; its Pauli coefficients (or matrix entries)
go through one common-subexpression elimination and SymPy's ``NumPyPrinter`` /
``MpmathPrinter``.  The module skeleton lives in ``templates/kernels*.py.j2``.
"""

from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import MpmathPrinter

from ..pauli import SIGMA

__all__ = ["kernel_functions", "describe", "pauli_coefficients"]


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


def _body(M, parameters, momenta, kind):
    printer = _Printer(kind)
    M = sympy.Matrix(M)
    if M.shape == (2, 2):
        labels = ["c_0", "c_x", "c_y", "c_z"]
        exprs = pauli_coefficients(M)
    else:
        labels, exprs = [], []
        for i in range(M.rows):
            for j in range(M.cols):
                if M[i, j] != 0:
                    labels.append((i, j))
                    exprs.append(M[i, j])
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
    """``[{"name", "doc", "body"}]`` for the template, one per effective operator."""
    params = [str(p) for p in derived.parameters]
    return [{"name": name, "doc": describe(name),
             "body": _body(M, params, [str(k) for k in derived.momenta], kind)}
            for name, M in derived.operators.items()]
