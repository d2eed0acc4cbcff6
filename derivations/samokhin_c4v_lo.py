"""Eq. (33), Γ1 + Γ5 in C4v: second order in the coupling, leading order in b/E_g (Sec. V).

Eqs. (37)-(48). ERRATA item 4: written in the renormalised coupling
b̃' = b̃(1 + b/E_g), so the parameter `b_tilde` of these formulas is b̃', and
ε2 = ε1 + E_g.
"""

from symbolic_sw.symbols import E_g, b, b_tilde, epsilon_1, epsilon_2

MODEL = "samokhin_c4v"
MODEL_OPTIONS = {}
ORDER = 2
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48"]
LEADING_ORDER = {
    "small": b,
    "order": 1,
    "substitutions": {epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde / (1 + b / E_g)},
}
VALUES = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "E_g": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.02}
SCALE = ["b"]  # checked against the exact-in-b result
OBSERVABLES = True  # generated/<name>/observables.py: J_s(mu, T)
