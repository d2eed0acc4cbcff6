"""Equilibrium spin current in closed form (Eqs. 4, 49-52) against the paper and the exact 6×6 value."""

import re

import mpmath
import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.observables import expanded_integrand, fermi_dirac_integral, microscopic_spin_current
from symbolic_sw.observables.closed_form import T, _radial, mu
from symbolic_sw.pipeline import build, equilibrium_spin_current
from symbolic_sw.symbols import E_g, a_tilde, alpha_0, b, b_tilde, epsilon_1, epsilon_2, hbar, k_x, k_y, m
from symbolic_sw.transformation.expansion import taylor

pi = sympy.pi
alpha_lo = 2 * a_tilde * b_tilde / E_g  # (41), b̃ = b̃'
m_star_lo = m / (1 - 2 * m * a_tilde**2 / (hbar**2 * E_g))  # (39)
EQ52 = (mu / E_g) ** 2 * m * b / (pi * hbar**3) * alpha_lo
EQ4 = m_star_lo**2 * alpha_lo**3 / (3 * pi * hbar**5)


def test_leading_order_operators_give_eq52_at_T0():
    assert sympy.cancel(equilibrium_spin_current("samokhin_c4v_lo", "x", "y", T_=0) - EQ52) == 0
    assert sympy.cancel(equilibrium_spin_current("samokhin_c4v_lo", "y", "x", T_=0) + EQ52) == 0  # (50)


@pytest.mark.parametrize("comp", [("x", "x"), ("y", "y"), ("z", "x"), ("z", "y")])
def test_other_components_vanish(comp):
    assert equilibrium_spin_current("samokhin_c4v", *comp, T_=0) == 0


def test_standard_definition_gives_eq4_and_the_ratio():
    """Eq. (2) on H_eff of Eq. (37), unexpanded, T = 0: Eq. (4) ∝ α_R³; within order 2 it is zero."""
    std = equilibrium_spin_current("samokhin_c4v_lo", definition="standard", T_=0, expand=False)
    assert sympy.cancel(std - EQ4) == 0
    assert equilibrium_spin_current("samokhin_c4v_lo", definition="standard", T_=0) == 0
    ratio = sympy.factor(EQ52 / std)  # (μ/E_g)² ħ²b/(m α_R²) up to the m* factors: the text after Eq. (53)
    assert sympy.cancel(ratio * alpha_lo**2 * m_star_lo**2 / (m * hbar**2 * b * mu**2 / E_g**2) - 3) == 0


def test_exact_in_b_closed_form_and_its_leading_order_limit():
    """Main result: order 2, exact in b (ERRATA 5); with b̃ = b̃'/(1 + b/E_g) it starts as Eq. (52)."""
    full = equilibrium_spin_current("samokhin_c4v", T_=0)
    gap = epsilon_2 - epsilon_1
    alpha_F9 = 2 * a_tilde * b_tilde / (gap - b)
    assert sympy.cancel(full - hbar * (2 * m * mu / hbar**2) ** 2 * b * alpha_F9 / (4 * pi * m * (gap**2 - b**2))) == 0
    # J_s ∝ b, so "leading order in b/E_g" is relative: J_s = Eq.(52) × (1 + O(b²/E_g²)) with b̃' ...
    lo = full.subs({epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde / (1 + b / E_g)})
    assert sympy.cancel(taylor(sympy.cancel(lo / EQ52), b, 1) - 1) == 0
    # ... while read with the bare b̃ it is off by b/E_g (ERRATA 4)
    bare = full.subs(epsilon_2, epsilon_1 + E_g)
    assert sympy.cancel(taylor(sympy.cancel(bare / EQ52), b, 1) - (1 + b / E_g)) == 0


def test_rashba_toy_C6():
    assert sympy.cancel(equilibrium_spin_current("rashba_toy", T_=0) - m**2 * alpha_0**3 / (3 * pi * hbar**5)) == 0


@pytest.mark.parametrize("j,n", [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (1, 2), (2, 3), (0, 2)])
def test_radial_fermi_dirac_integrals(j, n):
    """∫_0^∞ ξ^j f^(n)(ξ) dξ by parts + polylogs, against quadrature (T > 0) and the step (T = 0)."""
    mu_v, T_v = mpmath.mpf("0.3"), mpmath.mpf("0.04")
    expr = _radial(j, n, mu, T)
    value = complex(sympy.N(expr.subs({mu: sympy.Rational(3, 10), T: sympy.Rational(1, 25)}), 30))
    f = lambda x: 1 / (mpmath.exp((x - mu_v) / T_v) + 1)  # noqa: E731
    ref = mpmath.quad(lambda x: x**j * mpmath.diff(f, x, n), [0, mu_v, mu_v + 40 * T_v])
    assert abs(value - complex(ref)) < 1e-10 * max(1, abs(complex(ref)))
    assert fermi_dirac_integral(j, mu, 0) == mu ** (j + 1) / (j + 1)


def test_finite_T_closed_form_equals_numeric_k_integral():
    """T > 0: the polylog closed form vs a 2-D quadrature of the same (expanded) Eq. (49) integrand."""
    derived = build("samokhin_c4v")[0]
    J_s = equilibrium_spin_current(derived)
    c2, terms = expanded_integrand(
        derived.operators["H"], derived.operators["J_x_y"], [a_tilde, b_tilde], derived.order
    )
    vals = {
        hbar: 1,
        m: 1,
        epsilon_1: 0,
        epsilon_2: 1,
        a_tilde: sympy.Rational(3, 10),
        b_tilde: sympy.Rational(1, 5),
        b: sympy.Rational(1, 10),
    }
    for mu_v, T_v in [("0.2", "0.01"), ("0.05", "0.03")]:
        mu_n, T_n = mpmath.mpf(mu_v), mpmath.mpf(T_v)
        closed = float(sympy.N(J_s.subs(vals).subs({mu: sympy.Rational(mu_v), T: sympy.Rational(T_v)}), 20))
        c = float(c2.subs(vals))
        xi = sympy.Symbol("xi")
        fermi = 1 / (sympy.exp((xi - sympy.Rational(mu_v)) / sympy.Rational(T_v)) + 1)
        parts = []
        for n, P in terms.items():
            Pk = sympy.lambdify((k_x, k_y), P.subs(vals), "mpmath")
            fxi = sympy.lambdify(xi, sympy.diff(fermi, xi, n), "mpmath")
            fn = (lambda g: lambda k: g(c * k**2))(fxi)
            k_max = mpmath.sqrt((mu_n + 40 * T_n) / c)
            # angle: periodic trapezoid (exact for these trigonometric polynomials); |k|: adaptive quadrature
            phis = [2 * mpmath.pi * j / 16 for j in range(16)]
            ring = (
                lambda Pk: lambda k: 2 * mpmath.pi / 16 * sum(Pk(k * mpmath.cos(p), k * mpmath.sin(p)) for p in phis)
            )(Pk)
            k_f = mpmath.sqrt(mu_n / c)
            parts.append(mpmath.quad(lambda k: k * ring(k) * fn(k), [0, k_f * 0.9, k_f, k_f * 1.1, k_max]))
        numeric = float(sum(parts) / (2 * mpmath.pi) ** 2)
        assert abs(closed - numeric) < 1e-8 * abs(numeric), (mu_v, T_v, closed, numeric)
    # T → 0 joins the T = 0 form with the Sommerfeld correction: ∫ξf dξ = μ²/2 + π²T²/6 + O(e^(−μ/T))
    low = float(sympy.N(J_s.subs(vals).subs({mu: sympy.Rational(1, 5), T: sympy.Rational(1, 2000)}), 20))
    zero = float(equilibrium_spin_current(derived, T_=0).subs(vals).subs(mu, sympy.Rational(1, 5)))
    assert abs((low - zero) / zero - np.pi**2 * (1 / 2000) ** 2 / 3 / 0.2**2) < 1e-9


def test_eq51_is_the_leading_order_limit_at_finite_T():
    """Eq. (51) (unexpanded f±) agrees with the closed form of the leading-order operators as s² → 0."""
    J_lo = equilibrium_spin_current("samokhin_c4v_lo")
    diffs = []
    for s in (0.2, 0.1, 0.05):
        p = dict(hbar=1.0, m=1.0, E_g=1.0, a=0.3 * s, bt=0.2 * s, b=0.1)
        alpha = 2 * p["a"] * p["bt"] / p["E_g"]
        inv_ms = (1 - 2 * p["m"] * p["a"] ** 2 / (p["hbar"] ** 2 * p["E_g"])) / p["m"]
        mu_v, T_v = 0.2, 0.03
        f = lambda x: 1 / (mpmath.exp((x - mu_v) / T_v) + 1)  # noqa: E731
        xi = lambda k, lam: p["hbar"] ** 2 * k**2 * inv_ms / 2 + lam * alpha * k  # noqa: E731
        first = mpmath.quad(
            lambda k: (
                k * (1 + p["hbar"] ** 2 * p["b"] * k**2 / (p["m"] * p["E_g"] ** 2)) * (f(xi(k, 1)) + f(xi(k, -1)))
            ),
            [0, 0.6, 3],
        )
        bracket = (
            1 - 2 * p["bt"] ** 2 / p["E_g"] ** 2 - 2 * p["m"] * p["b"] * p["a"] ** 2 / (p["hbar"] ** 2 * p["E_g"] ** 2)
        )
        second = mpmath.quad(lambda k: k**2 * (f(xi(k, 1)) - f(xi(k, -1))), [0, 0.6, 3])
        eq51 = alpha / (2 * mpmath.pi * p["hbar"]) * first + p["hbar"] * inv_ms / (4 * mpmath.pi) * bracket * second
        closed = float(
            sympy.N(
                J_lo.subs(
                    {hbar: 1, m: 1, E_g: 1, a_tilde: p["a"], b_tilde: p["bt"], b: 0.1, epsilon_1: 0, mu: mu_v, T: T_v}
                )
            )
        )
        diffs.append(abs(float(eq51) / closed - 1))
    slopes = np.diff(np.log(diffs)) / np.diff(np.log([0.2, 0.1, 0.05]))
    assert min(slopes) > 1.8, diffs


def test_converges_to_exact_6x6_faster_than_eq52():
    """ã, b̃ → s·(ã, b̃): |closed − exact|/exact ∝ s², and below Eq. (52)'s error at every s."""
    J_s = equilibrium_spin_current("samokhin_c4v", T_=0)
    model = ssw.models.samokhin_c4v()
    rel, rel52 = [], []
    scales = (0.25, 0.125, 0.0625)
    for s in scales:
        vals = {
            "hbar": 1.0,
            "m": 1.0,
            "epsilon_1": 0.0,
            "epsilon_2": 1.0,
            "a_tilde": 0.3 * s,
            "b_tilde": 0.1 * s,
            "b": 0.1,
        }
        exact = microscopic_spin_current(model, 0.2, 0.0, "x", "y", vals).value
        subs = {
            sympy.Symbol(k, real=True) if k not in ("hbar", "m") else sympy.Symbol(k, positive=True): v
            for k, v in vals.items()
        }
        closed = float(J_s.subs(subs).subs(mu, 0.2))
        bt_prime = vals["b_tilde"] * (1 + vals["b"])  # ERRATA 4: b̃' = b̃(1 + b/E_g)
        eq52 = float(EQ52.subs({mu: 0.2, E_g: 1, m: 1, hbar: 1, b: 0.1, a_tilde: vals["a_tilde"], b_tilde: bt_prime}))
        rel.append(abs(closed / exact - 1))
        rel52.append(abs(eq52 / exact - 1))
    slopes = np.diff(np.log(rel)) / np.diff(np.log(scales))
    assert min(slopes) > 1.8, rel
    assert all(r < r52 for r, r52 in zip(rel, rel52)), (rel, rel52)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"mu_comp": "q"}, "not a spin-current component"),
        ({"i": "z"}, "not a spin-current component"),
        ({"definition": "textbook"}, "definition must be"),
    ],
)
def test_bad_requests(kwargs, message):
    with pytest.raises(ssw.ModelError, match=message):
        equilibrium_spin_current("samokhin_c4v", **kwargs)


def test_unexpanded_needs_T0_and_2x2():
    with pytest.raises(ssw.ModelError, match="T = 0 only"):
        equilibrium_spin_current("rashba_toy")
    with pytest.raises(ssw.ModelError, match="2×2"):
        equilibrium_spin_current("isolated_gamma5", expand=True)


def test_isolated_gamma5_G6():
    """Appendix G: τ_2 ⊗ σ_0 splits (G2) into h_R ± bσ_z; for μ ≥ 2|b| (from E(k=0)) J_s = (G6)."""
    J_s = equilibrium_spin_current("isolated_gamma5", T_=0)
    G6 = 2 * m**2 * alpha_0**3 / (3 * pi * hbar**5)
    for b_v, mu_v in [(sympy.Rational(1, 5), 1), (sympy.Rational(-1, 10), sympy.Rational(1, 5)), (0, 2)]:
        assert sympy.simplify(J_s.subs({b: b_v, mu: mu_v}) - G6) == 0
    below = J_s.subs({b: sympy.Rational(1, 5), mu: sympy.Rational(3, 10)})  # one band: depends on μ
    assert sympy.simplify(below - G6) != 0
    O = ssw.load_kernels("isolated_gamma5", kind="observables")
    model = ssw.models.isolated_gamma5()
    p = dict(hbar=1.0, m=1.2, alpha_0=0.1, b=0.2)
    for mu_v, T_v in [(0.5, 0.0), (0.3, 0.0), (0.5, 0.02)]:
        exact = microscopic_spin_current(model, mu_v, T_v, "x", "y", p).value
        assert abs(O.J_s(mu_v, T_v, **p) / exact - 1) < 1e-10


# -- generated observables.py -------------------------------------------------------
P_C4V = dict(hbar=1.0, m=1.0, epsilon_1=0.0, epsilon_2=1.0, a_tilde=0.3, b_tilde=0.2, b=0.1)


def test_generated_observables_equal_the_closed_form():
    O = ssw.load_kernels("samokhin_c4v", kind="observables")
    J_s = equilibrium_spin_current("samokhin_c4v")
    subs = {s: P_C4V[str(s)] for s in J_s.free_symbols if str(s) in P_C4V}
    for mu_v, T_v in [(0.2, 0.0), (0.2, 0.02), (0.05, 0.1)]:
        ref = equilibrium_spin_current("samokhin_c4v", T_=0) if T_v == 0 else J_s
        expected = float(sympy.N(ref.subs(subs).subs({mu: mu_v, T: T_v}), 20))
        assert abs(O.J_s(mu_v, T_v, **P_C4V) / expected - 1) < 1e-12
    lo = ssw.load_kernels("samokhin_c4v_lo", kind="observables")
    p = dict(hbar=1.0, m=1.0, epsilon_1=0.0, E_g=1.0, a_tilde=0.3, b_tilde=0.2, b=0.1)
    assert (
        abs(
            lo.J_s(0.2, **p) / float(EQ52.subs({mu: 0.2, E_g: 1, m: 1, hbar: 1, b: 0.1, a_tilde: 0.3, b_tilde: 0.2}))
            - 1
        )
        < 1e-12
    )
    assert (
        abs(lo.J_s_standard(0.2, **p) / float(EQ4.subs({E_g: 1, m: 1, hbar: 1, a_tilde: 0.3, b_tilde: 0.2})) - 1)
        < 1e-12
    )


@pytest.mark.parametrize(
    "name,params",
    [
        ("rashba_toy", dict(hbar=1.0, m=1.3, alpha_0=0.15)),
        ("samokhin_c4v", P_C4V),
    ],
)
def test_generated_finite_T_quadrature_equals_numeric_2d_integral(name, params):
    """The 1-D |k| quadrature (unexpanded, T > 0) against the 2-D numeric integral of the kernels."""
    from symbolic_sw.observables import effective_spin_current

    O = ssw.load_kernels(name, kind="observables")
    K = ssw.load_kernels(name)
    hbar_v = params["hbar"]
    sx = np.array([[0, 1], [1, 0]], dtype=complex)

    def J_std(kx, ky, h=1e-6):
        dH = (K.H(kx, ky + h, **params) - K.H(kx, ky - h, **params)) / (2 * h) / hbar_v
        return (dH @ sx + sx @ dH) / 2

    for mu_v, T_v in [(0.3, 0.02), (0.1, 0.05)]:
        num_std = effective_spin_current(lambda kx, ky: K.H(kx, ky, **params), J_std, mu_v, T_v, rtol=1e-8).value
        assert abs(O.J_s_standard(mu_v, T_v, **params) / num_std - 1) < 1e-6
        if name == "rashba_toy":  # nothing eliminated: J_s is the unexpanded integral too
            num = effective_spin_current(
                lambda kx, ky: K.H(kx, ky, **params), lambda kx, ky: K.J_x_y(kx, ky, **params), mu_v, T_v
            ).value
            assert abs(O.J_s(mu_v, T_v, **params) / num - 1) < 1e-8


def test_generated_observables_reject_bad_input():
    O = ssw.load_kernels("samokhin_c4v", kind="observables")
    with pytest.raises(ValueError, match="below the band bottom"):
        O.J_s(-0.1, 0.0, **P_C4V)
    with pytest.raises(ValueError, match=re.escape("T = -0.1 < 0")):
        O.J_s(0.1, -0.1, **P_C4V)
    with pytest.raises(TypeError, match="b_tilde"):
        O.J_s(0.1, **{k: v for k, v in P_C4V.items() if k != "b_tilde"})
    with pytest.raises(TypeError, match="must be a real number"):
        O.J_s_standard(0.1, **{**P_C4V, "b": "x"})


def test_cli_current(capsys):
    from symbolic_sw.cli import main

    assert (
        main(
            [
                "current",
                "samokhin_c4v",
                "--mu",
                "0.2",
                "--T",
                "0.01",
                "--param",
                "a_tilde=0.05",
                "--param",
                "b_tilde=0.03",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for label in ("closed form", "numeric k-integral", "exact microscopic (6×6)", "standard definition"):
        assert label in out
    ratios = [float(x) for x in __import__("re").findall(r"ratio to exact:\s+([\d.]+)", out)]
    assert len(ratios) == 4 and 0.8 < ratios[0] < 1.2 and ratios[2] == 1.0 and ratios[3] < 0.01
    for argv, message in [
        (["current", "samokhin_c4v", "--mu", "0.2", "--T", "-1"], "T = -1.0 < 0"),
        (["current", "samokhin_c4v", "--mu", "-0.2"], "below the band bottom"),
        (["current", "samokhin_c4v", "--mu", "0.2", "--param", "bb=1"], "unknown parameter"),
        (["current", "samokhin_a19", "--mu", "0.2"], "no observables.py"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert message in err[-1] and err[-1].startswith("symbolic-sw: error")


def test_readme_observables_example_runs():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = text.split("## Equilibrium spin currents", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {"ssw": ssw}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["J_s"].has(mu) and namespace["J_T"].has(sympy.polylog)
