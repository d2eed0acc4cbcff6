"""Observables evaluated from the models: equilibrium spin currents.

:mod:`.numeric` integrates band-diagonal expectation values over the 2-D
Brillouin zone (Eqs. 3, 15, 29) for any band model given as numeric callables,
for the full microscopic model (e.g. the 6×6 Eq. 33) and for effective 2×2
models (Eq. 37 with the operators of Eq. 48 / Appendix F).

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

from .numeric import (
    BandTerms, SpinCurrentResult, band_bottom, band_terms, effective_spin_current, fermi,
    lambdify_matrix, microscopic_spin_current, spin_current_numeric,
)

__all__ = [
    "fermi", "band_bottom", "lambdify_matrix", "band_terms", "spin_current_numeric",
    "microscopic_spin_current", "effective_spin_current", "SpinCurrentResult", "BandTerms",
]
