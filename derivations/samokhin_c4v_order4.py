"""Eq. (33), Γ1 + Γ5 in C4v: fourth order in the inter-orbital coupling, exact in b.

Beyond the paper: the next corrections to Appendix F (terms ã⁴, ã²b̃², b̃⁴).
"""

MODEL = "samokhin_c4v"
MODEL_OPTIONS = {}
ORDER = 4
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["33"]
VALUES = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
SCALE = ["a_tilde", "b_tilde"]
