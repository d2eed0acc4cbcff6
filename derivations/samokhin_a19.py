"""Eq. (A19), Γ1 + Γ5 in C4v with intrinsic SOC: order 2 in the coupling, 1 in γ1, γ2.

Beyond the paper (which sets γ1 = γ2 = γ̃ = 0, giving Eq. 33): exact in b, second
order in the inter-orbital coupling ã, b̃, γ̃ and first order in the intra-orbital
intrinsic SOC γ1, γ2. (Kept exactly in γ, the energy denominators become a
k-dependent quartic polynomial and each spin current ~10⁵ operations.)
"""

MODEL = "samokhin_c4v"
MODEL_OPTIONS = {"intrinsic_soc": True}
ORDER = 2
PERTURBATIVE = {("gamma_1", "gamma_2"): 1}  # also small: total degree ≤ 1 in γ1, γ2
OPERATORS = ["H", "S", "T", "J", "dJ"]
EQUATIONS = ["A19"]
VALUES = {
    "hbar": 1.0,
    "m": 1.0,
    "epsilon_1": 0.0,
    "epsilon_2": 1.0,
    "a_tilde": 0.3,
    "b_tilde": 0.2,
    "b": 0.1,
    "gamma_1": 0.05,
    "gamma_2": 0.07,
    "gamma_tilde": 0.04,
}
SCALE = ["a_tilde", "b_tilde", "gamma_tilde", "gamma_1", "gamma_2"]
