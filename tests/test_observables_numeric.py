"""Numerical equilibrium spin currents (Eqs. 2-4, 14-15, 49-52; Appendices C, G).

Every expected value here is independent of the code under test: closed forms of
the paper (C6, C9, C10, G6, Eq. 4, Eq. 52), closed forms derived for this file
(the one-band regime of Eq. G2, the exact band bottom of Eq. 33), an energy-space
convolution done with mpmath, finite differences of eigenvectors, or the exact
6x6 model itself. μ is counted from the band bottom E(k=0) (ERRATA 3).
"""

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.observables import (
    band_bottom,
    band_terms,
    effective_spin_current,
    fermi,
    lambdify_matrix,
    microscopic_spin_current,
    spin_current_numeric,
)
from symbolic_sw.pauli import SIGMA
from symbolic_sw.symbols import hbar, k_x, k_y

PI = math.pi
SX, SY, SZ = (np.array(SIGMA[c], dtype=complex) for c in "xyz")


def rel(a, b):
    return abs(a - b) / abs(b)


# ----------------------------------------------------------------------------- Fermi function


def test_fermi_zero_temperature_is_a_step():
    f = fermi([-1.0, 0.3 - 1e-15, 0.3, 0.3 + 1e-15, 5.0], 0.3, 0.0)
    assert f.tolist() == [1.0, 1.0, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("T", [1e-4, 0.1, 3.0])
def test_fermi_finite_temperature(T):
    mu = 0.7
    x = np.linspace(-30, 30, 61)
    xi = mu + x * T
    f = fermi(xi, mu, T)
    exact = np.array([float(1 / (mpmath.exp((mpmath.mpf(e) - mpmath.mpf(mu)) / mpmath.mpf(T)) + 1)) for e in xi])
    assert np.allclose(f, exact, rtol=1e-13, atol=0)
    assert np.allclose(f + fermi(mu - x * T, mu, T), 1.0, rtol=0, atol=1e-15)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # huge arguments
        tails = fermi(mu + np.array([-1e6, 1e6]) * T, mu, T)
    assert tails[0] == 1.0 and 0.0 <= tails[1] < 1e-300


# ----------------------------------------------------------------------------- band bottom


def test_band_bottom_eq33_exact_and_effective():
    """E(k=0) of Eq. (33), of the microscopic and of the effective model.

    The Γ1↑ state couples only to the Γ5 combination at ε2 − b with strength √2 b̃,
    so E(0) = (ε1 + ε2 − b)/2 − sqrt(((E_g − b)/2)² + 2b̃²); the effective model's
    E(0) is ε1 − 2b̃²/(E_g − b) exactly (Eq. F7, ERRATA 3).
    """
    e1, e2, bb, bt = -0.3, 0.9, 0.15, 0.2
    v = dict(hbar=1.0, m=1.0, epsilon_1=e1, epsilon_2=e2, b=bb, a_tilde=0.25, b_tilde=bt)
    Eg = e2 - e1
    exact = (e1 + e2 - bb) / 2 - math.sqrt(((Eg - bb) / 2) ** 2 + 2 * bt**2)
    model = ssw.models.samokhin_c4v()
    assert abs(band_bottom(model, v) - exact) < 1e-14
    eff = ssw.effective(model, 2)
    second_order = e1 - 2 * bt**2 / (Eg - bb)
    assert abs(band_bottom(eff.H, v) - second_order) < 1e-14
    assert abs(exact - second_order) > 1e-4  # they differ at O(b̃⁴)


@pytest.mark.parametrize(
    "name,values,expected",
    [
        ("rashba_toy", dict(alpha_0=0.4, hbar=1.0, m=1.0), 0.0),
        ("isolated_gamma5", dict(alpha_0=0.4, b=-0.25, hbar=1.0, m=1.0), -0.25),
    ],
)
def test_band_bottom_single_orbital(name, values, expected):
    assert band_bottom(getattr(ssw.models, name)(), values) == pytest.approx(expected, abs=1e-15)


# ----------------------------------------------------------------------------- Appendix C

C_CASES = [  # alpha_0, mu (from E(0)), hbar, m
    (0.2, 0.5, 1.0, 1.0),
    (0.05, 0.3, 0.7, 1.3),
    (0.5, 2.0, 1.2, 0.8),
    (1.0, 0.1, 1.0, 2.0),  # strong SOC: k_F,- ≫ k_F,+
    (0.3, 1e-3, 1.0, 1.0),  # nearly empty
]


def c_closed_forms(a, mu, h, m):
    kF0sq = 2 * m * mu / h**2
    C6 = m**2 * a**3 / (3 * PI * h**5)
    C9 = -kF0sq * a / (4 * PI * h) - m**2 * a**3 / (6 * PI * h**5)
    C10 = kF0sq * a / (4 * PI * h) + m**2 * a**3 / (2 * PI * h**5)
    return C6, C9, C10


@pytest.mark.parametrize("a,mu,h,m", C_CASES)
def test_appendix_C_total_trivial_topological(a, mu, h, m):
    """(C6) total, (C9) trivial v_n S^nn, (C10) Berry-connection term of Eq. (14)."""
    model = ssw.models.rashba_toy()
    v = dict(alpha_0=a, hbar=h, m=m)
    C6, C9, C10 = c_closed_forms(a, mu, h, m)
    r = microscopic_spin_current(model, mu, 0.0, "x", "y", v, split=True)
    assert rel(r.value, C6) < 1e-8
    assert rel(r.trivial, C9) < 1e-8
    assert rel(r.topological, C10) < 1e-8
    assert abs(r.value - C6) <= r.error + 1e-13 * abs(C6)  # the estimate bounds the error
    assert r.identity_residual < 1e-12  # Eq. (14) pointwise
    r_yx = microscopic_spin_current(model, mu, 0.0, "y", "x", v)
    assert rel(r_yx.value, -C6) < 1e-8
    # components that vanish by symmetry (Eq. 50) do vanish
    for mu_c, i in [("x", "x"), ("y", "y"), ("z", "x"), ("z", "y")]:
        z = microscopic_spin_current(model, mu, 0.0, mu_c, i, v)
        assert abs(z.value) < 1e-10 * abs(C10)


def test_appendix_C_fermi_momenta_eq43():
    a, mu, h, m = 0.3, 0.4, 1.0, 1.0
    r = microscopic_spin_current(ssw.models.rashba_toy(), mu, 0.0, "x", "y", dict(alpha_0=a, hbar=h, m=m))
    kappa, k0 = m * a / h**2, math.sqrt(2 * m * mu) / h
    kF = sorted([math.sqrt(k0**2 + kappa**2) - kappa, math.sqrt(k0**2 + kappa**2) + kappa])
    assert np.allclose(r.fermi_momenta, kF, rtol=1e-14)


def test_appendix_C_pointwise_C7_C8():
    """Band by band at random k: (C7) trivial and (C8) topological parts of J_{x,y}, J_{y,x}."""
    a, h, m = 0.35, 0.9, 1.4
    v = dict(alpha_0=a, hbar=h, m=m)
    model = ssw.models.rashba_toy()
    H = lambdify_matrix(model.H, v)
    rng = np.random.default_rng(1)
    kx, ky = rng.normal(size=5), rng.normal(size=5)
    k = np.hypot(kx, ky)
    for mu_c, i, S in [("x", "y", SX), ("y", "x", SY)]:
        dH = lambdify_matrix(model.H.diff(k_y if i == "y" else k_x), v)
        t = band_terms(H(kx, ky), dH(kx, ky), S, hbar=h)
        for n, lam in [(0, -1), (1, +1)]:  # eigh order: ξ_- < ξ_+ for k > 0
            if mu_c == "x":
                tr = lam * h * ky**2 / (m * k) + a / h * ky**2 / k**2
                top = a / h * kx**2 / k**2
            else:
                tr = -lam * h * kx**2 / (m * k) - a / h * kx**2 / k**2
                top = -a / h * ky**2 / k**2
            assert np.allclose(t.trivial[:, n], tr, rtol=1e-12, atol=1e-14)
            assert np.allclose(t.topological[:, n], top, rtol=1e-12, atol=1e-14)
        assert np.max(np.abs(t.residual)) < 1e-13


def _W_C3(phi, w22):
    return np.array([[1, 1j * np.exp(-1j * phi)], [-1j * np.exp(1j * phi), w22]]) / math.sqrt(2)


def test_errata2_W_of_C3_and_the_band_operators():
    """ERRATA 2: (C3) needs W[2,2] = −1; then (C4) and the Berry connection follow."""
    a, h, m = 0.3, 1.0, 1.0
    kx, ky = 0.37, -0.81
    k, phi = math.hypot(kx, ky), math.atan2(ky, kx)
    H = lambdify_matrix(ssw.models.rashba_toy().H, dict(alpha_0=a, hbar=h, m=m))(kx, ky)
    xi = np.array([h**2 * k**2 / (2 * m) + a * k, h**2 * k**2 / (2 * m) - a * k])  # λ = +, −
    printed = _W_C3(phi, +1)
    assert np.linalg.norm(printed.conj().T @ printed - np.eye(2)) > 0.5
    assert np.linalg.norm(printed.conj().T @ H @ printed - np.diag(xi)) > 0.1
    W = _W_C3(phi, -1)
    assert np.allclose(W.conj().T @ W, np.eye(2), atol=1e-15)
    assert np.allclose(W.conj().T @ H @ W, np.diag(xi), atol=1e-14)
    e = np.exp(1j * phi)
    C4 = {
        "x": np.array([[ky, -kx / e], [-kx * e, -ky]]) / k,
        "y": np.array([[-kx, -ky / e], [-ky * e, kx]]) / k,
        "z": np.array([[0, 1j / e], [-1j * e, 0]]),
    }
    for c, S in zip("xyz", (SX, SY, SZ)):
        assert np.allclose(W.conj().T @ S @ W, C4[c], atol=1e-14)
    # Berry connection Ω = −i W⁻¹ ∂W (text under Eq. 12) against the printed matrix
    d = 1e-6
    for i, grad_phi in [(0, -ky / k**2), (1, kx / k**2)]:
        step = np.array([d if i == 0 else 0.0, d if i == 1 else 0.0])
        Wp = _W_C3(math.atan2(ky + step[1], kx + step[0]), -1)
        Wm = _W_C3(math.atan2(ky - step[1], kx - step[0]), -1)
        Omega = -1j * W.conj().T @ (Wp - Wm) / (2 * d)
        printed_Omega = 0.5 * np.array([[1, -1j / e], [1j * e, -1]]) * grad_phi
        assert np.allclose(Omega, printed_Omega, atol=1e-8)


# ----------------------------------------------------------------------------- Appendix G


def g_one_band(mu_p, a, b, h=1.0, m=1.0):
    """⟨j_{x,y}⟩ of Eq. (G2) at T = 0 when only ξ_- is occupied (−|b| <= μ <= |b|).

    μ is counted from ε2 as in Appendix G. Derived here: with R = sqrt(α0²k² + b²)
    at the Fermi momentum, R = κ + sqrt(κ² + b² + 2κμ), κ = mα0²/ħ².
    """
    kap = m * a * a / h**2
    R = kap + math.sqrt(kap * kap + b * b + 2 * kap * mu_p)
    return (-(h / (m * a**3)) * (R**3 / 3 - b * b * R + 2 * abs(b) ** 3 / 3) + (R * R - b * b) / (h * a)) / (2 * PI)


G_CASES = [  # alpha_0, b, mu counted from ε2 (> |b|: both bands cross, as (G6) assumes)
    (0.3, 0.0, 0.5),
    (0.3, 0.05, 0.2),
    (0.3, 0.2, 0.21),
    (0.3, -0.2, 1.5),
    (0.8, 0.4, 0.9),
    (0.1, 0.3, 0.6),
]


@pytest.mark.parametrize("a,b,mu_p", G_CASES)
def test_appendix_G6_independent_of_b_and_mu(a, b, mu_p):
    G6 = 2 * a**3 / (3 * PI)
    v = dict(alpha_0=a, b=b, hbar=1.0, m=1.0)
    r = microscopic_spin_current(ssw.models.isolated_gamma5(), mu_p + abs(b), 0.0, "x", "y", v, split=True)
    assert rel(r.value, G6) < 1e-10
    assert r.identity_residual < 1e-12  # Eq. (14) with doubly degenerate bands
    assert rel(r.trivial + r.topological, G6) < 1e-10


@pytest.mark.parametrize("a,b,mu_p", [(0.3, 0.2, -0.15), (0.3, 0.2, 0.1), (0.5, -0.3, 0.25)])
def test_appendix_G_one_band_regime(a, b, mu_p):
    """Below μ = |b| only ξ_- is filled and (G6) does not apply."""
    G6 = 2 * a**3 / (3 * PI)
    r = microscopic_spin_current(
        ssw.models.isolated_gamma5(), mu_p + abs(b), 0.0, "x", "y", dict(alpha_0=a, b=b, hbar=1.0, m=1.0)
    )
    assert rel(r.value, g_one_band(mu_p, a, b)) < 1e-10
    assert rel(r.value, G6) > 0.05


def test_finite_temperature_matches_energy_convolution():
    """⟨j⟩(T) = ∫dε (−∂f/∂ε) ⟨j⟩(T=0, μ=ε).

    For Eq. (G2) with |b| > mα0²/ħ² the band bottom is the minimum, so ⟨j⟩(T=0)
    is 0, g_one_band, then (G6).
    """
    a, b = 0.3, 0.2
    G6 = 2 * a**3 / (3 * PI)
    for mu, T in [(0.35, 0.05), (-0.05, 0.05), (0.1, 0.2), (1.0, 0.01)]:
        r = microscopic_spin_current(
            ssw.models.isolated_gamma5(), mu, T, "x", "y", dict(alpha_0=a, b=b, hbar=1.0, m=1.0)
        )

        def df(e):
            return 1 / (4 * T * mpmath.cosh((e - mu) / (2 * T)) ** 2)

        with mpmath.workdps(30):  # not mpmath.mp.dps = 30: that leaked into every later test
            ref = mpmath.quad(lambda e: df(e) * g_one_band(float(e) - abs(b), a, b), [0, 2 * abs(b)]) + G6 / (
                1 + mpmath.exp((2 * abs(b) - mu) / T)
            )
        assert rel(r.value, float(ref)) < 1e-9, (mu, T)
        assert r.error < 1e-9 * abs(r.value)


# ----------------------------------------------------------------------------- Eq. (4)

m_star = sympy.Symbol("m_star", positive=True)
alpha_R = sympy.Symbol("alpha_R", real=True)


def rashba_standard():
    """Eq. (1) with Rashba SOC and the standard definition of J, Eq. (2)."""
    H = hbar**2 * (k_x**2 + k_y**2) / (2 * m_star) * sympy.eye(2) + alpha_R * (
        k_y * sympy.Matrix(SIGMA["x"]) - k_x * sympy.Matrix(SIGMA["y"])
    )
    J = {}
    for mu_c, i in [("x", "y"), ("y", "x")]:
        dH = H.diff(k_y if i == "y" else k_x)
        s = sympy.Matrix(SIGMA[mu_c])
        J[mu_c, i] = (dH * s + s * dH) / (2 * hbar)
    return H, J


@pytest.mark.parametrize(
    "aR,ms,h,mu", [(0.1, 1.0, 1.0, 0.4), (0.3, 0.5, 1.0, 2.0), (0.05, 2.0, 0.8, 0.05), (0.6, 1.5, 1.1, 0.01)]
)
def test_eq4_standard_definition(aR, ms, h, mu):
    H, J = rashba_standard()
    v = {"alpha_R": aR, "m_star": ms, "hbar": h}
    Js = ms**2 * aR**3 / (3 * PI * h**5)
    for key, sign in [(("x", "y"), 1), (("y", "x"), -1)]:
        r = effective_spin_current(H, J[key], mu, 0.0, v)
        assert rel(r.value, sign * Js) < 1e-8
    # at T > 0 with μ ≫ T it is still Eq. (4) (J(T=0) is flat in μ > 0) ...
    cold = effective_spin_current(H, J["x", "y"], mu, mu / 45, v)
    assert rel(cold.value, Js) < 1e-8
    # ... but not when T reaches below the band bottom E(0) − m*α_R²/2ħ²
    hot = effective_spin_current(H, J["x", "y"], mu, mu + ms * aR**2 / h**2, v)
    assert rel(hot.value, Js) > 1e-3


def test_anisotropic_integrand_and_angular_error_estimate():
    """Generic callables; ∫_{k<k_F} k_x⁴ d²k/(2π)² = k_F⁶/(32π).

    With 4 directions the cos 4φ harmonic aliases, and the error estimate must say so.
    """

    def H(kx, ky):
        return (0.5 * (kx**2 + ky**2))[..., None, None] + np.zeros((1, 1))

    def J(kx, _ky):
        return (kx**4)[..., None, None] + 0j

    mu = 0.8
    exact = (2 * mu) ** 3 / (32 * PI)
    good = spin_current_numeric(H, J, mu, n_phi=16)
    assert rel(good.value, exact) < 1e-12
    coarse = spin_current_numeric(H, J, mu, n_phi=4)
    assert rel(coarse.value, exact) > 0.1
    assert abs(coarse.value - exact) <= coarse.error


# ----------------------------------------------------------------------------- Eq. (14)


def test_berry_connection_against_finite_differences_eq33():
    """Ω_nm = −i⟨n|∂m⟩ (text under Eq. 12) from parallel-transported eigenvectors.

    It equals −i(U†∂H U)_nm/(ξ_m − ξ_n); Eq. (14) then holds, and fails with the
    opposite sign of Ω.
    """
    v = dict(hbar=1.0, m=1.0, epsilon_1=0.0, epsilon_2=1.0, b=0.1, a_tilde=0.3, b_tilde=0.15)
    model = ssw.models.samokhin_c4v()
    H = lambdify_matrix(model.H, v)
    kx, ky, d = 0.41, 0.23, 1e-5
    for mu_c in "xyz":
        S = np.array(ssw.operators.spin(model, mu_c).matrix, dtype=complex)
        for i, sym in [(0, k_x), (1, k_y)]:
            dH = lambdify_matrix(model.H.diff(sym), v)(kx, ky)
            t = band_terms(H(kx, ky), dH, S, hbar=1.0)
            step = np.array([d, 0.0]) if i == 0 else np.array([0.0, d])
            _, Up = np.linalg.eigh(H(kx + step[0], ky + step[1]))
            _, Um = np.linalg.eigh(H(kx - step[0], ky - step[1]))
            for Ux in (Up, Um):  # gauge: ⟨m(k)|m(k ± δ)⟩ real and positive
                ph = np.einsum("an,an->n", t.U.conj(), Ux)
                Ux *= (np.abs(ph) / ph)[None, :]
            fd = -1j * t.U.conj().T @ (Up - Um) / (2 * d)
            off = ~np.eye(6, dtype=bool)
            assert np.allclose(t.Omega[off], fd[off], rtol=1e-6, atol=1e-7)
            assert np.max(np.abs(t.residual)) < 1e-13
            # with Ω → −Ω the second term flips sign and Eq. (14) fails
            if np.max(np.abs(t.topological)) > 1e-3:
                assert np.max(np.abs(t.J_diag - t.trivial + t.topological)) > 1e-3


# ----------------------------------------------------------------------------- Eq. (33) vs (52)

E_G, B_SOC, MU33, A0, BT0 = 1.0, 0.1, 0.2, 0.3, 0.1
SCALES = (0.25, 0.125, 0.0625)


def eq33_values(s):
    return dict(hbar=1.0, m=1.0, epsilon_1=0.0, epsilon_2=E_G, b=B_SOC, a_tilde=A0 * s, b_tilde=BT0 * s)


def eq52(s, renormalised=True):
    """(μ/E_g)² m b α_R/(πħ³), α_R = 2ã b̃'/E_g with b̃' = b̃(1 + b/E_g) (ERRATA 4)."""
    bt = BT0 * s * ((1 + B_SOC / E_G) if renormalised else 1.0)
    return (MU33 / E_G) ** 2 * B_SOC / PI * 2 * A0 * s * bt / E_G


@pytest.fixture(scope="module")
def eq33_table():
    model = ssw.models.samokhin_c4v()
    eff = ssw.effective(model, 2)
    rows = []
    for s in SCALES:
        v = eq33_values(s)
        exact = microscopic_spin_current(model, MU33, 0.0, "x", "y", v)
        rows.append(
            dict(
                s=s,
                exact=exact,
                exact_yx=microscopic_spin_current(model, MU33, 0.0, "y", "x", v),
                eff=effective_spin_current(eff.H, eff.J["x", "y"], MU33, 0.0, v),
                std=effective_spin_current(eff.H, eff.J_standard["x", "y"], MU33, 0.0, v),
                from_eps1=microscopic_spin_current(model, MU33, 0.0, "x", "y", v, energy_zero=0.0),
            )
        )
    return rows


def test_eq33_effective_exact_in_b_converges_as_s_squared(eq33_table):
    """ERRATA 5: the order-2 operators (exact in b) reproduce the exact 6x6 current to O(s²).

    The relative error is O(s²) (absolute O(s⁴)) as ã, b̃ ∝ s → 0.
    """
    d = [abs(r["eff"].value - r["exact"].value) / abs(r["exact"].value) for r in eq33_table]
    slopes = [math.log(d[j] / d[j + 1]) / math.log(2) for j in range(len(d) - 1)]
    assert all(1.9 < p < 2.1 for p in slopes), slopes
    assert d[-1] < 5e-3
    for r in eq33_table:
        assert rel(r["exact_yx"].value, -r["exact"].value) < 1e-10  # Eq. (50)
        assert r["exact"].error < 1e-8 * abs(r["exact"].value)


def test_eq33_against_eq52_with_renormalised_b_tilde(eq33_table):
    """Eq. (52) is leading order in b/E_g (ERRATA 5): the limits of the exact current.

    With b̃' (ERRATA 4) the exact current tends to Eq. (52)/(1 − b²/E_g²)², with
    bare b̃ to Eq. (52)·E_g³/((E_g − b)²(E_g + b)).
    """
    s1, s2 = eq33_table[-2:]

    def limit(f):  # Richardson: ratio(s) = L + c s²
        r1 = s1["exact"].value / f(s1["s"])
        r2 = s2["exact"].value / f(s2["s"])
        return (4 * r2 - r1) / 3

    L_renorm = limit(eq52)
    L_bare = limit(lambda s: eq52(s, renormalised=False))
    x = B_SOC / E_G
    assert abs(L_renorm - 1 / (1 - x * x) ** 2) < 2e-4
    assert abs(L_bare - 1 / ((1 - x) ** 2 * (1 + x))) < 2e-4
    assert abs(L_renorm - 1) < 3 * x * x and abs(L_bare - 1) > 0.8 * x


def test_eq33_standard_definition_is_eq4_and_negligible(eq33_table):
    """Eq. (2) applied to H_eff gives Eq. (4) with m*, α_R of Appendix F, and is negligible.

    It is O(s⁶), not the O(s²) microscopic current.
    """
    for r in eq33_table:
        s = r["s"]
        a, bt = A0 * s, BT0 * s
        m_eff = 1 / (1 - 2 * E_G * a * a / (E_G**2 - B_SOC**2))
        aR = 2 * a * bt / (E_G - B_SOC)
        J4 = m_eff**2 * aR**3 / (3 * PI)
        assert abs(r["std"].value - J4) <= 2 * r["std"].error + 1e-9 * J4
        assert abs(r["std"].value) < 2e-3 * abs(r["exact"].value)


def test_errata3_chemical_potential_from_band_bottom(eq33_table):
    """Counting μ from ε1 instead of E(0) shifts the current by ≈ 4b̃²/((E_g − b)μ)."""
    ratios = []
    for r in eq33_table:
        shift = r["from_eps1"].value / r["exact"].value - 1
        ratios.append(shift / (4 * (BT0 * r["s"]) ** 2 / ((E_G - B_SOC) * MU33)))
    assert abs(ratios[-1] - 1) < 0.01
    assert abs(ratios[-1] - 1) < abs(ratios[0] - 1)


# ----------------------------------------------------------------------------- bad input

RASHBA_V = dict(alpha_0=0.2, hbar=1.0, m=1.0)


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: microscopic_spin_current(ssw.models.rashba_toy(), -0.1, 0.0, "x", "y", RASHBA_V),
            "below the band bottom",
        ),
        (lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, -1.0, "x", "y", RASHBA_V), "negative"),
        (lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, 0.0, "w", "y", RASHBA_V), "spin component"),
        (lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, 0.0, "x", "z", RASHBA_V), "direction"),
        (
            lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, 0.0, "x", "y", dict(hbar=1.0, m=1.0)),
            "missing value.*alpha_0",
        ),
        (
            lambda: microscopic_spin_current(
                ssw.models.samokhin_c4v(), 0.3, 0.0, "x", "y", dict(eq33_values(1.0), E_g=1.0)
            ),
            "unknown parameter.*E_g",
        ),
        (lambda: microscopic_spin_current(ssw.models.rashba_toy(), float("nan"), 0.0, "x", "y", RASHBA_V), "finite"),
        (
            lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, 0.0, "x", "y", dict(RASHBA_V, m="heavy")),
            "real number",
        ),
        (lambda: fermi(0.0, 0.0, -0.1), "negative"),
        (
            lambda: effective_spin_current(
                rashba_standard()[0], rashba_standard()[1]["x", "y"], 0.3, 0.0, {"alpha_R": 0.1, "hbar": 1.0}
            ),
            "missing value.*m_star",
        ),
        (lambda: spin_current_numeric(lambda _kx, _ky: np.zeros((2, 2)), lambda _kx, _ky: 0, 0.1), "shape"),
        (
            lambda: spin_current_numeric(
                lambda kx, ky: (kx**2 + ky**2)[..., None, None] + 0j,
                lambda kx, _ky: np.zeros((*np.shape(kx), 2, 2)),
                0.1,
            ),
            "J_func",
        ),
        (lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, 0.0, "x", "y", RASHBA_V, n_phi=7), "n_phi"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_finite_integrand_is_reported():
    with pytest.raises(ValueError, match="not finite"), np.errstate(all="ignore"):
        spin_current_numeric(
            lambda kx, ky: (kx**2 + ky**2)[..., None, None] + 0j,
            lambda kx, _ky: (1 / (kx - kx))[..., None, None] + 0j,
            0.5,
        )


def test_user_model_without_hbar_in_H():
    """ħ enters only through J (Eq. 8): it must still be asked for and used."""
    a = sympy.Symbol("alpha_0", real=True)
    H = (k_x**2 + k_y**2) / 2 * sympy.eye(2) + a * (k_y * sympy.Matrix(SIGMA["x"]) - k_x * sympy.Matrix(SIGMA["y"]))
    model = ssw.Model(H, [2])
    with pytest.raises(ValueError, match=r"missing value.*hbar"):
        microscopic_spin_current(model, 0.4, 0.0, "x", "y", {"alpha_0": 0.2})
    r = microscopic_spin_current(model, 0.4, 0.0, "x", "y", {"alpha_0": 0.2, "hbar": 2.0})
    assert rel(r.value, 0.2**3 / (3 * PI) / 2.0) < 1e-10  # (C6) with ħ = m = 1, J ∝ 1/ħ


def test_unbounded_occupation_needs_k_max():
    """A band that bends down forever has no Fermi surface to stop at."""

    def H(kx, ky):
        return (-(kx**2 + ky**2))[..., None, None] + 0j

    with pytest.raises(ValueError, match="k_max"):
        spin_current_numeric(H, H, 0.1, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = spin_current_numeric(H, lambda kx, _ky: np.ones((*np.shape(kx), 1, 1)), 0.0, 0.0, k_max=2.0)
    assert rel(r.value, 4 * PI / (4 * PI**2)) < 1e-12  # area πk²/(2π)², k = 2
