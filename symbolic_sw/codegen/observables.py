"""Code generation of ``observables.py``: the equilibrium spin current J_s(μ, T) in closed form."""

from __future__ import annotations

import sympy
from sympy.printing.pycode import MpmathPrinter

from ..observables.closed_form import (
    T,
    band_curvature,
    equilibrium_spin_current,
    rashba_radial,
    spin_sectors,
    standard_spin_current_operator,
)

__all__ = ["observables_context"]

_k = sympy.Symbol("k")


class _Printer(MpmathPrinter):
    """SymPy's mpmath printer plus ``polylog`` (mpmath has it; the stock printer does not know)."""

    def _print_polylog(self, expr):
        return f"mpmath.polylog({self._print(expr.args[0])}, {self._print(expr.args[1])})"


def _print(expr):
    return _Printer({"fully_qualified_modules": True}).doprint(expr)


def _radial(H, J, momenta):
    """Radial data of every two-band sector (one, or two for a 4×4 model with a conserved τ_a)."""
    out = []
    for Hs, (Js,) in spin_sectors(H, [J]):
        c2, alpha2, beta2, x_bar, y_bar = rashba_radial(Hs, Js, momenta)
        poly = lambda d: sympy.Add(*[c * _k**n for n, c in sorted(d.items())])  # noqa: E731
        out.append(
            {
                "c": _print(c2),
                "alpha2": _print(alpha2),
                "beta2": _print(beta2),
                "x": _print(poly(x_bar)),
                "y": _print(poly(y_bar)),
            }
        )
    return out


def observables_context(H, J, *, momenta, hbar, couplings, order) -> dict:
    """Template data for ``observables.py`` (2×2, or 4×4 split by a conserved τ_a ⊗ σ_0).

    ``H`` and ``J`` (= J_x_y) are the effective operators, ``couplings`` the
    inter-block couplings (empty when nothing is eliminated) and ``order`` their order.
    """
    std = standard_spin_current_operator(H, "x", "y", hbar, momenta)
    std_radial = _radial(H, std, momenta)
    ctx = {
        "std_T0": _print(equilibrium_spin_current(H, std, momenta=momenta, T_=0, expand=False)),
        "std_radial": std_radial,
        # refused by J_s / J_s_standard when not > 0: ħ, m (a negative m bends the band down)
        "positive": sorted(str(s) for s in (H.free_symbols | J.free_symbols) if s.is_positive),
        # the band curvature of each evaluation: c ≤ 0 means an unbounded Fermi sea
        "std_curvature": [r["c"] for r in std_radial],
    }
    if couplings:

        def full(T_):
            return _print(equilibrium_spin_current(H, J, couplings=couplings, order=order, momenta=momenta, T_=T_))

        ctx.update(
            how_full=(
                f"is the effective spin current of Eq. (20) (with δJ), consistently expanded to order "
                f"{order} in the inter-orbital couplings: closed form at any T ≥ 0, the "
                f"Fermi-Dirac integrals written as polylogarithms."
            ),
            short_full=f"to order {order} in the couplings, closed form (polylogs at T > 0)",
            full_T0=full(0),
            full_T=full(T),
            full_radial=None,
            # the expansion is around the unperturbed band ε0(k) = c k², Eq. (49)
            full_curvature=[_print(band_curvature(H, couplings, momenta))],
        )
    else:
        full_radial = _radial(H, J, momenta)
        ctx.update(
            how_full=(
                "is the spin current of the bare model (nothing is eliminated), not expanded: closed "
                "form at T = 0, smeared by −∂f/∂ξ (1-D mpmath quadratures) at T > 0."
            ),
            short_full="exact: closed form at T = 0, smeared over −∂f/∂ξ at T > 0",
            full_T0=_print(equilibrium_spin_current(H, J, momenta=momenta, T_=0, expand=False)),
            full_T=None,
            full_radial=full_radial,
            full_curvature=[r["c"] for r in full_radial],
        )
    return ctx
