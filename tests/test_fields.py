"""Non-commuting momenta and positions (issue 16): g-factors and Rashba coefficients from fields.

The engine multiplies Weyl symbols with the Moyal star product
(:mod:`symbolic_sw.transformation.weyl`).  Independent checks here:

* the star product against products of explicit operator matrices (a truncated
  oscillator, Weyl-quantised by averaging over orderings);
* Roth's g-factor symbolically and against the Landau levels of the full 8×8 Kane
  matrix in an oscillator basis, built in this file;
* the Rashba coefficient ``r41`` with its sign derived below;
* the commuting limit against the existing (commuting) engine.

Units of the numeric checks: ħ = m_0 = e = 1, so μ_B = 1/2 and ℓ_B² = 1/B.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.models import KANE_SYMBOLS, kane_8band
from symbolic_sw.pauli import SIGMA, kron
from symbolic_sw.symbols import E_g, hbar, k_x, k_y, k_z
from symbolic_sw.transformation.algebra import Generators, RationalAlgebra
from symbolic_sw.transformation.weyl import WeylAlgebra, star, weyl_symbol

I = sympy.I
P, Delta, m_0, e, g_0, B_z, E_z, z = KANE_SYMBOLS.values()
theta = sympy.Symbol("theta", real=True)
E_P = 2 * m_0 * P**2 / hbar**2
MU_B = e * hbar / (2 * m_0)
ROTH = g_0 - sympy.Rational(2, 3) * E_P * Delta / (E_g * (E_g + Delta))
R41 = e * P**2 / 3 * (1 / E_g**2 - 1 / (E_g + Delta) ** 2)
NUMBERS = {hbar: 1, m_0: 1, e: 1, E_g: 1, Delta: sympy.Rational(7, 10), P: sympy.Rational(4, 5), g_0: 2}


def _same(a, b):
    d = a - b
    if isinstance(d, sympy.MatrixBase):
        return all(_same(x, 0) for x in d)
    return sympy.simplify(sympy.together(sympy.expand(d))) == 0


# -- the star product -------------------------------------------------------------------------------

COMMUTATOR_TABLES = [
    {(k_x, k_y): I * theta},
    {(k_x, k_y): -I * e * B_z / hbar},
    {(z, k_z): I},
    {(k_x, k_y): -I * e * B_z / hbar, (z, k_z): I},
]


@pytest.mark.parametrize("table", COMMUTATOR_TABLES)
def test_star_commutator_is_the_declared_value(table):
    """``a ⋆ b − b ⋆ a = [a, b]`` for every declared pair, in SymPy and in the exact ring."""
    alg = _weyl_algebra(table)
    for (a, b), c in table.items():
        assert sympy.expand(star(a, b, table) - star(b, a, table) - c) == 0
        ring = alg.add_entries(
            [
                alg.mul_entries(alg.entry(a), alg.entry(b)),
                alg.scale_entry(alg.mul_entries(alg.entry(b), alg.entry(a)), -1),
            ]
        )
        assert sympy.expand(alg.expr(ring) - c) == 0


@pytest.mark.parametrize(
    ("factors", "symbol"),
    [
        ([k_x, k_y], k_x * k_y + I * theta / 2),
        ([k_y, k_x], k_x * k_y - I * theta / 2),
        ([k_x, k_x, k_y], k_x**2 * k_y + I * theta * k_x),
        ([k_y, k_x, k_x], k_x**2 * k_y - I * theta * k_x),
        ([k_x, k_y, k_x], k_x**2 * k_y),
    ],
)
def test_weyl_symbols_of_ordered_products(factors, symbol):
    """Symbols of ordered products; the symmetrised ``(k_x k_y + k_y k_x)/2`` has the symbol ``k_x k_y``."""
    table = {(k_x, k_y): I * theta}
    assert sympy.expand(weyl_symbol(factors, table) - symbol) == 0
    sym = (weyl_symbol([k_x, k_y], table) + weyl_symbol([k_y, k_x], table)) / 2
    assert sympy.expand(sym - k_x * k_y) == 0


def _weyl_algebra(table, extra=()):
    exprs = [c for c in table.values()] + list(extra) + [k_x * k_y * k_z * z * theta]
    variables = tuple(dict.fromkeys(s for pair in table for s in pair))
    gens = Generators(exprs, variables)
    return WeylAlgebra(RationalAlgebra(gens, [], (0,)), table)


def _random_poly(rng, variables, degree=3, terms=4):
    out = sympy.Integer(0)
    for _ in range(terms):
        powers = rng.integers(0, degree + 1, len(variables))
        if powers.sum() > degree:
            continue
        coeff = sympy.Rational(int(rng.integers(-5, 6)), int(rng.integers(1, 4))) + I * int(rng.integers(-2, 3))
        out += coeff * sympy.Mul(*[v ** int(p) for v, p in zip(variables, powers)])
    return out


@pytest.mark.parametrize("seed", range(3))
def test_star_is_associative_and_the_ring_agrees_with_sympy(seed):
    table = {(k_x, k_y): I * theta, (z, k_z): I}
    variables = (k_x, k_y, k_z, z)
    rng = np.random.default_rng(seed)
    A, B, C = (_random_poly(rng, variables) for _ in range(3))
    left = star(star(A, B, table), C, table)
    assert sympy.expand(left - star(A, star(B, C, table), table)) == 0
    alg = _weyl_algebra(table, (A, B, C))
    a, b, c = (alg.entry(X) for X in (A, B, C))
    assert sympy.expand(alg.expr(alg.mul_entries(alg.mul_entries(a, b), c)) - left) == 0
    assert sympy.expand(alg.expr(alg.mul_entries(a, alg.mul_entries(b, c))) - left) == 0


def _ladder(n):
    a = np.diag(np.sqrt(np.arange(1, n)), 1)
    return a, a.T.copy()


def _momentum_operators(B, n):
    """``K_x, K_y`` with ``[K_x, K_y] = −i B`` (ħ = e = 1) from ``a = (ℓ/√2)(k_x − i k_y)``, ``[a, a†] = 1``."""
    a, ad = _ladder(n)
    ell = 1 / math.sqrt(B)
    return (ad + a) / (math.sqrt(2) * ell), (ad - a) / (1j * math.sqrt(2) * ell)


def _weyl_operator(expr, ops, n):
    """Weyl quantisation of a polynomial: each monomial → the average over the orderings of its factors."""
    symbols = list(ops)
    expr = sympy.expand(expr)
    if expr == 0:
        return np.zeros((n, n), complex)
    out = np.zeros((n, n), complex)
    poly = sympy.Poly(expr, *symbols)
    for powers, coeff in poly.terms():
        word = [s for s, p in zip(symbols, powers) for _ in range(p)]
        orders = set(itertools.permutations(word))
        total = np.zeros((n, n), complex)
        for order in orders:
            M = np.eye(n, dtype=complex)
            for s in order:
                M = M @ ops[s]
            total += M
        out += complex(coeff) * total / len(orders)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_star_is_the_operator_product(seed):
    """``Op(A ⋆ B) = Op(A) Op(B)`` for explicit operators (truncated oscillator, low levels compared)."""
    B, n = 0.7, 24
    Kx, Ky = _momentum_operators(B, n)
    ops = {k_x: Kx, k_y: Ky}
    table = {(k_x, k_y): -I * sympy.Rational(7, 10)}
    rng = np.random.default_rng(seed)
    A, C = (_random_poly(rng, (k_x, k_y)) for _ in range(2))
    lhs = _weyl_operator(star(A, C, table), ops, n)
    rhs = _weyl_operator(A, ops, n) @ _weyl_operator(C, ops, n)
    low = n - 8  # the truncation spoils only the top levels
    assert np.allclose(lhs[:low, :low], rhs[:low, :low], atol=1e-10)


# -- Roth's g-factor --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roth():
    """The Kane model in B_z with the free-electron Zeeman term, order 2."""
    return ssw.effective(kane_8band(magnetic=True, zeeman=True), order=2)


def test_roth_g_factor_symbolically(roth):
    """Order 2: the k-independent σ_z term is ``(g*/2) μ_B B_z`` with Roth's ``g*``, mass unchanged by B."""
    coeffs = roth.pauli(roth.H)
    at_gamma = {k_x: 0, k_y: 0, k_z: 0}
    assert _same(coeffs["z"].subs(at_gamma), ROTH / 2 * MU_B * B_z)
    assert _same(coeffs["z"] - coeffs["z"].subs(at_gamma), 0)
    # the orbital part in the Weyl convention: E_g + ħ²k²/2m* (no B-dependent constant at this order)
    mass = 1 + E_P / 3 * (2 / E_g + 1 / (E_g + Delta))
    assert _same(coeffs["0"], E_g + hbar**2 * (k_x**2 + k_y**2 + k_z**2) / (2 * m_0) * mass)
    assert _same(coeffs["x"], 0) and _same(coeffs["y"], 0)


def _landau_matrix(H, B, n):
    """The full Hamiltonian (k_z = 0) on (basis state) ⊗ (oscillator level), entries Weyl-quantised."""
    Kx, Ky = _momentum_operators(B, n)
    values = {**NUMBERS, B_z: sympy.Float(B), k_z: 0}
    dim = H.rows
    out = np.zeros((dim * n, dim * n), complex)
    for i in range(dim):
        for j in range(dim):
            entry = sympy.expand(H[i, j].xreplace(values))
            out[i * n : (i + 1) * n, j * n : (j + 1) * n] = _weyl_operator(entry, {k_x: Kx, k_y: Ky}, n)
    return out


def _lowest_states(H, B, n, rows=(0, 1)):
    """``(energy, state)`` with most weight on (rows[0], level 0) and on (rows[1], level 0)."""
    w, v = np.linalg.eigh(_landau_matrix(H, B, n))
    picks = [np.argmax(np.abs(v[r * n, :]) ** 2) for r in rows]
    return [(w[p], v[:, p]) for p in picks]


def _lowest_levels(H, B, n, rows=(0, 1)):
    """Energies of the states with most weight on (rows[0], level 0) and (rows[1], level 0)."""
    return tuple(energy for energy, _ in _lowest_states(H, B, n, rows))


def test_roth_g_factor_against_numeric_landau_levels():
    """Spin splitting of the lowest conduction Landau level of the full 8×8 model → g* μ_B B as B → 0."""
    H = kane_8band(magnetic=True, zeeman=True).H
    n = 12  # the axial model couples each conduction level to a few oscillator levels only
    g = []
    for B in (2e-3, 4e-3):
        up, down = _lowest_levels(H, B, n)
        g.append((up - down) / (0.5 * B))
    g_zero = 2 * g[0] - g[1]  # linear extrapolation to B = 0 (the splitting is analytic in B)
    expected = float(ROTH.subs(NUMBERS))
    assert abs(g_zero - expected) < 1e-5 * abs(expected)
    assert abs(g[0] - expected) > abs(g_zero - expected)  # the extrapolation did something


def test_effective_landau_levels_match_the_full_model(roth):
    """The order-2 H_eff, Weyl-quantised like the full model, gives its lowest levels up to O(B²)."""
    H = kane_8band(magnetic=True, zeeman=True).H
    errors = []
    for B in (2e-3, 4e-3):
        full = _lowest_levels(H, B, 12)
        eff = _lowest_levels(roth.H, B, 12)
        errors.append(max(abs(f - x) for f, x in zip(full, eff)))
    assert errors[1] < 2e-3 * 0.5 * 4e-3  # far below the splitting ~ g* μ_B B
    assert 3.0 < errors[1] / errors[0] < 5.0  # the error is O(B²): the B-linear terms are all right


def test_effective_spin_in_a_field_matches_the_full_model(roth):
    """⟨S_z⟩ of the lowest conduction levels: order-2 ``U†(1⊗σ_z)U`` (Weyl-quantised) vs the 8×8 eigenstates.

    The effective spin has a B-linear σ_0 term (from ``[k_x, k_y]``); it is needed:
    without it the difference would be O(B), with it O(B²).
    """
    H = kane_8band(magnetic=True, zeeman=True).H
    spin_full = kron(sympy.eye(4), SIGMA["z"])
    without_b = roth.S["z"].subs(B_z, 0)
    errors, naive = [], []
    for B in (2e-3, 4e-3):
        full = _lowest_states(H, B, 12)
        eff = _lowest_states(roth.H, B, 12)
        S_full, S_eff = _landau_matrix(spin_full, B, 12), _landau_matrix(roth.S["z"], B, 12)
        S_naive = _landau_matrix(without_b, B, 12)
        for (_, u), (_, w) in zip(full, eff):
            errors.append(abs(np.vdot(u, S_full @ u) - np.vdot(w, S_eff @ w)))
            naive.append(abs(np.vdot(u, S_full @ u) - np.vdot(w, S_naive @ w)))
    assert max(errors[2:]) < 1e-2 * max(naive[2:])
    assert 3.0 < max(errors[2:]) / max(errors[:2]) < 5.0
    assert 1.5 < max(naive[2:]) / max(naive[:2]) < 2.5


# -- the Rashba coefficient -------------------------------------------------------------------------


def test_rashba_coefficient_at_third_order():
    """``H_R = r41 E_z (σ_x k_y − σ_y k_x) = r41 σ·(k × E)``, ``r41 = (e P²/3)[1/E_g² − 1/(E_g+Δ)²] > 0``.

    Sign, derived for this basis: the couplings are ``H_cv = −iP k_i`` from S to the
    orbital ``i`` and the valence block is ``(Δ/3)(L·σ − 1)`` with ``(L_l)_ij = −iε_lij``,
    so the projectors on Γ8 and Γ7 between orbitals ``i, j`` are
    ``Π8 = (2δ_ij − iε_ijl σ_l)/3`` and ``Π7 = (δ_ij + iε_ijl σ_l)/3``.  With the
    potential energy ``V = e E_z z`` of the electron (charge −e, field E_z ẑ) in every
    band, Löwdin's ``H_cv (E − E_v − V)⁻¹ H_vc`` has at first order in ``V`` the spin part
    ``P² (−i/3) ε_ijl σ_l k_i V k_j [1/E_g² − 1/(E_g+Δ)²]``; ``k_i V k_j = k_i k_j V +
    k_i [V, k_j]`` and ``[V, k_z] = e E_z [z, k_z] = i e E_z`` leave
    ``(−i/3)(i e E_z) P² ε_izl k_i σ_l [...] = (e P²/3)[...] E_z σ·(k × ẑ)``: the Rashba
    term ``λ σ·(k × ∇V)`` with ``λ > 0`` for Δ > 0 (the vacuum's Pauli term has the
    opposite sign).  The symmetrised Schrieffer–Wolff terms ``{H_cv H_vc, V}`` carry
    ``ε_ijl k_i k_j = 0`` (B = 0) and add nothing to it.
    """
    eff = ssw.effective(kane_8band(electric=True), order=3, truncate={(P,): 2, (E_z,): 1})
    c = eff.pauli(eff.H)
    assert _same(c["x"], R41 * E_z * k_y)
    assert _same(c["y"], -R41 * E_z * k_x)
    assert _same(c["z"], 0)
    assert _same(c["0"].subs(E_z, 0), ssw.effective(kane_8band(), order=2).pauli(ssw.effective(kane_8band(), 2).H)["0"])
    assert _same(sympy.diff(c["0"], E_z), e * z)  # the potential itself, no P² E_z correction at this order
    assert float(R41.subs(NUMBERS)) > 0


# -- commuting limit and downstream operators ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "zero", "order"),
    [
        (dict(magnetic=True), {B_z: 0}, 2),
        (dict(magnetic=True), {B_z: 0}, 3),
        (dict(electric=True), {E_z: 0}, 3),
    ],
)
def test_commuting_limit_reproduces_the_commuting_engine(fields, zero, order):
    """B = 0 (E_z = 0) gives exactly the commuting results: H, S and J."""
    with_fields = ssw.effective(kane_8band(**fields), order)
    plain = ssw.effective(kane_8band(), order)
    assert _same(with_fields.H.subs(zero), plain.H)
    for O in (lambda x: x.S["z"], lambda x: x.J["z", "x"]):
        assert sympy.simplify((O(with_fields).subs(zero) - O(plain)).subs(z, 0)) == sympy.zeros(2)


def test_kernels_evaluate_the_weyl_symbol(roth):
    """The kernel generator sees a commutative polynomial: momenta and fields are numbers."""
    from symbolic_sw.codegen.kernels import kernel_functions

    parameters = sorted(roth.H.free_symbols - {k_x, k_y, k_z}, key=str)
    (f,) = kernel_functions({"H": roth.H}, parameters, (k_x, k_y, k_z))
    assert "B_z" in "\n".join(f["body"]) and f["terms"] is not None  # the polynomial fast path applies


def test_derived_models_keep_the_commutators():
    model = kane_8band(magnetic=True, jm_basis=True)
    for derived in (model.with_perturbative([Delta]), model.grouped([[0, 1], [2]])):
        assert derived.commutators == {(k_x, k_y): -I * e * B_z / hbar}


def test_zero_commutators_are_the_commuting_model():
    model = ssw.Model(kane_8band().H, [2, 6], momenta=(k_x, k_y, k_z), commutators={(k_x, k_y): 0})
    assert model.commutators == {} and model.noncommuting == ()
    assert model.H0 == kane_8band().H0


def test_operators_in_a_field(roth):
    """Spin, spin current, torque, transform and LaTeX run on Weyl symbols; J is ½{v, σ} to this order."""
    standard = roth.J_standard["z", "x"]
    assert _same(standard[0, 0], sympy.diff(roth.H[0, 0], k_x) / hbar)
    assert roth.J["z", "x"].shape == (2, 2) and roth.T["x"].shape == (2, 2)
    kinetic = kane_8band(magnetic=True).H.applyfunc(lambda x: sympy.expand(x).coeff(P, 0))
    assert roth.transform(kinetic).shape == (2, 2)
    assert "B_{z}" in ssw.latex(roth.H)
    assert roth.evaluate("H", {**NUMBERS, B_z: 1, k_x: 0, k_y: 0, k_z: 0}).shape == (2, 2)


# -- errors -------------------------------------------------------------------------------------------


def _kane_h():
    return kane_8band().H


@pytest.mark.parametrize(
    ("H", "commutators", "match"),
    [
        (_kane_h, {(k_x, k_y): I * k_x}, "not central: it contains k_x"),
        (_kane_h, {(k_x, k_y): I * k_z, (k_z, z): I}, "not central: it contains k_z"),
        (_kane_h, {(k_x, k_x): I}, "commutator of k_x with itself"),
        (_kane_h, {(k_x, k_y): "-I*e*B_z/hbar"}, "strings are never evaluated"),
        (_kane_h, {(k_x, k_y): e * B_z}, "is not imaginary"),
        (_kane_h, {(k_x, k_y): I, (k_y, k_x): I}, "contradicts"),
        (_kane_h, {("k_x", "k_y"): I}, "pair of SymPy symbols"),
        (_kane_h, [(k_x, k_y)], "must be a mapping"),
        (_kane_h, {(k_x, sympy.Symbol("q")): I}, "not declared real"),
        (
            lambda: _kane_h() + sympy.cos(k_x) * sympy.eye(8),
            {(k_x, k_y): -I * e * B_z / hbar},
            "cannot be moved into the perturbation",
        ),
        (lambda: _kane_h() + 1 / (1 + z**2) * sympy.eye(8), {(z, k_z): I}, "not a polynomial in the non-commuting"),
    ],
)
def test_bad_commutators_are_refused(H, commutators, match):
    with pytest.raises(ssw.ModelError, match=match):
        ssw.Model(H(), [2, 6], momenta=(k_x, k_y, k_z), commutators=commutators)


def test_numeric_engine_refuses_non_commuting_models():
    with pytest.raises(ssw.ModelError, match="non-commuting symbols"):
        ssw.effective_numeric(kane_8band(magnetic=True), 2, {**NUMBERS, B_z: 1, k_x: 0, k_y: 0, k_z: 0})


def test_float_block_series_and_certify_refuse_non_commuting_models():
    """Both multiply floats, where momenta commute: one clear error instead of a wrong number."""
    from symbolic_sw.certify import _Reference
    from symbolic_sw.transformation.blocks import NumericBlocks

    model = kane_8band(magnetic=True)
    with pytest.raises(ssw.ModelError, match="non-commuting symbols"):
        NumericBlocks(model, {**NUMBERS, B_z: 1}, 2)
    with pytest.raises(ssw.ModelError, match="declares commutators"):
        _Reference(model, ["H"], 2, series=False)


# -- the Γ8 block: Luttinger κ and q -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gamma8():
    """The Γ8 quartet as the essential block (|3/2, m⟩, m = 3/2 … −3/2), order 2."""
    return ssw.effective(kane_8band(magnetic=True, zeeman=True, jm_basis=True), order=2, block=1)


def test_gamma8_zeeman_terms_as_luttinger_kappa(gamma8):
    """Convention: the B-linear, k-independent Γ8 terms are ``−2 μ_B B_z (κ J_z + q J_z³)``.

    J_z = diag(3/2, 1/2, −1/2, −3/2); the Weyl convention makes the quadratic terms
    symmetrised products, as in Luttinger's Hamiltonian, so the antisymmetric part
    ``[k_x, k_y]`` is collected here.  Result: ``q = 0`` and
    ``κ = −g_0/6 + E_P/(6E_g)`` (the free-electron spin ``(g_0/2)σ_z → (g_0/3) J_z``
    and the conduction band's remote contribution); checked against the Landau
    levels of the full model below.
    """
    at_gamma = gamma8.H.subs({k_x: 0, k_y: 0, k_z: 0})
    linear = at_gamma.applyfunc(lambda x: sympy.diff(x, B_z).subs(B_z, 0))
    J_z = sympy.diag(*[sympy.Rational(m, 2) for m in (3, 1, -1, -3)])
    kappa, q = sympy.symbols("kappa q")
    ansatz = -2 * MU_B * (kappa * J_z + q * J_z**3)
    solution = sympy.solve([linear[i, i] - ansatz[i, i] for i in range(4)], [kappa, q], dict=True)
    assert len(solution) == 1
    assert _same(solution[0][kappa], -g_0 / 6 + E_P / (6 * E_g)) and _same(solution[0][q], 0)
    assert _same(linear, ansatz.subs(solution[0]))  # nothing off-diagonal, every m fits


def test_gamma8_landau_levels_match_the_full_model(gamma8):
    """Γ8 levels with most weight on (|3/2, m⟩, oscillator level 0): effective vs full, O(B²) apart.

    Without the P² part of κ (the commutator term) the difference is O(B).
    """
    H = kane_8band(magnetic=True, zeeman=True, jm_basis=True).H
    J_z = sympy.diag(*[sympy.Rational(m, 2) for m in (3, 1, -1, -3)])
    kappa_p = E_P / (6 * E_g)
    naive = gamma8.H + 2 * MU_B * B_z * kappa_p * J_z  # the κ of commuting momenta: −g_0/6 only
    errors, naive_errors = [], []
    for B in (2e-3, 4e-3):
        full = _lowest_levels(H, B, 12, rows=(2, 3, 4, 5))
        eff = _lowest_levels(gamma8.H, B, 12, rows=(0, 1, 2, 3))
        bad = _lowest_levels(naive, B, 12, rows=(0, 1, 2, 3))
        errors.append(max(abs(f - x) for f, x in zip(full, eff)))
        naive_errors.append(max(abs(f - x) for f, x in zip(full, bad)))
    assert errors[1] < 3e-2 * naive_errors[1]
    assert 3.0 < errors[1] / errors[0] < 5.0
    assert 1.5 < naive_errors[1] / naive_errors[0] < 2.5


# -- the README example ---------------------------------------------------------------------------------


def _readme_example():
    """The python block of the README section on fields, run like tests/test_readme.py runs its section."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Fields: non-commuting momenta")
    section = text[start : text.index("\n## ", start + 1)]
    (code,) = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    namespace, shown = {"__name__": "readme_fields"}, {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Expr):
            shown[ast.get_source_segment(code, node)] = eval(
                compile(ast.Expression(node.value), "README", "eval"), namespace
            )
        else:
            exec(compile(ast.Module([node], type_ignores=[]), "README", "exec"), namespace)
    return shown


def test_readme_example_shows_roth_and_rashba():
    shown = _readme_example()
    assert _same(shown["g_star"], ROTH)
    assert _same(shown['sympy.factor(eff_E.pauli(eff_E.H)["x"])'], R41 * E_z * k_y)


def test_functions_of_h_are_refused(roth):
    with pytest.raises(ssw.ModelError, match="function of H"):
        roth.transform(lambda H: H * H)


@pytest.mark.slow
def test_order_4_landau_levels_converge_as_b_cubed():
    """Order 4 (Moyal terms with two derivatives on each side enter): the error drops from O(B²) to O(B³)."""
    model = kane_8band(magnetic=True, zeeman=True)
    order_4 = ssw.effective(model, order=4, truncate={(g_0,): 1}).H
    errors = []
    for B in (2e-3, 4e-3, 8e-3):
        full = _lowest_levels(model.H, B, 12)
        errors.append(max(abs(f - x) for f, x in zip(full, _lowest_levels(order_4, B, 12))))
    assert 7.0 < errors[1] / errors[0] < 9.0 and 7.0 < errors[2] / errors[1] < 9.0
    assert errors[2] < 1e-6
