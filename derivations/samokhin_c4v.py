"""Eq. (33), Γ1 + Γ5 in C4v, to second order in the inter-orbital coupling, exact in b
(Appendix F: Eqs. F6-F11 and the S_eff, T_eff that follow them)."""

MODEL = "samokhin_c4v"          # factory in symbolic_sw.models
MODEL_OPTIONS = {}              # e.g. {"intrinsic_soc": True} for Eq. (A19)
ORDER = 2
OPERATORS = ["H", "S", "T", "J", "dJ"]
