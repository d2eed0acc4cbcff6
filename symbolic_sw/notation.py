"""The paper's notation: LaTeX through SymPy's printer protocol.

:class:`PaperLatexPrinter` prints the model symbols as the paper writes them
(ħ, ε₁, ã, b̃, 𝓔_g, …).  :func:`operator_layout` decomposes an effective
operator into Pauli components (σ̂_μ, or τ̂_a ⊗ σ̂_μ for two orbitals), each a
sum of momentum-monomial terms, for the ``operators.tex`` template and for
Jupyter (``Effective._repr_latex_`` and :class:`PaperMatrix`, the SymPy matrix
subclass that ``eff.H``, ``eff.J[...]``, … are).  Long sums are broken into rows
by their printed width, estimated from the expression tree, so that every
shipped ``operators.tex`` fits an article's text width (issue 15).  A printing
module, not code generation: it sits beside :mod:`.operators` so that the
transformation's results can display themselves.
"""

from __future__ import annotations

from typing import ClassVar

import sympy
from sympy.printing.latex import LatexPrinter

from .operators import kind_of
from .pauli import SIGMA, kron
from .pauli import distribute_numbers as _distribute
from .symbols import E_g, epsilon_1, epsilon_2

__all__ = [
    "PaperLatexPrinter",
    "PaperMatrix",
    "display_form",
    "latex",
    "operator_layout",
    "operator_symbol",
    "paper_matrix",
]

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


# Widths in points of 10 pt Computer Modern math, estimated from the expression tree (not from
# LaTeX text): enough to break rows before they overflow an article's 345 pt \textwidth.
_GLYPH, _SCRIPT, _BINARY, _PARENS = 6.0, 0.7, 12.0, 9.0
#: row width (pt) left of the operator symbol, the brackets, the basis and the equation number
LINE_WIDTH = 270.0


def _symbol_width(name: str) -> float:
    if name == "E_g":  # \mathcal{E}_g
        return 11.5
    _, _, sub = name.partition("_")
    return _GLYPH + (_SCRIPT * _GLYPH * len(sub) if sub and sub != "tilde" else 0)


def _width(expr) -> float:
    """Estimated printed width (pt) of a SymPy expression in display style."""
    if expr.is_Symbol:
        return _symbol_width(expr.name)
    if expr.is_Integer or expr.is_Float:
        return 5.0 * len(str(abs(expr)))
    if expr.is_Rational:
        return 5.0 * max(len(str(abs(expr.p))), len(str(expr.q))) + 3
    if expr.is_Add:
        terms = expr.args
        return sum(_width(-t if t.could_extract_minus_sign() else t) for t in terms) + _BINARY * (len(terms) - 1)
    if expr.is_Pow and expr.exp.is_Rational and expr.exp < 0:
        return _width(1 / expr) + 3
    if expr.is_Pow:
        base = _width(expr.base) + (_PARENS if expr.base.is_Add or expr.base.is_Mul else 0)
        return base + _SCRIPT * _width(expr.exp)
    if expr.is_Mul:
        numerator, denominator = sympy.fraction(expr)
        if denominator != 1:
            return max(_width(numerator), _width(denominator)) + 3
        factors = sympy.Mul.make_args(expr)
        sign = _BINARY if expr.could_extract_minus_sign() else 0
        return sign + sum(_width(abs(f) if f.is_Number else f) + (_PARENS if f.is_Add else 0) for f in factors)
    if expr.is_Function or isinstance(expr, sympy.Function):
        return 15.0 + sum(_width(a) for a in expr.args) + _PARENS
    return 3.0 * len(str(expr))  # rare atoms: a rough guess


def _split(term):
    """``(prefactor, sum)`` of a product whose numerator holds a sum (the widest), or ``None``."""
    numerator, _ = sympy.fraction(term)
    sums = [f for f in sympy.Mul.make_args(numerator) if f.is_Add]
    if not sums:
        return None
    widest = max(sums, key=_width)
    return term / widest, widest


def _over_monomials(expr):
    """Summands over a monomial denominator written term by term, as the paper does.

    ``(𝓔_g²ε1 - 2𝓔_g b̃² + 2b b̃²)/𝓔_g²`` → ``ε1 - 2b̃²/𝓔_g + 2b b̃²/𝓔_g²`` (the leading-order
    forms of Sec. V); a denominator with a sum (a gap factor ``𝓔_g - b``) is left alone.
    """
    out = []
    for term in sympy.Add.make_args(expr):
        numerator, denominator = sympy.fraction(term)
        if denominator != 1 and not denominator.has(sympy.Add) and numerator.has(sympy.Add):
            out.extend(t / denominator for t in sympy.Add.make_args(sympy.expand(numerator)))
        else:
            out.append(term)
    return sympy.Add(*out)


def _pieces(expr, printer, width):
    r"""Chunks ``(sign, LaTeX, estimated width)`` of a sum, between which a row may break.

    A summand wider than ``width`` whose numerator holds a sum is written as its
    prefactor times ``\bigl( … \bigr)`` around that sum's own chunks, so that even
    one large term of a high order (the order-4 spin currents) is broken over rows.
    """
    out = []
    for term in sympy.Add.make_args(expr):
        sign, magnitude = ("-", -term) if term.could_extract_minus_sign() else ("+", term)
        w = _width(magnitude)
        split = _split(magnitude) if w > width else None
        if split is None:
            out.append((sign, printer.doprint(magnitude), w))
            continue
        prefactor, inner = split
        chunks = _pieces(inner, printer, width)
        lead = "" if prefactor == 1 else printer.doprint(prefactor)
        first_sign, first_text, first_width = chunks[0]
        first = rf"{lead} \bigl( {'- ' if first_sign == '-' else ''}{first_text}"
        chunks[0] = (sign, first, first_width + (_width(prefactor) if lead else 0) + 6)
        last_sign, last_text, last_width = chunks[-1]
        chunks[-1] = (last_sign, rf"{last_text} \bigr)", last_width + 5)
        out.extend(chunks)
    return out


def operator_layout(M, width=LINE_WIDTH):
    """Rows of an ``align`` for ``Σ_μ c_μ(k) σ̂_μ``: one bracket per component, broken by width.

    Returns a list of rows; each row is a list of ``(kind, text)`` tokens the
    template writes out: ``"open"``/``"close"`` brackets, ``"sign"``, ``"term"``,
    ``"basis"``, ``"indent"``.  Rows are broken between summands (and inside a
    summand too wide on its own, :func:`_pieces`) when their estimated printed
    width would exceed ``width`` points.
    """
    printer = PaperLatexPrinter()
    rows = []
    first = True
    for basis, c in _components(sympy.Matrix(M)):
        if c == 0:
            continue
        pieces = _pieces(_over_monomials(display_form(c)), printer, width)
        row = []
        if len(pieces) == 1:
            sign, text, _ = pieces[0]
            row += [("sign", sign if (sign == "-" or not first) else ""), ("term", text), ("basis", basis)]
            rows.append(row)
        else:
            row += [("sign", "" if first else "+"), ("open", r"\biggl[")]
            length = 0.0
            for k, (sign, text, w) in enumerate(pieces):
                if length and length + w + _BINARY > width:
                    rows.append(row)
                    row, length = [("indent", r"\quad")], 0.0
                row += [("sign", "" if (k == 0 and sign == "+") else sign), ("term", text)]
                length += w + _BINARY
            row += [("close", r"\biggr]"), ("basis", basis)]
            rows.append(row)
        first = False
    return rows or [[("term", "0")]]


class PaperMatrix(sympy.MutableDenseMatrix):
    """A SymPy matrix that Jupyter shows in the paper's notation.

    It is an ordinary ``sympy.Matrix`` for computation (arithmetic, ``==``,
    ``subs``, indexing, ``simplify`` and pickling are SymPy's; arithmetic returns
    a ``PaperMatrix`` again), with a ``_repr_latex_`` that writes the operator as
    a sum over σ̂_μ (or τ̂_a ⊗ σ̂_μ) with ã, b̃, 𝓔_g, … (:func:`operator_layout`).
    """

    #: kernel name of the effective operator (``"H"``, ``"J_x_y"``, …); ``None`` for a derived matrix
    operator_name = None

    def _repr_latex_(self):
        r"""``$\displaystyle …$``: the Pauli decomposition, or the plain matrix if not square."""
        lhs = operator_symbol(self.operator_name) + " ={}& " if self.operator_name else "& "
        if self.rows != self.cols or self.rows == 0:
            return rf"$\displaystyle {latex(display_form(sympy.Matrix(self)))}$"
        body = r" \\ &".join(" ".join(text for _, text in row if text) for row in operator_layout(self))
        return rf"$\displaystyle \begin{{aligned}}{lhs}{body}\end{{aligned}}$"


def paper_matrix(M, name=None) -> PaperMatrix:
    """``M`` as a :class:`PaperMatrix` displayed as the operator ``name`` (a kernel name, e.g. ``"J_x_y"``)."""
    out = PaperMatrix(M)
    if name is not None:
        out.operator_name = name
    return out
