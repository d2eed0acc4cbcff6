"""Eq. (G2): an isolated Γ5 orbital with atomic SOC b and Rashba SOC α0 (Appendix G).

Nothing is eliminated: the 4×4 operators of the two-fold orbital ⊗ spin,
energy counted from ε2.
"""

MODEL = "isolated_gamma5"
ORDER = 1
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["G2"]
VALUES = {"hbar": 1.0, "m": 1.0, "alpha_0": 0.1, "b": 0.2}
OBSERVABLES = True  # generated/<name>/observables.py: J_s(mu, T)
