"""Code generation of ``observables.py``: the equilibrium spin current J_s(μ, T) in closed form."""

from __future__ import annotations

import sympy
from sympy.printing.pycode import MpmathPrinter

from ..errors import ModelError
from ..observables.closed_form import (
    T,
    band_curvature,
    equilibrium_spin_current,
    rashba_radial,
    spin_sectors,
    standard_spin_current_operator,
)

__all__ = ["observables_context", "observables_unavailable"]

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


#: primes for the probe point of :func:`observables_unavailable` (fixed: generated files are deterministic)
_PRIMES = (101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197)


def _probe_point(symbols):
    """A fixed generic rational value for each parameter, positive (so ħ, m > 0 hold) and distinct."""
    ordered = sorted(symbols, key=str)
    return {s: sympy.Rational(_PRIMES[i % len(_PRIMES)] + i // len(_PRIMES), 97 + 2 * i) for i, s in enumerate(ordered)}


def _k_degree(M, momenta):
    """The highest total degree in the momenta of a matrix that is polynomial in them."""
    return max((sympy.Poly(e, *momenta).total_degree() for e in M if e != 0), default=0)


def _first_clause(exc):
    """A closed form's refusal without the (possibly huge) expression it quotes."""
    return " ".join(str(exc).split(", got")[0].split()).rstrip(".")


def observables_unavailable(H, J, *, momenta, hbar, couplings):
    """Why ``observables.py`` cannot be generated for these operators, or ``None`` if it can.

    The closed forms of Eqs. (49)-(52) need a band ``ε(k) − ε(0) = c k²`` and
    ``|γ(k)|² = α²k² + β²``: the textbook current ``J_s_standard`` (Eq. 2 on H_eff, not
    expanded) needs them of H_eff itself, the expanded ``J_s`` of H_eff with the couplings
    set to zero. At order ≥ 4 in the couplings H_eff has k⁴ terms, and the unexpanded
    closed form does not exist. This is decided in well under a second, on the operators
    at a fixed generic rational point of the parameters other than the couplings (a term
    that survives there is a term of the symbolic operator), instead of by minutes of
    symbolic work that end in a refusal. A ``None`` is not a proof: the generation then
    still stops at the first refusal (:func:`observables_context`).
    """
    point = _probe_point((H.free_symbols | J.free_symbols) - set(momenta) - set(couplings or ()))
    try:
        Hn = sympy.Matrix(H).xreplace(point).applyfunc(sympy.expand)
        Jn = sympy.Matrix(J).xreplace(point).applyfunc(sympy.expand)
    except (ZeroDivisionError, ValueError, TypeError):
        return None  # the probe point hit a pole: no verdict
    if any(e.has(sympy.zoo, sympy.nan) for e in (*Hn, *Jn)):
        return None
    hbar_n = sympy.sympify(hbar).xreplace(point) if hbar is not None else 1
    full = Hn.subs({c: 0 for c in couplings}, simultaneous=True) if couplings else Hn
    try:
        if not all(e.is_polynomial(*momenta) for e in (*Hn, *Jn)):
            return "H_eff or J_eff is not polynomial in the momenta"
        std = standard_spin_current_operator(Hn, "x", "y", hbar_n, momenta)
        _radial(Hn, std, momenta)  # the textbook J_s_standard, unexpanded (Eq. 4)
        if couplings:
            band_curvature(full, (), momenta)  # the expansion's unperturbed band (Eq. 49)
        else:
            _radial(Hn, Jn, momenta)
    except ModelError as exc:
        degree = _k_degree(Hn, momenta)
        tail = f"; H_eff has terms of degree {degree} in k" if degree > 2 else ""
        return f"{_first_clause(exc)}{tail}"
    return None


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
