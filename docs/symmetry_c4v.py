"""The most general C4v k·p model (qsymm) against Eqs. (A19)/(A20): the two omitted terms and what they do.

Run: ``python docs/symmetry_c4v.py`` (needs the extra ``symmetry``: qsymm; about 10 minutes on one
core). Writes docs/symmetry_c4v.md. Every formula below is computed by the script; nothing is typed in.
"""

import pathlib
import time

import numpy as np
import sympy

import symbolic_sw as ssw
from symbolic_sw.certify import exact_effective, fit_exponent
from symbolic_sw.models import paper_mapping
from symbolic_sw.observables import microscopic_spin_current
from symbolic_sw.observables.closed_form import expanded_spin_current, mu
from symbolic_sw.pauli import SIGMA, kron
from symbolic_sw.symbols import (
    E_g,
    a_tilde,
    b,
    b_tilde,
    epsilon_1,
    epsilon_2,
    gamma_1,
    gamma_2,
    gamma_tilde,
    hbar,
    k_x,
    k_y,
    m,
)

OUT = pathlib.Path(__file__).with_suffix(".md")
eta_3, eta_4 = sympy.symbols("eta_3 eta_4", real=True)
ETA = (eta_3, eta_4)
lines = []
T0 = time.time()


def out(text=""):
    lines.append(text)
    print(text, flush=True)


def fmt(expr):
    return f"`{sympy.sstr(expr)}`"


def gap(expr):
    """ε2 → ε1 + E_g and factor."""
    return sympy.factor(sympy.expand(sympy.sympify(expr).subs(epsilon_2, epsilon_1 + E_g)))


def eta_part(expr):
    expr = sympy.expand(expr)
    return gap(expr - expr.subs({eta_3: 0, eta_4: 0}))


# -- 1. the family and the mapping -----------------------------------------------------------------

maps = {v: paper_mapping(v) for v in ("g1g5", "g4g5")}
PAPER = {"g1g5": "A19", "g4g5": "A20"}
IRREPS = {"g1g5": "Γ1 + Γ5", "g4g5": "Γ4 + Γ5"}

out("# The most general C4v model versus Eqs. (A19) and (A20)")
out()
out('`python docs/symmetry_c4v.py` (extra `symmetry`: qsymm). `ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"])`')
out("builds the most general Hermitian, C4v- and time-reversal-invariant k·p Hamiltonian to linear order in")
out("k for the orbitals Γ1 + Γ5 ⊗ spin-½ in the paper's basis (Γ1↑, Γ1↓, Γ5x↑, Γ5x↓, Γ5y↑, Γ5y↓), with")
out("D_Γ5(C4z) = −iτ2, D_Γ5(σ_y) = τ3 (Appendix A 1), plus the free-electron ħ²k²/2m on the diagonal.")
out("qsymm solves the constraints; the terms are made exact and checked exactly against all 16 operations")
out("(C4v and C4v·T). `symbolic_sw.models.paper_mapping` decomposes the paper's matrix in the family.")
out()
for v, pm in maps.items():
    fam = pm.model.family
    out(f"## {IRREPS[v]}: {len(fam.symbols)} terms, Eq. ({PAPER[v]}) has 8")
    out()
    out(f"| generated | block | k power | term (τ: Γ5 orbital Pauli matrices) | Eq. ({PAPER[v]}) |")
    out("|---|---|---|---|---|")
    names = {s: "**omitted**" for s in pm.omitted}
    names.update({s: fmt(val) for s, val in pm.substitutions.items()})
    for s, block, deg, text in fam.table():
        out(f"| `{s}` | {block} | {deg} | {text} | {names[s]} |")
    out()
    ok = pm.restrict() == pm.paper.H.applyfunc(sympy.expand)
    call = 'samokhin_c4v(variant="g4g5", intrinsic_soc=True)' if v == "g4g5" else "samokhin_c4v(intrinsic_soc=True)"
    out(f"Substituting the right column and 0 for the omitted parameters gives `{call}.H` entry by entry: **{ok}**.")
    out()

out("**Counting** (both cases). Orbital matrices inside Γ5: τ0 ∈ Γ1, τ2 ∈ Γ2, τ3 ∈ Γ3, τ1 ∈ Γ4; spin:")
out("σz ∈ Γ2, (σy, −σx) ∈ Γ5; k ∈ Γ5; under T, k, σ and τ2 are odd. k ⊗ (σy, −σx) = Γ1 + Γ2 + Γ3 + Γ4 with")
out("Γ1: k_xσy − k_yσx, Γ3: k_xσy + k_yσx, Γ4: k_xσx − k_yσy. Invariants: 1D block ε, Rashba (2); Γ5 block")
out("τ0 (ε2), τ2σz (b), τ0 ⊗ Rashba (γ2), **τ3 ⊗ (k_xσy + k_yσx)**, **τ1 ⊗ (k_xσx − k_yσy)** (5; τ2 ⊗ k⊗σ is")
out("T-odd); inter-orbital Γ1⊗Γ5 = Γ4⊗Γ5 = Γ5 needs a Γ5 partner: σ in-plane (b̃), k (ã), kσz (γ̃), each with")
out("its phase fixed by T (3). 2 + 5 + 3 = 10.")
out()
out("We call the omitted terms **η3 τ3 ⊗ (k_xσy + k_yσx)** (Γ3 ⊗ Γ3) and **η4 τ1 ⊗ (k_xσx − k_yσy)**")
out("(Γ4 ⊗ Γ4): orbital-anisotropic, Dresselhaus-like k-linear SOC inside the Γ5 doublet. Appendix A 1 does")
out("not have them because there the k-linear SOC comes only from σ·(C × k) (Eq. A9), which contains only")
out("the antisymmetric part of the tensor k_iσ_j; η3, η4 are symmetric-traceless. They are allowed by")
out("symmetry and arise e.g. from the remote bands (the dots of A19) at second order, k·p × atomic SOC,")
out("∼ (Ak)(B)/ΔE_remote, not smaller than the γ's of A19 by the estimate after Eq. (A20).")
out()

# -- 2. effective operators with η ------------------------------------------------------------------


def eta_model(v, keep_gamma=False):
    """The generated model in the paper's names + η3, η4; γ1 = γ2 = γ̃ = 0 unless keep_gamma."""
    pm = maps[v]
    names = {
        **{str(g): str(p) for g, p in pm.substitutions.items()},
        str(pm.omitted[0]): "eta_3",
        str(pm.omitted[1]): "eta_4",
    }
    gen = ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"] if v == "g1g5" else ["Γ4", "Γ5"], names=names)
    H = gen.H if keep_gamma else gen.H.subs({gamma_1: 0, gamma_2: 0, gamma_tilde: 0})
    return ssw.Model(H, [2, 4], momenta=(k_x, k_y), time_reversal=True, name=f"{v}_eta")


def eta_effective(v, keep_gamma=False):
    model = eta_model(v, keep_gamma)
    small = (gamma_1, gamma_2, *ETA) if keep_gamma else ETA
    couplings = (a_tilde, b_tilde, gamma_tilde) if keep_gamma else (a_tilde, b_tilde)
    eff = ssw.effective(model.with_perturbative(small), order=3, truncate={couplings: 2, small: 1})
    return model, eff


out("## Effective Γ1 operators with η3, η4 (order 2 in ã, b̃; first order in η; exact in b)")
out()
out("On top of Eq. (33) (γ1 = γ2 = γ̃ = 0): `ssw.effective(model.with_perturbative([eta_3, eta_4]), order=3,")
out("truncate={(a_tilde, b_tilde): 2, (eta_3, eta_4): 1})`, ε2 = ε1 + E_g. Only the η-dependent parts are")
out("shown (the rest is Appendix F).")
out()
model, eff = eta_effective("g1g5")
P = eff.pauli(eff.H)
for c in "0xyz":
    out(f"- δH_eff, σ{c}: {fmt(eta_part(P[c]))}")
hx = gap(P["x"])
alpha_total = sympy.diff(hx, k_y).subs({k_x: 0, k_y: 0})
alpha_shift = gap(alpha_total - alpha_total.subs(dict.fromkeys(ETA, 0)))
out()
out("At k → 0 the Γ1 band keeps the Rashba form (C4v allows nothing else at linear order), with")
out(f"**α_R → α_R + δα, δα = {fmt(alpha_shift)}** (only η3 − η4 enters); α_R = 2ãb̃/(E_g − b) (F9).")
out(f"The k³ terms (∝ ã²η) are anisotropic (η3 and η4 separately); the σ0 part, {fmt(eta_part(P['0']))},")
out("renormalises the mass.")
out()
t = time.time()
_, eff_full = eta_effective("g1g5", keep_gamma=True)
hx_full = gap(eff_full.pauli(eff_full.H)["x"])
alpha_full = gap(sympy.diff(hx_full, k_y).subs({k_x: 0, k_y: 0}))
out("With the intrinsic SOC of Eq. (A19) too (γ̃ as a coupling; γ1, γ2, η3, η4 to first order jointly), the")
out(f"k-linear coefficient of σx k_y in H_eff is {fmt(alpha_full)}.")
out()

out("### Spin current: which components η changes")
out()
out("| J_{μ,i} | η changes σ0 / σx / σy / σz | zero without η |")
out("|---|---|---|")
J = {}
for key in [("x", "x"), ("x", "y"), ("y", "x"), ("y", "y"), ("z", "x"), ("z", "y")]:
    J[key] = eff.J[key]
    PJ = eff.pauli(J[key])
    changed = " / ".join("yes" if eta_part(PJ[c]) != 0 else "no" for c in "0xyz")
    zero0 = all(sympy.expand(PJ[c].subs(dict.fromkeys(ETA, 0))) == 0 for c in "0xyz")
    out(f"| J_{{{key[0]},{key[1]}}} | {changed} | {zero0} |")
out()
for key in [("x", "y"), ("z", "x")]:
    PJ, PdJ = eff.pauli(J[key]), eff.pauli(eff.dJ[key])
    out(f"η-part of J_{{{key[0]},{key[1]}}} and of δJ_{{{key[0]},{key[1]}}} (Eq. 27), Pauli components:")
    out()
    for c in "0xyz":
        a, d = eta_part(PJ[c]), eta_part(PdJ[c])
        if a != 0 or d != 0:
            out(f"- σ{c}: J: {fmt(a)}; δJ: {fmt(d)}")
    out()
out("In J_{z,i} (out-of-plane spin) η changes only the σz component, ∝ ãb̃(η3 − η4).")
out()

# -- 3. equilibrium spin current ---------------------------------------------------------------------

out("## Equilibrium spin current J_s = ⟨j_{x,y}⟩ (Eq. 49), T = 0, μ from the band bottom")
out()
Js = gap(expanded_spin_current(eff.H, J["x", "y"], (a_tilde, b_tilde, *ETA), 3, mu, 0))
Js0 = gap(Js.subs(dict.fromkeys(ETA, 0)))
dJs = eta_part(Js)
kF = sympy.Symbol("k_F0", positive=True)
paper_form = hbar * kF**4 * b * sympy.Symbol("alpha") / (4 * sympy.pi * m * (E_g**2 - b**2))
out("`expanded_spin_current(H_eff, J_xy, couplings=(ã, b̃, η3, η4), order=3, T=0)`: consistent to")
out("ã², ãb̃, b̃² times (1, η).")
out()
out(f"- without η (Eq. 33, exact in b): J_s = {fmt(Js0)}")
out(f"- **η part**: δJ_s = {fmt(dJs)}")
compact = (
    2
    * m
    * mu
    * (eta_3 - eta_4)
    / (sympy.pi * hbar**3 * (E_g - b) ** 3)
    * (b_tilde**2 * (E_g - b - mu) - 2 * a_tilde**2 * b * m * mu**2 / (3 * hbar**2 * (E_g + b)))
)
out(
    f"  = 2mμ(η3 − η4)/(πħ³(E_g − b)³) · [b̃²(E_g − b − μ) − 2ã²b m μ²/(3ħ²(E_g + b))]: "
    f"**{sympy.simplify(compact - dJs) == 0}** (checked symbolically)"
)
mu_lin = gap(sympy.diff(dJs, mu).subs(mu, 0))
alpha_only = gap((paper_form.subs(sympy.Symbol("alpha"), alpha_shift)).subs(kF, sympy.sqrt(2 * m * mu) / hbar))
out(f"- renormalising α_R alone in ħk_F0⁴ b α_R/(4πm(E_g² − b²)) would give {fmt(alpha_only)}; the rest,")
out(f"  {fmt(gap(dJs - alpha_only))}, is new. In particular δJ_s has a term **linear in μ**,")
ratio = sympy.simplify(mu_lin / (-m * alpha_shift / (sympy.pi * hbar**3)))
out(f"  dδJ_s/dμ at μ = 0 = {fmt(mu_lin)} = {fmt(ratio)} × (−m δα/(πħ³)), which survives at **b = 0**:")
out(f"  δJ_s(b = 0) = {fmt(gap(dJs.subs(b, 0)))}. Eq. (33) has no current at b = 0 (J_s ∝ b); η3 − η4 ≠ 0")
out("  gives one at third order in the SOC (b̃²η), linear in the density.")
out()

# -- 4. numeric checks against the exact transformation ---------------------------------------------

out("## Checks against the exact transformation")
out()
out("Couplings scaled together: ã = 0.3 s, b̃ = 0.1 s, η3 = 0.2 s, η4 = −0.1 s; b = 0.1, E_g = 1, ħ = m = 1.")
out("(a) H_eff and J_{x,y} against the exact block rotation (`symbolic_sw.certify.exact_effective`) at")
out("three k points: with the η terms the error falls as s⁴ (the first neglected order), without them as s³.")
out()
base = {hbar: 1.0, m: 1.0, epsilon_1: 0.0, epsilon_2: 1.0, b: 0.1}
Hnum = sympy.lambdify((k_x, k_y, a_tilde, b_tilde, *ETA), model.H.subs(base), "numpy")
Sx = kron(sympy.eye(3), SIGMA["x"])
Jmic = ((model.H.diff(k_y) * Sx + Sx * model.H.diff(k_y)) / (2 * hbar)).subs(base)
Jnum = sympy.lambdify((k_x, k_y, a_tilde, b_tilde, *ETA), Jmic, "numpy")
closed = {
    name: sympy.lambdify((k_x, k_y, a_tilde, b_tilde, *ETA), M.subs(base), "numpy")
    for name, M in (("H", eff.H), ("J", J["x", "y"]))
}
without = {
    name: sympy.lambdify((k_x, k_y, a_tilde, b_tilde, *ETA), M.subs(base).subs(dict.fromkeys(ETA, 0)), "numpy")
    for name, M in (("H", eff.H), ("J", J["x", "y"]))
}
zs = (0.2, 0.1, 0.05, 0.025)
errs = {(n, w): [] for n in ("H", "J") for w in ("with", "without")}
for s in zs:
    args = (0.3 * s, 0.1 * s, 0.2 * s, -0.1 * s)
    e = {key: 0.0 for key in errs}
    for kx, ky in ((0.31, 0.17), (-0.23, 0.41), (0.12, -0.37)):
        Hx, Jx = exact_effective(
            np.array(Hnum(kx, ky, *args), complex),
            [np.array(Hnum(kx, ky, *args), complex), np.array(Jnum(kx, ky, *args), complex)],
            2,
        )
        for n, X in (("H", Hx), ("J", Jx)):
            e[n, "with"] = max(e[n, "with"], np.abs(np.array(closed[n](kx, ky, *args), complex) - X).max())
            e[n, "without"] = max(e[n, "without"], np.abs(np.array(without[n](kx, ky, *args), complex) - X).max())
    for key in errs:
        errs[key].append(e[key])
out("| s | H: error with η terms | without | J_{x,y}: with | without |")
out("|---|---|---|---|---|")
for n, s in enumerate(zs):
    out(
        f"| {s:g} | {errs['H', 'with'][n]:.3e} | {errs['H', 'without'][n]:.3e} | {errs['J', 'with'][n]:.3e} | "
        f"{errs['J', 'without'][n]:.3e} |"
    )
out(
    "| exponent | "
    + " | ".join(
        f"{fit_exponent(zs, errs[key]):.2f}"
        for key in [("H", "with"), ("H", "without"), ("J", "with"), ("J", "without")]
    )
    + " |"
)
out()
out("(b) J_s against the exact 6×6 value (`microscopic_spin_current`, Eqs. 14–15), μ = 0.2:")
out()
out("| s | exact 6×6 | closed form with η | without η | (with − exact)/exact | (without − exact)/exact |")
out("|---|---|---|---|---|---|")
Js_num = sympy.lambdify((a_tilde, b_tilde, *ETA), Js.subs({**base, E_g: 1.0, mu: 0.2}), "numpy")
Js0_num = sympy.lambdify((a_tilde, b_tilde), Js0.subs({**base, E_g: 1.0, mu: 0.2}), "numpy")
for s in (1.0, 0.5, 0.25, 0.125):
    p = {
        "hbar": 1.0,
        "m": 1.0,
        "epsilon_1": 0.0,
        "epsilon_2": 1.0,
        "b": 0.1,
        "a_tilde": 0.3 * s,
        "b_tilde": 0.1 * s,
        "eta_3": 0.2 * s,
        "eta_4": -0.1 * s,
    }
    ex = microscopic_spin_current(model, 0.2, 0.0, "x", "y", p).value
    w, wo = float(Js_num(0.3 * s, 0.1 * s, 0.2 * s, -0.1 * s)), float(Js0_num(0.3 * s, 0.1 * s))
    out(f"| {s:g} | {ex:.5e} | {w:.5e} | {wo:.5e} | {(w - ex) / ex:+.4f} | {(wo - ex) / ex:+.4f} |")
out()
out("The η-corrected closed form converges to the exact current (absolute error ∝ s⁴, relative ∝ s²);")
out("the Eq.-(33) form misses a part of the same order (s³) as its own leading term here.")
out()

# -- 5. Γ4 + Γ5 -----------------------------------------------------------------------------------------

out("## Γ4 + Γ5 (Eq. A20) with η3, η4")
out()
model4, eff4 = eta_effective("g4g5")
P4 = eff4.pauli(eff4.H)
for c in "0xyz":
    out(f"- δH_eff, σ{c}: {fmt(eta_part(P4[c]))}")
hx4 = gap(P4["x"])
alpha4 = gap(sympy.diff(hx4, k_y).subs({k_x: 0, k_y: 0}))
out()
out(f"k-linear coefficient of σx k_y (α_R + δα): {fmt(alpha4)}.")
J4 = eff4.J["x", "y"]
Js4 = gap(expanded_spin_current(eff4.H, J4, (a_tilde, b_tilde, *ETA), 3, mu, 0))
out(f"- J_s without η: {fmt(gap(Js4.subs(dict.fromkeys(ETA, 0))))}")
out(f"- **η part**: {fmt(eta_part(Js4))}")
out()
out(f"_Generated in {time.time() - T0:.0f} s._")

OUT.write_text("\n".join(lines) + "\n")
print(f"wrote {OUT}")
