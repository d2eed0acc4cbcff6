"""Table of the equilibrium spin current of Eq. (33): exact 6×6 value vs the closed forms.

Run: ``python docs/equilibrium_current.py`` (writes the table of docs/equilibrium_current.md).
ã = 0.3 s, b̃ = 0.1 s, b = 0.1, E_g = 1, ħ = m = 1, μ = 0.2 from E(k = 0), T = 0.
"""

import symbolic_sw as ssw
from symbolic_sw.observables import microscopic_spin_current

exact_in_b = ssw.load_kernels("samokhin_c4v", kind="observables")
leading = ssw.load_kernels("samokhin_c4v_lo", kind="observables")
model = ssw.models.samokhin_c4v()
MU, B = 0.2, 0.1

print("| s | exact 6×6 | closed form, exact in b | Eq. (52) | Eq. (4) | closed/exact | Eq. 52/exact | Eq. 52/Eq. 4 |")
print("|---|---|---|---|---|---|---|---|")
for s in (1.0, 0.5, 0.25, 0.125, 0.0625):
    p = dict(hbar=1.0, m=1.0, epsilon_1=0.0, epsilon_2=1.0, a_tilde=0.3 * s, b_tilde=0.1 * s, b=B)
    lo = dict(
        hbar=1.0, m=1.0, epsilon_1=0.0, E_g=1.0, a_tilde=0.3 * s, b=B, b_tilde=0.1 * s * (1 + B)
    )  # ERRATA 4: b̃' = b̃(1 + b/E_g)
    exact = microscopic_spin_current(model, MU, 0.0, "x", "y", p).value
    closed, eq52, eq4 = exact_in_b.J_s(MU, **p), leading.J_s(MU, **lo), leading.J_s_standard(MU, **lo)
    print(
        f"| {s:g} | {exact:.5e} | {closed:.5e} | {eq52:.5e} | {eq4:.3e} | {closed / exact:.5f} | "
        f"{eq52 / exact:.5f} | {eq52 / eq4:.3g} |"
    )
