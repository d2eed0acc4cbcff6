"""Three and more blocks, selective elimination, user operators and 3-D momenta.

The exact reference for any number of blocks is
:func:`symbolic_sw.certify.block_rotation`: the block-diagonalising unitary whose
diagonal blocks are Hermitian and positive (the gauge of the series).
"""

import random

import numpy as np
import pytest
import sympy
from reference import fit_exponent, numeric

import symbolic_sw as ssw
from symbolic_sw.certify import block_rotation, direct_rotation, exact_block_effective
from symbolic_sw.symbols import a_tilde, b, b_tilde, hbar, k_x, k_y, k_z, m

g = sympy.Symbol("g", real=True)
ZS = np.array([0.16, 0.08, 0.04, 0.02])


def _random_hermitian(rng, n, levels, spread=sympy.Rational(3, 10)):
    M = sympy.diag(*levels)
    for i in range(n):
        for j in range(i + 1, n):
            z = spread * sympy.Rational(rng.randint(-10, 10), 10) + sympy.I * spread * sympy.Rational(
                rng.randint(-10, 10), 10
            )
            M[i, j], M[j, i] = z, sympy.conjugate(z)
    return M


def three_block_model(sizes, seed, pairs=None):
    """Random non-diagonal blocks at energies ~0, ~3, ~6 coupled by ``g`` on ``pairs``."""
    rng = random.Random(seed)
    n = sum(sizes)
    starts = np.cumsum([0, *sizes])
    H = sympy.zeros(n)
    for a, size in enumerate(sizes):
        levels = [3 * a + sympy.Rational(rng.randint(0, 8), 10) for _ in range(size)]
        sl = slice(int(starts[a]), int(starts[a + 1]))
        H[sl, sl] = _random_hermitian(rng, size, levels)
    pairs = pairs if pairs is not None else [(a, c) for a in range(len(sizes)) for c in range(a + 1, len(sizes))]
    for a, c in pairs:
        C = sympy.Matrix(
            sizes[a],
            sizes[c],
            lambda _i, _j: (
                sympy.Rational(rng.randint(-10, 10), 10) + sympy.I * sympy.Rational(rng.randint(-10, 10), 10)
            ),
        )
        ra, rc = slice(int(starts[a]), int(starts[a + 1])), slice(int(starts[c]), int(starts[c + 1]))
        H[ra, rc] = g * C
        H[rc, ra] = g * C.H
    # an observable with order-0 (all blocks) and order-1 (inter-block) parts
    O0 = _random_hermitian(rng, n, [sympy.Rational(rng.randint(-5, 5), 5) for _ in range(n)])
    O1 = sympy.zeros(n)
    for i in range(n):
        for j in range(n):
            if np.searchsorted(starts, i, "right") != np.searchsorted(starts, j, "right") and i < j:
                O1[i, j] = g * sympy.Rational(rng.randint(-10, 10), 10)
                O1[j, i] = O1[i, j]
    model = ssw.Model(H, sizes, spin=False, momenta=())
    return model, ssw.operators.Operator((O0, O1), "O")


def test_block_rotation_is_the_direct_rotation_for_two_blocks():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6))
    H = np.diag([0, 0.3, 3, 3.5, 4, 5.0]) + 0.1 * (A + A.conj().T)
    assert np.abs(block_rotation(H, [2, 4]) - direct_rotation(H, 2)).max() < 1e-12
    U = block_rotation(H, [2, 2, 2])
    Ht = U.conj().T @ H @ U
    assert np.abs(U.conj().T @ U - np.eye(6)).max() < 1e-12
    for a in range(3):
        Uaa = U[2 * a : 2 * a + 2, 2 * a : 2 * a + 2]
        assert np.abs(Uaa - Uaa.conj().T).max() < 1e-12  # Hermitian diagonal blocks
        assert np.linalg.eigvalsh(Uaa).min() > 0  # and positive
        for c in range(3):
            if c != a:
                assert np.abs(Ht[2 * a : 2 * a + 2, 2 * c : 2 * c + 2]).max() < 1e-12


CASES = [((1, 2, 2), 1), ((2, 2, 2), 2), ((2, 3, 3), 3)]


def _cases_to_order(orders):
    """(sizes, seed, order) with the costly corner (largest blocks, order ≥ 3 or 4) marked slow."""
    out = []
    for order in orders:
        for sizes, seed in CASES:
            costly = order >= 4 or (order >= 3 and sum(sizes) >= 8)
            out.append(pytest.param(sizes, seed, order, marks=[pytest.mark.slow] if costly else []))
    return out


@pytest.mark.parametrize(
    "sizes,seed", [pytest.param(*c, marks=[pytest.mark.slow] if sum(c[0]) >= 8 else []) for c in CASES]
)
def test_three_blocks_exact_identities(sizes, seed):
    """U†U = 1 and every off-diagonal block of U†HU vanishes, order by order, exactly."""
    order = 3
    model, _ = three_block_model(sizes, seed)
    eff = ssw.effective(model, order=order)
    U = eff.unitary_terms()
    H = [model.H0, model.H1]
    starts = np.cumsum([0, *sizes])
    for n in range(order + 1):
        unit = sum((U[i].H * U[n - i] for i in range(n + 1)), sympy.zeros(model.dim))
        target = sympy.eye(model.dim) if n == 0 else sympy.zeros(model.dim)
        assert (unit - target).applyfunc(sympy.expand).is_zero_matrix, n
        Ht = sum(
            (U[i].H * H[l] * U[n - i - l] for l in (0, 1) for i in range(n - l + 1)), sympy.zeros(model.dim)
        ).applyfunc(sympy.expand)
        for a in range(3):
            for c in range(3):
                if a != c:
                    blk = Ht[int(starts[a]) : int(starts[a + 1]), int(starts[c]) : int(starts[c + 1])]
                    assert blk.is_zero_matrix, (n, a, c)


def _exponents(model, O, order, sizes):
    """Error exponents of H_eff and O_eff of every block against the exact rotation."""
    out = []
    for block in range(len(sizes)):
        eff = ssw.effective(model, order=order, block=block)
        H_eff, O_eff = eff.H, eff.transform(O)
        eH, eO = [], []
        for z in ZS:
            point = {g: z}
            exact_H, exact_O = exact_block_effective(
                numeric(model.H, point), [numeric(model.H, point), numeric(O.matrix, point)], sizes, block
            )
            eH.append(np.abs(numeric(H_eff, point) - exact_H).max())
            eO.append(np.abs(numeric(O_eff, point) - exact_O).max())
        out.append((fit_exponent(ZS, eH), fit_exponent(ZS, eO)))
    return out


@pytest.mark.parametrize("sizes,seed,order", _cases_to_order([1, 2, 3, 4]))
def test_three_blocks_against_exact_rotation(sizes, seed, order):
    """All pairs coupled: closed paths 0→1→2→0 make every order non-zero, error ∝ g^(n+1)."""
    model, O = three_block_model(sizes, seed)
    for block, (xH, xO) in enumerate(_exponents(model, O, order, sizes)):
        assert xH >= order + 0.7, (block, xH)
        assert xO >= order + 0.7, (block, xO)


@pytest.mark.parametrize("sizes,seed,order", _cases_to_order([2, 4]))
def test_three_blocks_bipartite_coupling(sizes, seed, order):
    """Couplings 0–1 and 0–2 only: no odd closed paths, so H_eff skips order n+1: g^(n+2)."""
    model, O = three_block_model(sizes, seed, pairs=[(0, 1), (0, 2)])
    for block, (xH, _) in enumerate(_exponents(model, O, order, sizes)):
        assert xH >= order + 1.7, (block, xH)


def _permuted(M, perm):
    return M[np.ix_(perm, perm)]


@pytest.mark.parametrize(
    "eliminate,groups",
    [
        ([(0, 2), (1, 2)], [[0, 1], [2]]),  # fold the remote block 2 into 0 and 1, keep 0–1
        ([(0, 1), (1, 2)], [[0, 2], [1]]),  # non-adjacent group: the basis is permuted
    ],
)
@pytest.mark.parametrize("order", [2, 3])
def test_selective_elimination(eliminate, groups, order):
    sizes = (2, 2, 2)
    model, O = three_block_model(sizes, 7)
    assert model.groups_eliminating(eliminate) == groups
    eff = ssw.effective(model, order=order, eliminate=eliminate)
    assert sorted(eff.fine_blocks) == groups[0]
    perm = [i for a in groups[0] + groups[1] for i in range(2 * a, 2 * a + 2)]
    errs_H, errs_O = [], []
    for z in ZS:
        point = {g: z}
        H = _permuted(numeric(model.H, point), perm)
        exact_H, exact_O = exact_block_effective(H, [H, _permuted(numeric(O.matrix, point), perm)], [4, 2], 0)
        errs_H.append(np.abs(numeric(eff.H, point) - exact_H).max())
        errs_O.append(np.abs(numeric(eff.transform(O), point) - exact_O).max())
    assert fit_exponent(ZS, errs_H) >= order + 0.7
    assert fit_exponent(ZS, errs_O) >= order + 0.7
    # the kept coupling survives at first order, inside the effective block
    a, c = groups[0]
    first = ssw.effective(model, order=1, eliminate=eliminate)
    assert first.sub(first.H, a, c) == model.H[2 * a : 2 * a + 2, 2 * c : 2 * c + 2]


@pytest.mark.parametrize(
    "eliminate,match",
    [
        ([(0, 1), (1, 2)], None),
        ([(0, 2)], "inconsistent"),  # keeps 0–1 and 1–2, so 0 and 2 are linked
        ([(0, 0)], "different blocks"),
        ([(0, 5)], "different blocks"),
    ],
)
def test_eliminate_errors(eliminate, match):
    model, _ = three_block_model((2, 2, 2), 7)
    if match is None:
        model.groups_eliminating(eliminate)
    else:
        with pytest.raises(ssw.ModelError, match=match):
            ssw.effective(model, 2, eliminate=eliminate)


@pytest.mark.parametrize("groups", [[[0, 1]], [[0, 1], [1, 2]], [[0], [1], [2], []]])
def test_grouped_errors(groups):
    model, _ = three_block_model((2, 2, 2), 7)
    with pytest.raises(ssw.ModelError, match="exactly once"):
        model.grouped(groups)


def test_block_out_of_range():
    model, _ = three_block_model((2, 2, 2), 7)
    with pytest.raises(ssw.ModelError, match="does not exist"):
        ssw.effective(model, 2, block=3)


# -- symbols treated perturbatively inside a block -------------------------------


def test_perturbative_b_is_the_series_in_b_of_the_exact_result():
    """``perturbative=[b]`` (pymablock's convention) = the exact-in-b result expanded."""
    z = sympy.Symbol("z", positive=True)
    exact = ssw.models.samokhin_c4v()
    model = ssw.Model(exact.H, [2, 4], momenta=(k_x, k_y), perturbative=[b])
    assert model.H1[2, 4] != 0 and model.H0[2, 4] == 0  # b moved into the perturbation
    scale = {a_tilde: z * a_tilde, b_tilde: z * b_tilde, b: z * b}
    H_pert = ssw.effective(model, order=3).H.subs(scale, simultaneous=True)
    H_exact = ssw.effective(exact, order=2).H.subs(scale, simultaneous=True)
    for e_p, e_x in zip(H_pert, H_exact):
        diff = sympy.series(e_p - e_x, z, 0, 4).removeO()
        assert sympy.simplify(diff) == 0


def test_perturbative_unknown_symbol():
    with pytest.raises(ssw.ModelError, match="not among the model's parameters"):
        ssw.Model(ssw.models.samokhin_c4v().H, [2, 4], perturbative=[sympy.Symbol("q", real=True)])


# -- 3-D momenta and operators given as matrices or functions of H -----------------


def _model_3d():
    """Eq. (33) plus a k_z dispersion and a Γ1–Γ5x coupling ``-i c k_z`` (shaped like ``-i ã k_x``)."""
    c = sympy.Symbol("c", real=True)
    H = ssw.models.samokhin_c4v().H.copy()
    for i in range(6):
        H[i, i] += hbar**2 * k_z**2 / (2 * m)
    for i, j in ((0, 2), (1, 3)):
        H[i, j] += -sympy.I * c * k_z
        H[j, i] += sympy.I * c * k_z
    return ssw.Model(H, [2, 4], time_reversal=True), c


def test_three_dimensional_momenta():
    model, c = _model_3d()
    assert model.momenta == (k_x, k_y, k_z)
    eff = ssw.effective(model, order=2)
    assert ("x", "z") in eff.J and "z" in eff.velocity
    # a function of H gives the same as the built-in velocity
    v_z = eff.transform(lambda H: H.diff(k_z) / hbar)
    assert (v_z - eff.velocity["z"]).applyfunc(sympy.simplify).is_zero_matrix
    # numerically exact to the order: J_{x,z} against the exact rotation
    J = eff.J["x", "z"]
    micro = ssw.operators.spin_current(model, "x", "z").matrix
    vals = {
        hbar: 1.0,
        m: 1.0,
        sympy.Symbol("epsilon_1", real=True): 0.0,
        sympy.Symbol("epsilon_2", real=True): 1.0,
        b: 0.1,
        k_x: 0.2,
        k_y: -0.1,
        k_z: 0.3,
    }
    errs = []
    for z in ZS:
        point = {**vals, a_tilde: 0.3 * z, b_tilde: 0.2 * z, c: 0.25 * z}
        (ex,) = exact_block_effective(numeric(model.H, point), [numeric(micro, point)], [2, 4])
        errs.append(np.abs(numeric(J, point) - ex).max())
    assert fit_exponent(ZS, errs) >= 3.7


def test_operator_functions_are_graded_like_H():
    model = ssw.models.samokhin_c4v()
    H2 = ssw.operators.of_hamiltonian(model, lambda H: H * H, "H^2")
    assert len(H2.parts) == 3
    assert (H2.parts[0] - model.H0 * model.H0).applyfunc(sympy.expand).is_zero_matrix
    assert (H2.parts[2] - model.H1 * model.H1).applyfunc(sympy.expand).is_zero_matrix
    eff = ssw.effective(model, order=2)
    # U†H²U = (U†HU)² and its block is H_eff² + (off-diagonal)² = H_eff² + O(coupling^4)
    diff = (eff.transform(lambda H: H * H) - eff.H * eff.H).applyfunc(sympy.expand)
    assert diff.subs({a_tilde: 0, b_tilde: 0}).is_zero_matrix
    j = eff.transform(ssw.operators.charge_current(model, "x"))
    e = sympy.Symbol("e", positive=True)
    assert (j + e * eff.velocity["x"]).applyfunc(sympy.simplify).is_zero_matrix


@pytest.mark.parametrize(
    "f,match",
    [
        (lambda H: H / H[0, 2], "not a polynomial"),  # divides by the coupling
        (lambda H: H.inv(), "not a polynomial"),  # rejected at a numeric point, before the
        # symbolic 6x6 inverse (minutes)
        (lambda H: H[:2, :2], "returned shape"),
        (lambda _H: 1 / 0, "failed"),
    ],
)
def test_operator_function_errors(f, match):
    model = ssw.models.samokhin_c4v()
    eff = ssw.effective(model, order=1)
    with pytest.raises(ssw.ModelError, match=match):
        eff.transform(f)


def test_kane_like_3d_model_with_soc_in_both_blocks():
    """Regression: gap factors from ``factor_list`` carried SymPy Integer exponents."""
    from symbolic_sw.pauli import SIGMA, kron
    from symbolic_sw.symbols import alpha_0

    Delta = sympy.Symbol("Delta", positive=True)
    P = sympy.Symbol("P", real=True)
    rashba = alpha_0 * (k_y * SIGMA["x"] - k_x * SIGMA["y"])
    H = Delta * kron(sympy.diag(0, 1), SIGMA["0"]) + P * k_z * kron(SIGMA["y"], SIGMA["0"]) + kron(sympy.eye(2), rashba)
    eff = ssw.effective(ssw.Model(H, [2, 2]), 2)
    expected = rashba - P**2 * k_z**2 / Delta * sympy.eye(2)
    assert (eff.H - expected).applyfunc(sympy.expand).is_zero_matrix


@pytest.mark.parametrize("model_name", ["c4v", "a19", "3d"])
def test_builtin_operators_built_in_the_algebra_equal_the_sympy_route(model_name):
    """S, T, J, v built from H0, H1 in the ring equal the transformed SymPy operators.

    Built in the ring by Effective._builtin_raw, the result must be exactly that of
    transforming the SymPy operators of symbolic_sw.operators.
    """
    model = {
        "c4v": lambda: ssw.models.samokhin_c4v(),
        "a19": lambda: ssw.models.samokhin_c4v(intrinsic_soc=True),
        "3d": lambda: _model_3d()[0],
    }[model_name]()
    eff = ssw.effective(model, order=1)
    dirs = [str(k).removeprefix("k_") for k in model.momenta]
    cases = [("S", (mu,), ssw.operators.spin(model, mu)) for mu in "xyz"]
    cases += [("T", (mu,), ssw.operators.spin_torque(model, mu)) for mu in "xyz"]
    cases += [("v", (i,), ssw.operators.velocity(model, i)) for i in dirs]
    cases += [("J", (mu, i), ssw.operators.spin_current(model, mu, i)) for mu in "xy" for i in dirs]
    for kind, key, op in cases:
        assert eff._builtin_raw(kind, *key) == eff._op_raw(op), (kind, key)
