"""Eq. (33), Γ1 + Γ5 in C4v: second order in the inter-orbital coupling, exact in b.

Appendix F: the effective Hamiltonian (F6)-(F9), spin current (F10)-(F11) with
ERRATA item 1, and the S_eff, T_eff that follow them.
"""

MODEL = "samokhin_c4v"  # factory in symbolic_sw.models
MODEL_OPTIONS = {}  # its keyword arguments
ORDER = 2  # powers of ã, b̃ kept
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["33", "F6", "F7", "F8", "F9", "F10", "F11"]
VALUES = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
SCALE = ["a_tilde", "b_tilde"]  # `symbolic-sw check` sends these to zero
OBSERVABLES = True  # generated/<name>/observables.py: J_s(mu, T)
