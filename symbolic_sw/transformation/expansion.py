"""Expansion of exact-in-b closed forms to leading order in b/E_g (Sec. V, Eqs. 37-48).

The paper's Sec. V formulas are the Appendix-F operators expanded in b/E_g.
ERRATA item 4: they are accurate to O(b²/E_g²) only when written in terms of the
renormalised coupling b̃' = b̃(1 + b/E_g); :func:`leading_order` therefore
substitutes ``b̃ = b̃'/(1 + b/E_g)`` (and ε2 = ε1 + E_g) before expanding, and in
its result the symbol ``b_tilde`` stands for b̃'.
"""

from __future__ import annotations

import sympy

from ..errors import ModelError
from ..pauli import SIGMA

__all__ = ["collect_momenta", "coupling_symbols", "leading_order", "taylor"]


def coupling_symbols(model):
    """Symbols of the inter-block couplings that appear nowhere inside a block.

    The parameters an expansion "in the couplings" scales (``truncate`` of a
    derivation's ``PERTURBATIVE``, the consistently expanded spin current); each
    inter-block entry must be linear and homogeneous in them.
    """
    inter, intra = set(), set()
    for i in range(model.dim):
        for j in range(model.dim):
            target = inter if model.block_of[i] != model.block_of[j] else intra
            target |= model.H[i, j].free_symbols
    couplings = inter - intra - set(model.momenta)
    for i in range(model.dim):
        for j in range(model.dim):
            e = sympy.expand(model.H[i, j])
            if model.block_of[i] == model.block_of[j] or e == 0:
                continue
            poly = sympy.Poly(e, *sorted(couplings, key=str))
            if not (poly.is_homogeneous and poly.total_degree() == 1):
                raise ModelError(
                    f"PERTURBATIVE needs couplings linear in their own parameters; entry "
                    f"[{i},{j}] = {e} is not. Fix: drop PERTURBATIVE or rewrite the couplings."
                )
    return tuple(sorted(couplings, key=str))


def taylor(expr, small, order=1):
    """Taylor polynomial of ``expr`` in ``small`` through ``small**order``."""
    out, d = [], expr
    for p in range(order + 1):
        out.append(sympy.cancel(d.subs(small, 0)) * small**p / sympy.factorial(p))
        d = sympy.diff(d, small)
    return sympy.Add(*out)


def collect_momenta(expr, momenta):
    """``expr`` as Σ (factored coefficient) × (momentum monomial)."""
    expr = sympy.cancel(sympy.together(expr))
    if expr == 0:
        return sympy.Integer(0)
    num, den = sympy.fraction(expr)
    poly = sympy.Poly(sympy.expand(num), *momenta)
    return sympy.Add(
        *[sympy.factor(c / den) * sympy.Mul(*[k**e for k, e in zip(momenta, mono)]) for mono, c in poly.terms()]
    )


def leading_order(M, small, substitutions=None, order=1, momenta=()):
    """Expand a (2×2 spin) matrix to ``order`` in ``small`` after ``substitutions``.

    Parameters
    ----------
    M : sympy.Matrix
        Typically an exact-in-b effective operator from :func:`effective`.
    small : sympy.Symbol
        The expansion parameter (``b``).
    substitutions : dict, optional
        Applied first, e.g. ``{epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde/(1 + b/E_g)}``.
    order : int
        Highest power of ``small`` kept (1 = the paper's "leading order").
    """
    M = sympy.Matrix(M).subs(substitutions or {}, simultaneous=True)
    if M.shape == (2, 2):
        out = sympy.zeros(2)
        for mu in "0xyz":
            c = taylor(sympy.together((SIGMA[mu] * M).trace() / 2), small, order)
            out += collect_momenta(c, momenta) * SIGMA[mu]
        return out
    return M.applyfunc(lambda e: collect_momenta(taylor(e, small, order), momenta))
