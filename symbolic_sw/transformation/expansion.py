"""Expansion of exact-in-b closed forms to leading order in b/E_g (Sec. V, Eqs. 37-48).

The paper's Sec. V formulas are the Appendix-F operators expanded in b/E_g.
ERRATA item 4: they are accurate to O(b²/E_g²) only when written in terms of the
renormalised coupling b̃' = b̃(1 + b/E_g); :func:`leading_order` therefore
substitutes ``b̃ = b̃'/(1 + b/E_g)`` (and ε2 = ε1 + E_g) before expanding, and in
its result the symbol ``b_tilde`` stands for b̃'.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import sympy

from ..errors import ModelError
from ..pauli import SIGMA
from ..symbols import MOMENTA

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
    """Taylor polynomial of ``expr`` in ``small`` through ``small**order``.

    Raises
    ------
    ModelError
        If ``expr`` or a derivative is singular at ``small = 0`` (no Taylor series there).
    """
    out, d = [], expr
    for p in range(order + 1):
        c = sympy.cancel(d.subs(small, 0))
        if c.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):  # 0/0 may be removable: ask for the limit
            c = sympy.cancel(sympy.limit(d, small, 0))
        if c.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or isinstance(c, sympy.Limit):
            raise ModelError(
                f"cannot expand in {small}: the expression is singular at {small} = 0 (its "
                f"{'value' if p == 0 else f'derivative of order {p}'} there is {c}). Fix: expand in a "
                f"parameter the expression is analytic in, or substitute first (substitutions=...)."
            )
        out.append(c * small**p / sympy.factorial(p))
        d = sympy.diff(d, small)
    return sympy.Add(*out)


def collect_momenta(expr, momenta):
    """``expr`` as Σ (factored coefficient) × (momentum monomial).

    Without momenta the whole expression is one factored coefficient (a
    ``Poly`` with no generators would take every symbol as one and drop the
    symbolic factors).
    """
    expr = sympy.cancel(sympy.together(expr))
    if expr == 0:
        return sympy.Integer(0)
    momenta = tuple(momenta)
    if not momenta:
        return sympy.factor(expr)
    num, den = sympy.fraction(expr)
    poly = sympy.Poly(sympy.expand(num), *momenta)
    return sympy.Add(
        *[sympy.factor(c / den) * sympy.Mul(*[k**e for k, e in zip(momenta, mono)]) for mono, c in poly.terms()]
    )


def _symbol(key, free, what):
    """A SymPy symbol, or the free symbol of the expression that a string names (never parsed)."""
    if isinstance(key, sympy.Symbol):
        return key
    if isinstance(key, str):
        match = [s for s in free if str(s) == key]
        if not match:
            raise ModelError(
                f"{what} {key!r} names no symbol of the expression; its symbols are "
                f"{', '.join(sorted(map(str, free)))}. Fix: pass a SymPy symbol or one of these names."
            )
        return match[0]
    raise ModelError(f"{what} must be a SymPy symbol (or its name), got {key!r} ({type(key).__name__}).")


def _substitutions(substitutions, free):
    """``{symbol: expression}`` with keys resolved by name; values must be SymPy expressions or numbers."""
    if substitutions is None:
        return {}
    if not isinstance(substitutions, Mapping):
        raise ModelError(f"substitutions must be a mapping {{symbol: expression}}, got {type(substitutions).__name__}.")
    out = {}
    for key, value in substitutions.items():
        symbol = _symbol(key, free, "substitution key")
        if isinstance(value, bool) or not isinstance(value, (sympy.Basic, numbers.Number)):
            # a string would go through sympify, i.e. be evaluated as code
            raise ModelError(
                f"substitution for {symbol} must be a SymPy expression or a number, got {value!r} "
                f"({type(value).__name__}); strings are never evaluated. Fix: build it from "
                f"symbolic_sw.symbols, e.g. {{epsilon_2: epsilon_1 + E_g}}."
            )
        out[symbol] = sympy.sympify(value)  # a SymPy object or a number: no parsing
    return out


def leading_order(M, small, substitutions=None, order=1, momenta=None):
    """Expand a (2×2 spin) matrix to ``order`` in ``small`` after ``substitutions`` (Sec. V, Eqs. 37-48).

    Every term is kept: the result is the Taylor polynomial of each entry (of
    each Pauli component for a 2×2 matrix), written as factored coefficients
    times momentum monomials.

    Parameters
    ----------
    M : sympy.Matrix
        Typically an exact-in-b effective operator from :func:`effective`.
    small : sympy.Symbol or str
        The expansion parameter (``b``); a string names a symbol of ``M``.
    substitutions : dict, optional
        Applied first, e.g. ``{epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde/(1 + b/E_g)}``:
        keys are symbols (or their names), values SymPy expressions or numbers.
    order : int
        Highest power of ``small`` kept (1 = the paper's "leading order").
    momenta : sequence of sympy.Symbol, optional
        Collect the coefficients of these monomials.  Default: the momenta
        ``k_x, k_y, k_z`` (:data:`symbolic_sw.symbols.MOMENTA`, matched by name)
        present in ``M``.

    Raises
    ------
    ModelError
        Bad arguments, or an entry singular at ``small = 0``.
    """
    try:
        M = sympy.Matrix(M)
    except (TypeError, ValueError, sympy.SympifyError) as exc:
        raise ModelError(f"leading_order() takes a SymPy matrix, got {type(M).__name__}.") from exc
    if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 0:
        raise ModelError(f"order must be an integer ≥ 0 (the highest power of small kept), got {order!r}.")
    free = M.free_symbols
    M = M.subs(_substitutions(substitutions, free), simultaneous=True)
    small = _symbol(small, free | M.free_symbols, "small")
    if momenta is None:
        names = {str(k) for k in MOMENTA}
        momenta = tuple(sorted((s for s in M.free_symbols if str(s) in names), key=str))
    else:
        momenta = tuple(momenta)
        if not all(isinstance(k, sympy.Symbol) for k in momenta):
            raise ModelError(f"momenta must be SymPy symbols, got {momenta!r}.")
    if M.shape == (2, 2):
        out = sympy.zeros(2)
        for mu in "0xyz":
            c = taylor(sympy.together((SIGMA[mu] * M).trace() / 2), small, order)
            out += collect_momenta(c, momenta) * SIGMA[mu]
        return out
    return M.applyfunc(lambda e: collect_momenta(taylor(e, small, order), momenta))
