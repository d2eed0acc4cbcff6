"""Observables of a derivation spec by name: the convenience over :mod:`symbolic_sw.observables`."""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..derivation import Derivation, parameter_values
from ..errors import ModelError
from ..observables.closed_form import T, mu, standard_spin_current_operator
from ..observables.closed_form import equilibrium_spin_current as _closed_form
from ..transformation.expansion import coupling_symbols
from .derive import Derived
from .files import build

__all__ = [
    "LARGE_COUPLING",
    "PERTURBATIVE_COUPLING",
    "LargeCouplingWarning",
    "coupling_warning",
    "equilibrium_spin_current",
    "perturbative_values",
]


class LargeCouplingWarning(UserWarning):
    """The couplings are large compared with the gap: the perturbative closed forms are poor there."""


#: couplings × (unit momentum) / gap beyond which the closed forms (expansions in it,
#: Eq. 52) are poor: at the spec's VALUES of samokhin_c4v (0.3 / 0.9) J_s is 0.25× exact
LARGE_COUPLING = 0.05
#: the default of ``current`` and ``plot current``: the largest coupling at this fraction of
#: the gap, where the order-2 closed form is within ~1 % of the exact current at μ = 0.2
PERTURBATIVE_COUPLING = 0.02


def equilibrium_spin_current(source, mu_comp="x", i="y", *, T_=T, mu_=mu, definition="full", expand=None):
    """``⟨j_{μ,i}⟩`` in closed form for a derivation (name, spec or built result).

    Parameters
    ----------
    source : str, Derivation or Derived
        A derivation of :mod:`symbolic_sw.derivation` with 2×2 effective operators.
    mu_comp, i : str
        Spin component (x, y, z) and flow direction (x, y).
    definition : {"full", "standard"}
        The effective spin current of Eq. (20) (with δJ, Eq. 27), or the textbook
        ``½{(1/ħ)∂H_eff/∂k_i, σ_μ}`` of Eq. (2).
    expand : bool, optional
        ``True``: consistent to the derivation's order in the couplings, any T
        (:func:`~symbolic_sw.observables.expanded_spin_current`).  ``False``: no
        expansion, T = 0 only, for a Rashba-form H
        (:func:`~symbolic_sw.observables.rashba_spin_current`).  Default: expand
        when the derivation eliminates something, else not.

    μ is counted from the band bottom E(k = 0) of the effective model (ERRATA 3).
    """
    if mu_comp not in ("x", "y", "z") or i not in ("x", "y"):
        raise ModelError(
            f"⟨j_{{{mu_comp},{i}}}⟩ is not a spin-current component: the spin index is "
            f"x, y or z and the direction x or y."
        )
    if definition not in ("full", "standard"):
        raise ModelError(f"definition must be 'full' or 'standard', got {definition!r}.")
    if not isinstance(source, (str, Derivation, Derived)):
        raise ModelError(f"source must be a derivation name, a Derivation or a Derived, got {type(source).__name__}.")
    derived = source if isinstance(source, Derived) else build(source)[0]
    H = derived.operators["H"]
    if derived.shape != (2, 2) and (expand or (expand is None and derived.n_blocks > 1)):
        raise ModelError(f"the expanded closed form needs 2×2 effective operators, got {derived.shape}.")
    if definition == "full":
        J = derived.operators[f"J_{mu_comp}_{i}"]
    else:
        J = standard_spin_current_operator(H, mu_comp, i, derived.hbar, derived.momenta)
    couplings = derived.couplings
    if couplings is None:
        couplings = coupling_symbols(derived.derivation.model())
    if expand is None:
        expand = bool(couplings)
    if expand and not couplings:
        raise ModelError(f"{derived.name!r} eliminates nothing: there is no coupling to expand in; use expand=False.")
    return _closed_form(
        H, J, couplings=couplings, order=derived.order, momenta=derived.momenta, T_=T_, mu_=mu_, expand=expand
    )


def _block_gap(derivation, values):
    """The smallest distance between the k = 0 energies of two blocks of the full model (None: unknown)."""
    model = derivation.model()
    if len(model.blocks) < 2:
        return None
    values = dict(values)
    lo = derivation.leading_order
    if lo:  # the spec's parameters → the full model's (ε2 = ε1 + E_g; b̃ = b̃'/(1 + b/E_g))
        named = {sympy.Symbol(k): v for k, v in values.items()}
        by_name = {str(k): k for k in named}
        for sym, expr in lo["substitutions"].items():
            if isinstance(expr, sympy.Basic):
                value = expr.xreplace({s: named[by_name[str(s)]] for s in expr.free_symbols if str(s) in by_name})
                if value.is_number:
                    values[str(sym)] = float(value)
    point = {s: values[str(s)] for s in model.H0.free_symbols if str(s) in values}
    point.update({k: 0 for k in model.momenta})
    H0 = model.H0.xreplace(point)
    if H0.free_symbols:
        return None
    try:
        M = np.array(H0.evalf(), dtype=complex)
    except (TypeError, ValueError):
        return None
    levels = [np.linalg.eigvalsh(M[sl, sl]) for sl in model.block_slices]
    gap = min(
        abs(x - y) for a in range(len(levels)) for b in range(a + 1, len(levels)) for x in levels[a] for y in levels[b]
    )
    return float(gap) if math.isfinite(gap) else None


def _couplings(derived, values):
    return {str(c): values[str(c)] for c in derived.couplings or () if str(c) in values}


def coupling_warning(derived, values):
    """One line if the couplings are large compared with the gap between the blocks, else ``None``.

    The closed-form observables are expansions in coupling × k / gap (Eqs. 49-52); the
    ratio used is ``max |coupling| / gap`` (momenta of order one in the spec's units).
    """
    couplings = _couplings(derived, values)
    gap = _block_gap(derived.derivation, values) if couplings else None
    if not gap:
        return None
    ratio = max(abs(v) for v in couplings.values()) / gap
    if ratio <= LARGE_COUPLING:
        return None
    shown = ", ".join(f"{k}={v:g}" for k, v in couplings.items())
    return (
        f"the couplings ({shown}) are large compared with the gap between the blocks ({gap:g}): "
        f"max/gap = {ratio:.2g} > {LARGE_COUPLING}, where the perturbative closed form is poor. "
        f"Fix: couplings ≲ {PERTURBATIVE_COUPLING * gap:.2g} (the defaults), or compare with the exact value."
    )


def perturbative_values(derived, given=None, where="--param"):
    """Parameter values for evaluating observables, in the perturbative regime by default.

    The spec's VALUES, the couplings scaled into the perturbative regime (the largest at
    :data:`PERTURBATIVE_COUPLING` × the gap, two significant digits), then ``given`` on top
    (checked as :func:`parameter_values` does).

    A coupling named in ``given`` is the user's and is kept; the others are scaled only if
    the spec's ones are beyond :data:`LARGE_COUPLING` × the gap.
    """
    derivation = derived.derivation
    given = dict(given or {})
    values = parameter_values(derivation, derived.parameters, given, where=where)
    couplings = {k: v for k, v in _couplings(derived, values).items() if k not in given}
    gap = _block_gap(derivation, values) if couplings else None
    largest = max((abs(v) for v in couplings.values()), default=0.0)
    if gap and largest > LARGE_COUPLING * gap:
        scale = PERTURBATIVE_COUPLING * gap / largest
        values.update({k: float(f"{v * scale:.2g}") for k, v in couplings.items()})
    return values
