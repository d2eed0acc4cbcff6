"""Spin-Hall conductivity (Kubo) from the full model and from consistently transformed operators (issue 17).

Expected values are independent of the code under test: the universal Rashba
value ±1/(4πħ) and its one-band continuation, a 6x6 Kubo sum of Eq. (33) typed in
here with numpy and summed on a plain Cartesian k grid, the same sum from the
closed forms of ``ssw.effective``, and the exact direct rotation
``U = sqrt((2P−1)(2P0−1))``. The convergence tables are printed (``pytest -s``).
"""

import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw import operators as ops
from symbolic_sw.derivation import load_derivation
from symbolic_sw.observables import spin_hall_conductivity
from symbolic_sw.observables.spin_hall import METHODS
from symbolic_sw.pauli import SIGMA
from symbolic_sw.symbols import k_x, k_y
from symbolic_sw.transformation.blocks import NumericBlocks, numeric_matrix, numeric_values

PI = math.pi
S0, SX, SY, SZ = (np.array(SIGMA[c], dtype=complex) for c in "0xyz")
C4V = ssw.models.samokhin_c4v()


def c4v_values(s):
    """Eq. (33) at ħ = m = 1, E_g = 1, b = 0.1, ã = 0.3 s, b̃ = 0.1 s."""
    return {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "b": 0.1, "a_tilde": 0.3 * s, "b_tilde": 0.1 * s}


# ----------------------------------------------------------------------------- Rashba (Eq. C1)

RASHBA = [  # alpha_0, hbar, m, mu: both subbands occupied (mu > 0 from E(k=0))
    (0.1, 1.0, 1.0, 0.3),
    (0.3, 1.0, 2.0, 0.05),
    (0.05, 0.7, 0.5, 1.2),
    (1.0, 2.0, 3.0, 0.01),
]


@pytest.mark.parametrize("alpha, hbar, m, mu", RASHBA)
@pytest.mark.parametrize("method", METHODS)
def test_rashba_universal_value(method, alpha, hbar, m, mu):
    values = {"alpha_0": alpha, "hbar": hbar, "m": m}
    xy = spin_hall_conductivity("rashba_toy", mu, 0.0, "z", "x", "y", method=method, values=values)
    yx = spin_hall_conductivity("rashba_toy", mu, 0.0, "z", "y", "x", method=method, values=values)
    unit = 1 / (4 * PI * hbar)
    assert abs(xy.total / unit + 1) < 1e-8 and abs(yx.total / unit - 1) < 1e-8
    assert xy.remote == 0.0 and xy.total == xy.intra  # one block: nothing is remote
    assert 0 < xy.error < 1e-8 * unit


@pytest.mark.parametrize(
    "spin, current, field",
    [("x", "x", "y"), ("x", "y", "x"), ("y", "x", "y"), ("z", "x", "x"), ("z", "y", "y"), ("x", "x", "x")],
)
def test_rashba_other_components_vanish(spin, current, field):
    values = {"alpha_0": 0.2, "hbar": 1.0, "m": 1.0}
    r = spin_hall_conductivity(
        "rashba_toy", 0.3, spin=spin, current=current, field=field, method="exact", values=values
    )
    assert abs(r.total) < 1e-12 / (4 * PI)


@pytest.mark.parametrize("mu_over_min", [-0.2, -0.5, -0.9])
def test_rashba_lower_band_only(mu_over_min):
    """Below E(k=0) only the lower band is occupied, in an annulus: σ^z_xy = −sqrt(1 + 2ħ²μ/(mα²))/(4πħ).

    The Kubo integrand of Eq. (C1) is constant in |k| where f_− ≠ f_+, so σ is the
    universal value times (k_2 − k_1)/(2mα/ħ²), with k_1,2 the two Fermi momenta of
    the lower band; both are breakpoints of the radial rule (two crossings of one band).
    """
    alpha, hbar, m = 0.3, 1.0, 1.5
    mu = mu_over_min * m * alpha**2 / (2 * hbar**2)  # a fraction of the depth of the band minimum
    r = spin_hall_conductivity("rashba_toy", mu, method="exact", values={"alpha_0": alpha, "hbar": hbar, "m": m})
    expected = -math.sqrt(1 + 2 * hbar**2 * mu / (m * alpha**2)) / (4 * PI * hbar)
    assert abs(r.total / expected - 1) < 1e-8


def test_rashba_finite_temperature_and_empty_bands():
    values = {"alpha_0": 0.1, "hbar": 1.0, "m": 1.0}
    warm = spin_hall_conductivity("rashba_toy", 0.3, T=0.01, method="exact", values=values)
    assert abs(warm.total * 4 * PI + 1) < 1e-8  # thermal corrections ~ e^{-30}
    empty = spin_hall_conductivity("rashba_toy", -1.0, method="exact", values=values)  # below the band minimum
    assert (empty.total, empty.error) == (0.0, 0.0)


# ----------------------------------------------------------------------------- an independent 6x6 Kubo sum


def eq33_numpy(kx, ky, s):
    """H, ∂H/∂k_x, ∂H/∂k_y of Eq. (33) typed in from the paper (ħ = m = 1, ε1 = 0, ε2 = 1, b = 0.1)."""
    a, bt, b = 0.3 * s, 0.1 * s, 0.1
    K = kx.size
    kin = (kx**2 + ky**2)[:, None, None] / 2
    one = np.ones(K)[:, None, None]
    H = np.zeros((K, 6, 6), complex)
    h12 = -1j * a * kx[:, None, None] * S0 - 1j * bt * SY * one
    h13 = -1j * a * ky[:, None, None] * S0 + 1j * bt * SX * one
    H[:, 0:2, 0:2] = kin * S0
    H[:, 2:4, 2:4] = (1 + kin) * S0
    H[:, 4:6, 4:6] = (1 + kin) * S0
    H[:, 0:2, 2:4], H[:, 0:2, 4:6] = h12, h13
    H[:, 2:4, 4:6] = -1j * b * SZ * one
    H = H + np.conj(np.swapaxes(np.triu(np.ones((6, 6)), 1) * H, -1, -2))
    dx, dy = np.zeros((K, 6, 6), complex), np.zeros((K, 6, 6), complex)
    dx[:] = np.diag(np.ones(6)) * kx[:, None, None]
    dy[:] = np.diag(np.ones(6)) * ky[:, None, None]
    for d, block in ((dx, slice(2, 4)), (dy, slice(4, 6))):
        d[:, 0:2, block] = -1j * a * S0
        d[:, block, 0:2] = 1j * a * S0
    return H, dx, dy


def grid_kubo(operators, mu, T, L, h, n_A, hbar=1.0):
    """σ = −ħ Σ_{n≠m} ∫ d²k/(2π)² (f_n − f_m) Im[J_nm v_mn]/(E_n − E_m)² on a plain Cartesian grid.

    ``operators(kx, ky) -> (H, J, v)`` stacks; the ``n_A`` lowest bands are the
    essential ones; μ is counted from the lowest eigenvalue at k = 0.
    Returns (total, intra, remote).
    """
    E0 = np.linalg.eigvalsh(operators(np.zeros(1), np.zeros(1))[0])[0, 0]
    axis = np.arange(-L + h / 2, L, h)  # never k = 0 exactly
    KX, KY = (g.ravel() for g in np.meshgrid(axis, axis))
    out = np.zeros(3)
    for s in range(0, KX.size, 20000):
        H, J, v = operators(KX[s : s + 20000], KY[s : s + 20000])
        E, U = np.linalg.eigh(H)
        Ud = np.conj(np.swapaxes(U, -1, -2))
        Jb, vb = Ud @ J @ U, Ud @ v @ U
        f = 1 / (np.exp((E - E0 - mu) / T) + 1)
        dE = E[:, :, None] - E[:, None, :]
        off = ~np.eye(E.shape[1], dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(off, (f[:, :, None] - f[:, None, :]) * (Jb * np.swapaxes(vb, -1, -2)).imag / dE**2, 0)
        A = np.arange(E.shape[1]) < n_A
        both = A[:, None] & A[None, :]
        out += [term.sum(), term[:, both].sum(), term[:, ~both].sum()]
    return -hbar * out * h**2 / (2 * PI) ** 2


def kubo_operators(H_and_derivatives, spin_matrix, current, field, hbar=1.0):
    """``(kx, ky) -> (H, J, v)`` with ``v = ∂H/ħ∂k`` and ``J = ½{v_current, σ}`` from ``(H, ∂_x H, ∂_y H)``."""

    def operators(kx, ky):
        H, dx, dy = H_and_derivatives(kx, ky)
        d = {"x": dx / hbar, "y": dy / hbar}
        return H, 0.5 * (d[current] @ spin_matrix + spin_matrix @ d[current]), d[field]

    return operators


def test_grid_kubo_reproduces_rashba():
    """The test's own Kubo sum gives −1/(4πħ) for Eq. (C1) (checks the helper itself)."""

    def rashba(kx, ky, alpha=0.2):
        k = (kx, ky)
        H = (kx**2 + ky**2)[:, None, None] / 2 * S0 + alpha * (k[1][:, None, None] * SX - k[0][:, None, None] * SY)
        return H, kx[:, None, None] * S0 - alpha * SY, ky[:, None, None] * S0 + alpha * SX

    total, _, _ = grid_kubo(kubo_operators(rashba, SZ, "x", "y"), 0.3, 0.02, L=1.5, h=0.01, n_A=2)
    assert abs(total * 4 * PI + 1) < 1e-6


@pytest.mark.parametrize("current, field", [("x", "y"), ("y", "x")])
def test_exact_method_equals_plain_grid_kubo_of_eq33(current, field):
    s, mu, T = 0.5, 0.2, 0.02
    operators = kubo_operators(lambda kx, ky: eq33_numpy(kx, ky, s), np.kron(np.eye(3), SZ), current, field)
    ref = grid_kubo(operators, mu, T, L=1.5, h=0.0125, n_A=2)
    r = spin_hall_conductivity(C4V, mu, T, "z", current, field, method="exact", values=c4v_values(s))
    assert r.total == r.intra + r.remote
    assert abs(r.total / ref[0] - 1) < 1e-8
    assert abs(r.intra / ref[1] - 1) < 1e-8
    assert abs(r.remote / ref[2] - 1) < 1e-6  # remote is 150x smaller than the total
    assert r.error < 1e-9 * abs(r.total)


def test_effective_intra_equals_kubo_of_closed_forms():
    """Order 2: Kubo inside the effective model with the closed forms eff.H, eff.J, eff.velocity."""
    s, mu, T = 0.5, 0.2, 0.02
    values = c4v_values(s)
    eff = ssw.effective(C4V, order=2)
    given = numeric_values(C4V, values)
    Hf, Jf, vf = (numeric_matrix(M, given, (k_x, k_y)) for M in (eff.H, eff.J["z", "x"], eff.velocity["y"]))

    ref = grid_kubo(lambda kx, ky: (Hf(kx, ky), Jf(kx, ky), vf(kx, ky)), mu, T, L=1.5, h=0.0125, n_A=2)
    r = spin_hall_conductivity(C4V, mu, T, "z", "x", "y", method="effective", order=2, values=values)
    assert abs(r.intra / ref[0] - 1) < 1e-8


@pytest.mark.parametrize("order", [2, 4])
def test_remote_term_is_the_resolvent_expectation_value(order):
    """Pointwise: the A–B pairs of the rotated Kubo sum equal −2ħ Σ_a f_a Im⟨a|R(E_a)|a⟩ (B empty).

    ``R(E) = Σ_{p+q ≤ n} J̃_AB,p (E − H̃_BB)^{-2} ṽ_BA,q``, with the terms of
    ``U†JU`` and ``U†vU`` by order and ``H̃_BB`` from NumericBlocks.
    """
    from symbolic_sw.observables.spin_hall import _Effective

    s, level = 0.5, 0.2
    values = c4v_values(s)
    given = numeric_values(C4V, values, list(ops.spin_current(C4V, "z", "x").matrix))
    rng = np.random.default_rng(17)
    kx, ky = rng.uniform(-0.8, 0.8, 300), rng.uniform(-0.8, 0.8, 300)
    integrand, _ = _Effective(C4V, given, "z", "x", "y", order).integrand(kx, ky, level, 0.0)
    blocks = NumericBlocks(
        C4V, values, order, operators={"J": ops.spin_current(C4V, "z", "x"), "v": ops.velocity(C4V, "y")}
    )
    t = blocks(kx, ky)
    H = t.total("H")
    Ea, Ua = np.linalg.eigh(H[:, :2, :2])
    G2 = np.linalg.matrix_power(np.linalg.inv(Ea[:, :, None, None] * np.eye(4) - H[:, None, 2:, 2:]), 2)
    R = sum(
        t.terms["J"][p][:, None, :2, 2:] @ G2 @ t.terms["v"][q][:, None, 2:, :2]
        for p in range(order + 1)
        for q in range(order + 1)
        if p + q <= order
    )  # (K, a, 2, 2): the operator of each effective state a
    expect = np.einsum("kia,kaij,kja->ka", np.conj(Ua), R, Ua).imag
    reference = -2 * ((Ea < level) * expect).sum(axis=1)
    assert np.count_nonzero(reference) > 100  # occupied and empty points alike
    assert np.allclose(integrand[:, 1], reference, rtol=1e-12, atol=1e-14 * np.abs(reference).max())


# ----------------------------------------------------------------------------- transformed blocks


def direct_rotation(H, n_A):
    """The exact block-diagonalising U = sqrt((2P−1)(2P0−1)) at each k (P: the n_A lowest bands)."""
    _, W = np.linalg.eigh(H)
    P = W[:, :, :n_A] @ np.conj(np.swapaxes(W[:, :, :n_A], -1, -2))
    P0 = np.diag([1.0] * n_A + [0.0] * (H.shape[-1] - n_A))
    R = (2 * P - np.eye(H.shape[-1])) @ (2 * P0 - np.eye(H.shape[-1]))
    w, V = np.linalg.eig(R)  # unitary, eigenvalues on the unit circle away from −1
    return V @ (np.sqrt(w.astype(complex))[..., None] * np.linalg.inv(V))


@pytest.mark.parametrize("order", [2, 3, 4])
def test_every_block_converges_to_the_exact_rotation(order):
    """NumericBlocks' U†HU, U†JU, U†vU (all blocks) approach the exact direct rotation as s^(n+1) or faster."""
    kx, ky = np.array([0.4, -0.25]), np.array([0.1, 0.5])
    errors = []
    for s in (0.2, 0.1):
        values = c4v_values(s)
        J, v = ops.spin_current(C4V, "z", "x"), ops.velocity(C4V, "y")
        t = NumericBlocks(C4V, values, order, operators={"J": J, "v": v})(kx, ky)
        given = numeric_values(C4V, values)
        H = numeric_matrix(C4V.H, given, (k_x, k_y))(kx, ky)
        U = direct_rotation(H, 2)
        Ud = np.conj(np.swapaxes(U, -1, -2))
        exact = {
            name: Ud @ numeric_matrix(M, given, (k_x, k_y))(kx, ky) @ U
            for name, M in (("H", C4V.H), ("J", J.matrix), ("v", v.matrix))
        }
        errors.append([np.abs(t.total(name) - exact[name]).max() for name in ("H", "J", "v")])
    exponents = np.log2(np.array(errors[0]) / np.array(errors[1]))
    assert np.all(exponents > order + 0.8), exponents


def test_blocks_agree_with_effective_numeric_and_carry_exact_derivatives():
    values = c4v_values(0.5)
    J = ops.spin_current(C4V, "x", "y")
    blocks = NumericBlocks(C4V, values, 4, operators={"J": J}, derivatives=("x", "y"))
    kx, ky = np.array([0.3, -0.2]), np.array([0.15, 0.4])
    t = blocks(kx, ky)
    sym = {str(s): s for s in C4V.H.free_symbols}
    for j in range(2):
        point = {sym[n]: v for n, v in values.items() if n in sym} | {k_x: kx[j], k_y: ky[j]}
        H, (Je,) = ssw.effective_numeric(C4V, 4, point, [J])
        assert np.allclose(t.total("H")[j, :2, :2], H, rtol=0, atol=1e-14)
        assert np.allclose(t.total("J")[j, :2, :2], Je, rtol=0, atol=1e-14)
    for d, (ex, ey) in (("x", (1e-5, 0)), ("y", (0, 1e-5))):
        fd = (blocks(kx + ex, ky + ey).total("H") - blocks(kx - ex, ky - ey).total("H")) / 2e-5
        assert np.abs(t.total_derivative(d) - fd).max() < 1e-9


# ----------------------------------------------------------------------------- convergence in s (Eq. 33)

S_VALUES = (0.5, 0.5 / 2**0.5, 0.25, 0.25 / 2**0.5, 0.125)


@functools.lru_cache(maxsize=None)
def sigma(method, order, s, mu):
    return spin_hall_conductivity(C4V, mu, 0.0, "z", "x", "y", method=method, order=order, values=c4v_values(s))


def fitted_exponent(values, exact):
    errors = np.abs(np.array(values) / np.array(exact) - 1)
    return np.polyfit(np.log(S_VALUES), np.log(errors), 1)[0]


@pytest.mark.parametrize("mu", [0.2, 0.05])
def test_effective_converges_with_the_remote_term(mu):
    rows = [
        (
            s,
            sigma("exact", 4, s, mu),
            sigma("effective", 4, s, mu),
            sigma("effective", 2, s, mu),
            sigma("standard", 4, s, mu),
        )
        for s in S_VALUES
    ]
    print(f"\nμ = {mu}: s, exact (intra, remote), effective order 4 (intra, remote), order 2 total, standard")
    for s, ex, e4, e2, st in rows:
        print(
            f"{s:.4f} {ex.total:.10f} ({ex.intra:.10f}, {ex.remote:.4e})  {e4.total:.10f} "
            f"({e4.intra:.10f}, {e4.remote:.4e})  {e2.total:.10f}  {st.total:.10f}"
        )
    exact = [r[1].total for r in rows]
    exact_intra = [r[1].intra for r in rows]
    for ex, e4, e2 in ((r[1], r[2], r[3]) for r in rows):
        assert ex.total == ex.intra + ex.remote and e4.total == e4.intra + e4.remote
        assert e2.total == e2.intra + e2.remote
    p4 = fitted_exponent([r[2].total for r in rows], exact)
    p4_intra = fitted_exponent([r[2].intra for r in rows], exact_intra)
    p2 = fitted_exponent([r[3].total for r in rows], exact)
    p2_intra = fitted_exponent([r[3].intra for r in rows], exact_intra)
    p_std = fitted_exponent([r[4].total for r in rows], exact)
    print(f"exponents: order 4 total {p4:.2f} intra {p4_intra:.2f}; order 2 {p2:.2f}, {p2_intra:.2f}; std {p_std:.2f}")
    assert p4 >= 3.5 and p4_intra >= 3.5
    assert 1.5 <= p2 <= 2.5 and 1.5 <= p2_intra <= 2.5
    assert 1.5 <= p_std <= 2.5
    # the remote term is what order 4 needs: without it the error stays ∝ s²
    assert fitted_exponent([r[2].intra for r in rows], exact) < 2.5


def test_effective_timing_is_seconds():
    r_exact, r_eff = sigma("exact", 4, 0.25, 0.2), sigma("effective", 4, 0.25, 0.2)
    print(f"\none σ of Eq. (33): exact {r_exact.seconds:.2f} s, effective order 4 {r_eff.seconds:.2f} s")
    assert r_exact.seconds < 10 and r_eff.seconds < 10


# ----------------------------------------------------------------------------- input validation

# a Model: by name, "rashba_toy" is the derivation, whose VALUES would fill in missing values
GOOD = {"model": ssw.models.rashba_toy(), "mu": 0.3, "values": {"alpha_0": 0.1, "hbar": 1.0, "m": 1.0}}
BAD = [
    ({"method": "kubo"}, "method"),
    ({"method": None}, "method"),
    ({"spin": "w"}, "spin component"),
    ({"current": "z"}, "current direction"),
    ({"field": 1}, "field direction"),
    ({"mu": float("nan")}, "mu must be finite"),
    ({"mu": float("inf")}, "mu must be finite"),
    ({"mu": "0.2"}, "mu must be a real number"),
    ({"T": float("nan")}, "T must be finite"),
    ({"T": -0.01}, "negative"),
    ({"values": {"alpha_0": 0.1, "m": 1.0}}, "missing value(s) for hbar"),
    ({"values": {"alpha_0": 0.1, "hbar": 1.0, "m": 1.0, "E_g": 1.0}}, "unknown parameter(s) E_g"),
    ({"values": {"alpha_0": float("nan"), "hbar": 1.0, "m": 1.0}}, "must be finite"),
    ({"values": {"alpha_0": 0.1, "hbar": 0.0, "m": 1.0}}, "ħ = 0"),
    ({"model": "no_such_model"}, "unknown model name"),
    ({"model": 3}, "must be a symbolic_sw Model"),
    ({"order": 0}, "order must be"),
    ({"k_max": -1.0}, "k_max must be positive"),
    ({"n_gauss": 1}, "n_gauss must be an integer"),
    ({"rtol": 2.0}, "rtol must lie in (0, 1)"),
    ({"source": "floats"}, "unknown source"),
    ({"source": None}, "unknown source"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_input_is_a_model_error_with_the_fix(change, message):
    with pytest.raises(ssw.ModelError) as err:
        spin_hall_conductivity(**(GOOD | change))
    assert message in str(err.value) and "Fix" in str(err.value)


def test_model_must_be_two_dimensional_and_spinful():
    from symbolic_sw.symbols import k_z

    kane = ssw.Model(ssw.models.rashba_toy().H + k_z**2 * sympy.eye(2), blocks=[2], momenta=(k_x, k_y, k_z))
    with pytest.raises(ssw.ModelError, match="2-D models"):
        spin_hall_conductivity(kane, 0.2, values=GOOD["values"])
    spinless = ssw.Model(ssw.models.rashba_toy().H, blocks=[2], spin=False)
    with pytest.raises(ssw.ModelError, match="spinless"):
        spin_hall_conductivity(spinless, 0.2, values=GOOD["values"])


@pytest.mark.parametrize(
    "argv, code, fragment",
    [
        (["spin-hall", "rashba_toy", "--mu", "0.3", "--method", "exact"], 0, "exact total"),
        (["spin-hall", "samokhin_c4v", "--mu", "0.2", "--order", "2"], 0, "standard total"),
        (["spin-hall", "samokhin_c4v", "--mu", "nan"], 2, "chemical potential must be a finite number"),
        (["spin-hall", "samokhin_c4v", "--mu", "0.2", "--param", "zz=1"], 2, "unknown parameter(s) zz"),
    ],
)
def test_cli_spin_hall(capsys, argv, code, fragment):
    from symbolic_sw.cli import main

    assert main(argv) == code
    out, err = capsys.readouterr()
    assert fragment in (out if code == 0 else err)


# ----------------------------------------------------------------------------- model: a Model, a name, a derivation


def _spec_path():
    from symbolic_sw.derivation import DERIVATIONS

    return Path(DERIVATIONS) / "samokhin_c4v.py"


SOURCES = {
    "Model": lambda: C4V,
    "factory and derivation name": lambda: "samokhin_c4v",
    "another derivation of the model": lambda: "samokhin_c4v_order4",
    "Derivation": lambda: load_derivation("samokhin_c4v"),
    "spec path (str)": lambda: str(_spec_path()),
    "spec path (Path)": _spec_path,
}


@functools.lru_cache(maxsize=None)
def _reference(mu):
    return spin_hall_conductivity(C4V, mu, method="exact", values=c4v_values(0.5), rtol=1e-8)


@pytest.mark.parametrize("source", SOURCES)
def test_model_may_be_a_name_or_a_derivation(source):
    r = spin_hall_conductivity(SOURCES[source](), 0.2, method="exact", values=c4v_values(0.5), rtol=1e-8)
    ref = _reference(0.2)
    assert (r.total, r.intra, r.remote) == (ref.total, ref.intra, ref.remote)


def test_a_derivations_values_fill_in_the_rest():
    spec = load_derivation("samokhin_c4v").values
    alone = spin_hall_conductivity("samokhin_c4v", 0.2, method="exact", rtol=1e-8)
    assert alone.total == spin_hall_conductivity(C4V, 0.2, method="exact", values=spec, rtol=1e-8).total
    given = {k: v for k, v in c4v_values(0.5).items() if k in ("a_tilde", "b_tilde")}
    assert spin_hall_conductivity("samokhin_c4v", 0.2, method="exact", values=given, rtol=1e-8).total == (
        spin_hall_conductivity(C4V, 0.2, method="exact", values={**spec, **given}, rtol=1e-8).total
    )
    assert (
        _reference(0.2).total
        == spin_hall_conductivity(  # b = 0.1 is also the spec's: c4v_values(0.5) in full
            load_derivation("samokhin_c4v"), 0.2, method="exact", values=c4v_values(0.5), rtol=1e-8
        ).total
    )


@pytest.mark.parametrize(
    "model, message",
    [("no_such_spec.py", "no derivation"), ("no_such_model", "unknown model name"), (2.5, "must be a symbolic_sw")],
)
def test_unknown_models_are_one_model_error(model, message):
    with pytest.raises(ssw.ModelError, match=message):
        spin_hall_conductivity(model, 0.2, method="exact")


# ----------------------------------------------------------------------------- closed forms of every block (issue 17)


def three_block_model():
    """Eq. (33) with its Γ5 block split in two (shifted by δ): two remote blocks, coupled at order 2."""
    delta = sympy.Symbol("delta", real=True)
    H = C4V.H + sympy.diag(0, 0, 0, 0, delta, delta)
    return ssw.Model(H, blocks=[2, 2, 2], momenta=(k_x, k_y), time_reversal=True, name="c4v_three_blocks")


CLOSED_VS_SERIES = [  # model, values, mu, T, order
    ("eq33", c4v_values(0.5), 0.2, 0.0, 2),
    ("eq33", c4v_values(0.5), 0.2, 0.0, 4),
    ("eq33", c4v_values(0.25), 0.05, 0.02, 4),
    ("rashba", {"alpha_0": 0.3, "hbar": 1.0, "m": 2.0}, 0.05, 0.0, 2),
    ("three blocks", c4v_values(0.5) | {"delta": 0.7}, 0.2, 0.0, 2),
]
MODELS = {"eq33": lambda: C4V, "rashba": ssw.models.rashba_toy, "three blocks": three_block_model}


@pytest.mark.parametrize("name, values, mu, T, order", CLOSED_VS_SERIES)
def test_closed_forms_give_the_series_sum(name, values, mu, T, order):
    """The effective method from compiled closed forms equals the float recursion, intra and remote apart."""
    model = MODELS[name]()
    closed, series = (
        spin_hall_conductivity(model, mu, T, method="effective", order=order, values=values, source=source)
        for source in ("closed", "series")
    )
    assert closed.total == closed.intra + closed.remote
    assert abs(closed.intra / series.intra - 1) <= 1e-10
    if name == "rashba":
        assert closed.remote == series.remote == 0.0
    else:
        assert abs(closed.remote / series.remote - 1) <= 1e-10 and abs(series.remote) > 1e-6


def test_closed_forms_are_derived_once_per_model_and_components():
    from symbolic_sw.observables.spin_hall import _ClosedForms

    first = _ClosedForms.get(C4V, 2, "z", "x", "y")
    # a model rebuilt by the factory (as by name) reuses them; other components do not
    assert _ClosedForms.get(ssw.models.samokhin_c4v(), 2, "z", "x", "y") is first
    assert _ClosedForms.get(C4V, 2, "z", "y", "x") is not first


@functools.lru_cache(maxsize=None)
def _eff(order):
    return ssw.effective(C4V, order)


POINTS = [(0.3, -0.2, 0.5), (-0.45, 0.1, 0.25), (0.05, 0.6, 0.4)]  # k_x, k_y, s


@pytest.mark.parametrize("kx, ky, s", POINTS)
@pytest.mark.parametrize(
    "name, op", [("J_z_x", lambda: ops.spin_current(C4V, "z", "x")), ("v_y", lambda: ops.velocity(C4V, "y"))]
)
def test_offdiagonal_block_terms_equal_exact_algebra_and_float_series(name, op, kx, ky, s):
    """``(U†OU)_AB`` order by order: closed form = exact-algebra numbers = the float recursion; BA = AB†."""
    eff, values = _eff(4), c4v_values(s)
    closed, back = eff.block_terms(name, "A", "B"), eff.block_terms(name, "B", "A")
    exact = eff.block_terms(name, "A", "B", values=values | {"k_x": kx, "k_y": ky})
    t = NumericBlocks(C4V, values, 4, operators={"O": op()})(np.array([kx]), np.array([ky]))
    given = numeric_values(C4V, values)
    scale = max(np.abs(t.terms["O"][1]).max(), 1e-3)
    for n in range(5):
        M = numeric_matrix(closed[n], given, (k_x, k_y))(np.array([kx]), np.array([ky]))[0]
        B = numeric_matrix(back[n], given, (k_x, k_y))(np.array([kx]), np.array([ky]))[0]
        assert M.shape == (2, 4)
        assert np.abs(M - exact[n]).max() <= 1e-13 * scale
        assert np.abs(M - t.terms["O"][n][0, :2, 2:]).max() <= 1e-12 * scale
        assert np.abs(B - np.conj(M.T)).max() <= 1e-13 * scale
    assert all(M.is_zero_matrix for M in closed[::2])  # odd in the coupling: odd orders only
    assert np.abs(exact[1]).max() > 1e-3 and np.abs(exact[3]).max() > 1e-6


@pytest.mark.parametrize("order", [2, 4])
def test_block_terms_of_H_are_block_diagonal_order_by_order(order):
    """``(U†HU)_AB`` transformed as an operator vanishes at every order; the diagonal blocks sum to H_eff, H̃_BB."""
    eff = _eff(order)
    assert all(M.is_zero_matrix for M in eff.block_terms("H", "A", "B"))
    assert all(M.is_zero_matrix for M in eff.block_terms("H", 1, 0))
    values = c4v_values(0.5)
    t = NumericBlocks(C4V, values, order)(np.array([0.35]), np.array([-0.15]))
    given = numeric_values(C4V, values)
    for rows, sl in (("A", slice(0, 2)), ("B", slice(2, 6))):
        total = sum(eff.block_terms("H", rows, rows), sympy.zeros(sl.stop - sl.start))
        H = numeric_matrix(total, given, (k_x, k_y))(np.array([0.35]), np.array([-0.15]))[0]
        assert np.abs(H - t.total("H")[0, sl, sl]).max() < 1e-13
    A = numeric_matrix(sum(eff.block_terms("H"), sympy.zeros(2)) - eff.H, given, (k_x, k_y))
    assert np.abs(A(np.array([0.35]), np.array([-0.15]))).max() < 1e-13


def test_block_terms_of_a_user_matrix_equal_those_of_its_kind():
    """The spin ``1 ⊗ σ_z`` given as a plain matrix and as the kind ``S_z``: the same terms, every block."""
    eff = _eff(2)
    S = ops.spin(C4V, "z").matrix
    for rows, cols in (("A", "B"), ("B", "B"), ("A", "A")):
        for mine, kind in zip(eff.block_terms(S, rows, cols), eff.block_terms("S_z", rows, cols)):
            assert (mine - kind).applyfunc(sympy.expand).is_zero_matrix
    assert not eff.block_terms(S, "A", "B")[1].is_zero_matrix


@pytest.mark.parametrize(
    "args, message",
    [
        (("H", "C", "B"), "rows='C' is not a block"),
        (("H", "A", 2), "cols=2 is not a block"),
        (("H", "A", True), "cols=True is not a block"),
        (("J_z_x", None, "B"), "rows=None is not a block"),
        (("dJ_z_x", "A", "B"), "effective block only"),
        (("J_w_x", "A", "B"), "no operator 'J_w_x'"),
        (("Q_x", "A", "B"), "no operator kind 'Q'"),
    ],
)
def test_bad_block_is_a_model_error(args, message):
    with pytest.raises(ssw.ModelError, match=re.escape(message)):
        _eff(2).block_terms(*args)


def test_one_block_model_has_no_B():
    with pytest.raises(ssw.ModelError, match="one block only"):
        ssw.effective(ssw.models.rashba_toy(), 2).block_terms("H", "A", "B")
