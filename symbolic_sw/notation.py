"""The paper's notation: LaTeX through SymPy's printer protocol.

:class:`PaperLatexPrinter` prints the model symbols as the paper writes them
(ħ, ε₁, ã, b̃, 𝓔_g, …).  :func:`operator_layout` decomposes an effective
operator into Pauli components (σ̂_μ, or τ̂_a ⊗ σ̂_μ for two orbitals), each a
sum of momentum-monomial terms, for the ``operators.tex`` template and for
Jupyter (``Effective._repr_latex_``).  A printing module, not code generation:
it sits beside :mod:`.operators` so that the transformation's results can
display themselves.
"""

from __future__ import annotations

from typing import ClassVar

import sympy
from sympy.printing.latex import LatexPrinter

from .operators import kind_of
from .pauli import SIGMA, kron
from .pauli import distribute_numbers as _distribute
from .symbols import E_g, epsilon_1, epsilon_2

__all__ = ["PaperLatexPrinter", "display_form", "latex", "operator_layout", "operator_symbol"]

TAU = {"0": sympy.eye(2), "1": SIGMA["x"], "2": SIGMA["y"], "3": SIGMA["z"]}


class PaperLatexPrinter(LatexPrinter):
    """``LatexPrinter`` with the paper's symbol names.

    It keeps SymPy's ``printmethod`` (``_latex``): the objects that print
    themselves (π, i, ∞, E, …) do so through it, so only symbol names change.
    """

    NAMES: ClassVar[dict[str, str]] = {
        "hbar": r"\hbar",
        "epsilon_1": r"\varepsilon_1",
        "epsilon_2": r"\varepsilon_2",
        "a_tilde": r"\tilde{a}",
        "b_tilde": r"\tilde{b}",
        "gamma_tilde": r"\tilde{\gamma}",
        "gamma_1": r"\gamma_1",
        "gamma_2": r"\gamma_2",
        "alpha_0": r"\alpha_0",
        "E_g": r"\mathcal{E}_g",
        "alpha_R": r"\alpha_{\mathrm{R}}",
    }

    def __init__(self, settings=None):
        super().__init__({"mul_symbol": None, **(settings or {})})

    def _print_Symbol(self, expr, style="plain"):
        name = self.NAMES.get(expr.name)
        return name if name is not None else super()._print_Symbol(expr, style)


def latex(expr, **settings) -> str:
    """LaTeX of a SymPy expression or matrix in the paper's notation."""
    return PaperLatexPrinter(settings).doprint(expr)


def operator_symbol(name: str) -> str:
    """``"J_x_y"`` → the LaTeX of 𝒥̂_{x,y} (the kind's symbol, :data:`~symbolic_sw.operators.KINDS`)."""
    kind, key = kind_of(name)
    return kind.latex_symbol(key)


def display_form(expr, gap=True):
    """``ε₂ → ε₁ + 𝓔_g`` for display, so gap factors read ``(𝓔_g − b)`` as in the paper."""
    if gap and {epsilon_1, epsilon_2} <= expr.free_symbols:
        return expr.subs(epsilon_2, epsilon_1 + E_g)
    return expr


def _components(M):
    """``[(basis LaTeX, coefficient)]`` of a spin operator in the σ̂ (or τ̂⊗σ̂) basis."""
    n = M.rows
    out = []
    M = M.applyfunc(_distribute)
    if n == 2:
        for mu in "0xyz":
            c = _distribute((SIGMA[mu] * M).trace() / 2)
            out.append((rf"\hat{{\sigma}}_{mu}", c))
    elif n == 4:
        for a in "0123":
            for mu in "0xyz":
                c = _distribute((kron(TAU[a], SIGMA[mu]) * M).trace() / 4)
                out.append((rf"\hat{{\tau}}_{a}\otimes\hat{{\sigma}}_{mu}", c))
    else:
        for i in range(n):
            for j in range(n):
                out.append((rf"\hat{{E}}_{{{i + 1}{j + 1}}}", M[i, j]))
    return out


def _terms(coefficient):
    """Summands of a coefficient, each ``(sign, LaTeX of its magnitude)``."""
    printer = PaperLatexPrinter()
    out = []
    for term in sympy.Add.make_args(coefficient):
        if term.could_extract_minus_sign():
            out.append(("-", printer.doprint(-term)))
        else:
            out.append(("+", printer.doprint(term)))
    return out


def operator_layout(M, width=140):
    """Rows of an ``align`` for ``Σ_μ c_μ(k) σ̂_μ``: one bracket per component, broken by width.

    Returns a list of rows; each row is a list of ``(kind, text)`` tokens the
    template writes out: ``"open"``/``"close"`` brackets, ``"sign"``, ``"term"``,
    ``"basis"``.  Lines are broken between summands when they exceed ``width``
    characters of LaTeX source.
    """
    rows = []
    first = True
    for basis, c in _components(sympy.Matrix(M)):
        if c == 0:
            continue
        terms = _terms(display_form(c))
        row = []
        if len(terms) == 1:
            sign, text = terms[0]
            row += [("sign", sign if (sign == "-" or not first) else ""), ("term", text), ("basis", basis)]
            rows.append(row)
        else:
            row += [("sign", "" if first else "+"), ("open", r"\biggl[")]
            length = 0
            for k, (sign, text) in enumerate(terms):
                if length > width:
                    rows.append(row)
                    row, length = [("indent", r"\quad")], 0
                row += [("sign", "" if (k == 0 and sign == "+") else sign), ("term", text)]
                length += len(text) + 3
            row += [("close", r"\biggr]"), ("basis", basis)]
            rows.append(row)
        first = False
    return rows or [[("term", "0")]]
