"""Observables of a derivation spec by name: the convenience over :mod:`symbolic_sw.observables`."""

from __future__ import annotations

from ..derivation import Derivation
from ..errors import ModelError
from ..observables.closed_form import T, mu, standard_spin_current_operator
from ..observables.closed_form import equilibrium_spin_current as _closed_form
from ..transformation.expansion import coupling_symbols
from .derive import Derived
from .files import build

__all__ = ["equilibrium_spin_current"]


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
