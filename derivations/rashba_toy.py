"""Eq. (C1): one orbital with intrinsic Rashba SOC α0 (Appendix C).

Nothing is eliminated: the effective operators are the microscopic ones,
H = ħ²k²/2m + α0(k_y σ_x − k_x σ_y), with energy counted from ε1.
"""

MODEL = "rashba_toy"
ORDER = 1
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["C1", "C2"]
VALUES = {"hbar": 1.0, "m": 1.0, "alpha_0": 0.1}
OBSERVABLES = True  # generated/<name>/observables.py: J_s(mu, T)
