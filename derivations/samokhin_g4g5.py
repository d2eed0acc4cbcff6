"""Eq. (A20), Γ4 + Γ5 in C4v: second order in the coupling, exact in b, intrinsic SOC off.

The Γ4 + Γ5 inter-orbital blocks of Eq. (A20) with γ1 = γ2 = γ̃ = 0, as for Eq. (33).
"""

MODEL = "samokhin_c4v"
MODEL_OPTIONS = {"variant": "g4g5"}
ORDER = 2
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["A20"]
VALUES = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
SCALE = ["a_tilde", "b_tilde"]
