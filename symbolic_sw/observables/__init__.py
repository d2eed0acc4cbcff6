"""Observables evaluated from the models: equilibrium spin currents and the spin-Hall conductivity.

:mod:`.closed_form` gives ⟨j_{μ,i}⟩ as a SymPy expression J_s(μ, T; parameters)
from the effective operators (Eqs. 49-52): consistently expanded in the couplings at
any T (Fermi-Dirac integrals as polylogarithms), or unexpanded at T = 0 (Eq. 4).
:mod:`.numeric` integrates band-diagonal expectation values over the 2-D
Brillouin zone (Eqs. 3, 15, 29) for any band model given as numeric callables,
for the full microscopic model (e.g. the 6×6 Eq. 33) and for effective 2×2
models (Eq. 37 with the operators of Eq. 48 / Appendix F).
:mod:`.spin_hall` gives the intrinsic spin-Hall conductivity (Kubo) of the full
model or of the consistently transformed operators, with the remote-band term.

Energies: the chemical potential ``mu`` is counted from the band bottom
``E(k=0)`` (the lowest eigenvalue at k = 0) of the model being evaluated
(ERRATA item 3).

>>> from symbolic_sw.observables import microscopic_spin_current
>>> import symbolic_sw as ssw
>>> r = microscopic_spin_current(ssw.models.rashba_toy(), 0.5, 0.0, "x", "y",
...                              {"alpha_0": 0.2, "hbar": 1.0, "m": 1.0})
>>> round(r.value / (0.2**3 / (3 * 3.141592653589793)), 9)     # Eq. (C6)
1.0
"""

from .closed_form import (
    equilibrium_spin_current,
    expanded_integrand,
    expanded_spin_current,
    fermi_dirac_integral,
    rashba_spin_current,
    standard_spin_current_operator,
)
from .numeric import (
    BandTerms,
    SpinCurrentResult,
    band_bottom,
    band_terms,
    effective_spin_current,
    fermi,
    lambdify_matrix,
    microscopic_spin_current,
    spin_current_numeric,
)
from .spin_hall import SpinHallResult, spin_hall_conductivity

__all__ = [
    "BandTerms",
    "SpinCurrentResult",
    "SpinHallResult",
    "band_bottom",
    "band_terms",
    "effective_spin_current",
    "equilibrium_spin_current",
    "expanded_integrand",
    "expanded_spin_current",
    "fermi",
    "fermi_dirac_integral",
    "lambdify_matrix",
    "microscopic_spin_current",
    "rashba_spin_current",
    "spin_current_numeric",
    "spin_hall_conductivity",
    "standard_spin_current_operator",
]
