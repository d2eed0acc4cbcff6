"""Order 2 reproduces Appendix F exactly (with ERRATA item 1) and Sec. V at leading order."""

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.pauli import SIGMA
from symbolic_sw.symbols import (
    E_g,
    a_tilde,
    b,
    b_tilde,
    epsilon_1,
    epsilon_2,
    hbar,
    k_x,
    k_y,
    m,
)

s0, sx, sy, sz = (SIGMA[c] for c in "0xyz")
k = {"x": k_x, "y": k_y}
GAP = {E_g: epsilon_2 - epsilon_1}


def delta(a, c):
    return 1 if a == c else 0


def is_zero(expr):
    """Exact zero test for a rational function: the numerator of ``together`` expands to 0."""
    return sympy.expand(sympy.numer(sympy.together(sympy.expand(expr)))) == 0


def assert_equal(actual, expected):
    diff = sympy.Matrix(actual) - sympy.Matrix(expected).subs(GAP)
    assert all(is_zero(e) for e in diff), diff


# -- Appendix F, exact in b ----------------------------------------------------
alpha_R = 2 * a_tilde * b_tilde / (E_g - b)  # (F9)
inv_m_star = (1 - 2 * m * E_g * a_tilde**2 / (hbar**2 * (E_g**2 - b**2))) / m
ksq = k_x**2 + k_y**2


def F6():
    eps = epsilon_1 - 2 * b_tilde**2 / (E_g - b) + hbar**2 * ksq * inv_m_star / 2  # (F7)
    return eps * s0 + alpha_R * (k_y * sx - k_x * sy)  # (F6), (F8)


def F10(mu, i):
    """Eq. (F10) with ERRATA item 1: σ̂_μ (printed σ̂_x) in the first term."""
    sig = {"x": sx, "y": sy}[mu]
    bracket = (
        1
        - 2 * m * E_g * a_tilde**2 / (hbar**2 * (E_g**2 - b**2))
        - 2 * b_tilde**2 / (E_g - b) ** 2
        - 2 * b**2 * a_tilde**2 * ksq / (E_g**2 - b**2) ** 2
    )
    dmx, dmy, dix, diy = delta(mu, "x"), delta(mu, "y"), delta(i, "x"), delta(i, "y")
    return (
        bracket * hbar * k[i] / m * sig
        - 2 * b * a_tilde**2 / (hbar * (E_g**2 - b**2)) * (dix * k_y - diy * k_x) * (dmx * sy - dmy * sx)
        + 2
        * a_tilde
        * b_tilde
        / (hbar * (E_g - b))
        * (dmx * diy - dmy * dix + 2 * b / (E_g**2 - b**2) * hbar**2 * k[i] / m * (dmx * k_y - dmy * k_x))
        * s0
    )


def F11(i):
    return (
        (1 - 2 * m * E_g * a_tilde**2 / (hbar**2 * (E_g**2 - b**2)) - 4 * b_tilde**2 / (E_g - b) ** 2)
        * hbar
        * k[i]
        / m
        * sz
    )


def S_F(mu):
    if mu == "z":
        return (1 - 4 * b_tilde**2 / (E_g - b) ** 2) * sz
    sig = {"x": sx, "y": sy}[mu]
    dmx, dmy = delta(mu, "x"), delta(mu, "y")
    return (
        1 - 2 * b_tilde**2 / (E_g - b) ** 2 - 2 * b**2 * a_tilde**2 * ksq / (E_g**2 - b**2) ** 2
    ) * sig + 4 * b * a_tilde * b_tilde / ((E_g - b) * (E_g**2 - b**2)) * (dmx * k_y - dmy * k_x) * s0


def T_F(mu):
    if mu == "z":
        return 2 * alpha_R / hbar * (k_x * sx + k_y * sy)
    return -2 * alpha_R / hbar * k[mu] * sz


def test_H_F6_F7(effective_of):
    assert_equal(effective_of("c4v", 2).H, F6())


@pytest.mark.parametrize("mu,i", [(mu, i) for mu in "xy" for i in "xy"])
def test_J_F10_with_erratum(effective_of, mu, i):
    assert_equal(effective_of("c4v", 2).J[mu, i], F10(mu, i))


def test_F10_as_printed_is_wrong(effective_of):
    """ERRATA item 1: with σ̂_x in the first term for μ = y the formula is off by O(1)."""
    corrected = F10("y", "x")
    bracket = sympy.cancel((sy * corrected).trace() / 2)
    printed = corrected - bracket * sy + bracket * sx
    diff = effective_of("c4v", 2).J["y", "x"] - printed.subs(GAP)
    assert not all(is_zero(e) for e in diff)


@pytest.mark.parametrize("i", "xy")
def test_J_z_F11(effective_of, i):
    assert_equal(effective_of("c4v", 2).J["z", i], F11(i))


@pytest.mark.parametrize("mu", "xyz")
def test_S_eff(effective_of, mu):
    assert_equal(effective_of("c4v", 2).S[mu], S_F(mu))


@pytest.mark.parametrize("mu", "xyz")
def test_T_eff(effective_of, mu):
    assert_equal(effective_of("c4v", 2).T[mu], T_F(mu))


@pytest.mark.parametrize("mu,i", [(mu, i) for mu in "xyz" for i in "xy"])
def test_delta_J_is_J_minus_standard(effective_of, mu, i):
    """Eq. (27): J = ½{(1/ħ)∂H/∂k_i, σ_μ} + δJ, with δJ returned separately."""
    eff = effective_of("c4v", 2)
    dH = eff.H.diff(k[i]) / hbar
    standard = (dH * SIGMA[mu] + SIGMA[mu] * dH) / 2
    assert_equal(eff.dJ[mu, i], eff.J[mu, i] - standard)
    assert_equal(eff.J_standard[mu, i], standard)


# -- Sec. V: leading order in b/E_g (Eqs. 37-41, 48), ERRATA items 3 and 4 ------
LO = {epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde / (1 + b / E_g)}  # b_tilde then means b̃'
alpha_lo = 2 * a_tilde * b_tilde / E_g  # (41)
inv_m_lo = (1 - 2 * m * a_tilde**2 / (hbar**2 * E_g)) / m  # (39)


def lo(M):
    return ssw.leading_order(M, small=b, substitutions=LO, order=1, momenta=(k_x, k_y))


def assert_equal_lo(actual, expected):
    diff = sympy.Matrix(actual) - sympy.Matrix(expected)
    assert all(is_zero(e) for e in diff), diff


def test_H_eqs_37_to_41(effective_of):
    H = lo(effective_of("c4v", 2).H)
    band_bottom = H.subs({k_x: 0, k_y: 0})  # ERRATA item 3: energies from here
    assert_equal_lo(band_bottom, (epsilon_1 - 2 * b_tilde**2 / E_g * (1 - b / E_g)) * s0)
    expected = hbar**2 * ksq * inv_m_lo / 2 * s0 + alpha_lo * (k_y * sx - k_x * sy)
    assert_equal_lo(H - band_bottom, expected)


def eq48(mu, i):
    dix, diy = delta(i, "x"), delta(i, "y")
    if mu == "x":
        return (
            hbar * k[i] * inv_m_lo * sx
            + alpha_lo / hbar * diy * s0
            - 2 * b_tilde**2 / E_g**2 * hbar * k[i] / m * sx
            - 2 * b * a_tilde**2 / (hbar * E_g**2) * (dix * k_y - diy * k_x) * sy
            + 2 * b * alpha_lo / E_g**2 * hbar * k[i] * k_y / m * s0
        )
    if mu == "y":
        return (
            hbar * k[i] * inv_m_lo * sy
            - alpha_lo / hbar * dix * s0
            - 2 * b_tilde**2 / E_g**2 * hbar * k[i] / m * sy
            + 2 * b * a_tilde**2 / (hbar * E_g**2) * (dix * k_y - diy * k_x) * sx
            - 2 * b * alpha_lo / E_g**2 * hbar * k[i] * k_x / m * s0
        )
    return hbar * k[i] * inv_m_lo * sz - 4 * b_tilde**2 / E_g**2 * hbar * k[i] / m * sz


@pytest.mark.parametrize("mu,i", [(mu, i) for mu in "xyz" for i in "xy"])
def test_J_eq_48(effective_of, mu, i):
    assert_equal_lo(lo(effective_of("c4v", 2).J[mu, i]), eq48(mu, i))


def test_bare_b_tilde_misses_eq_48(effective_of):
    """ERRATA item 4: read with the bare b̃ the leading-order J carries O(b/E_g) errors."""
    bare = ssw.leading_order(
        effective_of("c4v", 2).J["x", "y"], small=b, substitutions={epsilon_2: epsilon_1 + E_g}, momenta=(k_x, k_y)
    )
    assert not all(is_zero(e) for e in bare - eq48("x", "y"))
