"""Property tests on random Hermitian models with non-diagonal blocks.

The blocks are random rational Hermitian matrices (not diagonal); the
perturbation ``g·H1`` couples them.  Checked exactly, order by order:
``U†U = 1`` and ``(U†HU)_offdiag = 0``; and numerically against the direct
rotation with error ∝ g^(n+2).
"""

import random

import numpy as np
import pytest
import sympy
from reference import exact_effective, fit_exponent, numeric

import symbolic_sw as ssw

g = sympy.Symbol("g", real=True)
t = sympy.Symbol("t", real=True)


def random_hermitian(rng, n, levels, spread=sympy.Rational(3, 10)):
    M = sympy.zeros(n)
    for i in range(n):
        M[i, i] = levels[i]
        for j in range(i + 1, n):
            z = spread * sympy.Rational(rng.randint(-10, 10), 10) + sympy.I * spread * sympy.Rational(
                rng.randint(-10, 10), 10
            )
            M[i, j], M[j, i] = z, sympy.conjugate(z)
    return M


def random_model(seed, n_a, n_b, symbolic=False):
    rng = random.Random(seed)
    levels_a = [sympy.Rational(rng.randint(0, 10), 10) for _ in range(n_a)]
    levels_b = [4 + sympy.Rational(rng.randint(0, 20), 10) for _ in range(n_b)]
    h_a = random_hermitian(rng, n_a, levels_a)
    h_b = random_hermitian(rng, n_b, levels_b)
    if symbolic:  # a parameter inside a block, kept exactly
        h_b = h_b + t * random_hermitian(rng, n_b, [0] * n_b)
    c = sympy.Matrix(
        n_a,
        n_b,
        lambda _i, _j: sympy.Rational(rng.randint(-10, 10), 10) + sympy.I * sympy.Rational(rng.randint(-10, 10), 10),
    )
    H = sympy.diag(h_a, h_b)
    H[:n_a, n_a:] = g * c
    H[n_a:, :n_a] = g * c.H
    # a graded observable: intra-block part order 0, inter-block part order 1
    O = sympy.diag(random_hermitian(rng, n_a, [1] * n_a), random_hermitian(rng, n_b, [0] * n_b))
    d = sympy.Matrix(n_a, n_b, lambda _i, _j: sympy.Rational(rng.randint(-10, 10), 10))
    O1 = sympy.zeros(n_a + n_b)
    O1[:n_a, n_a:] = g * d
    O1[n_a:, :n_a] = g * d.H
    model = ssw.Model(H, [n_a, n_b], spin=False, momenta=())
    return model, ssw.operators.Operator((O, O1), "O")


CASES = [(1, 2, 11, False), (2, 3, 12, False), (3, 5, 13, False), (2, 2, 14, True), (2, 3, 15, True)]


def is_zero_matrix(M):
    return all(sympy.expand(sympy.numer(sympy.together(e))) == 0 for e in M)


@pytest.mark.parametrize("n_a,n_b,seed,symbolic", CASES)
def test_unitary_and_block_diagonal_order_by_order(n_a, n_b, seed, symbolic):
    order = 2 if symbolic else 3  # exact sympy checks of rational functions in t are slow
    model, _ = random_model(seed, n_a, n_b, symbolic)
    eff = ssw.effective(model, order=order)
    U = eff.unitary_terms()
    H = [model.H0, model.H1]
    for n in range(order + 1):
        unit = sum((U[i].H * U[n - i] for i in range(n + 1)), sympy.zeros(model.dim))
        assert is_zero_matrix(unit - (sympy.eye(model.dim) if n == 0 else 0 * unit)), n
        Ht = sum((U[i].H * H[l] * U[n - i - l] for l in (0, 1) for i in range(n - l + 1)), sympy.zeros(model.dim))
        assert is_zero_matrix(Ht[:n_a, n_a:]), n


@pytest.mark.parametrize("n_a,n_b,seed,symbolic", CASES[:4])
@pytest.mark.parametrize("order", [2, 4])
def test_error_exponent_random(n_a, n_b, seed, symbolic, order):
    model, O = random_model(seed, n_a, n_b, symbolic)
    eff = ssw.effective(model, order=order)
    H_eff, O_eff = eff.H, eff.transform(O)
    zs = np.array([0.2, 0.1, 0.05, 0.025])
    err_H, err_O = [], []
    for z in zs:
        point = {g: z, t: 0.3}
        exact_H, exact_O = exact_effective(
            numeric(model.H, point), [numeric(model.H, point), numeric(O.matrix, point)], n_a
        )
        err_H.append(np.linalg.norm(numeric(H_eff, point) - exact_H))
        err_O.append(np.linalg.norm(numeric(O_eff, point) - exact_O))
    assert fit_exponent(zs, err_H) >= order + 1.7
    assert fit_exponent(zs, err_O) >= order + 1.7


@pytest.mark.parametrize("order", [2, 4])
def test_energy_denominator_shortcut(order):
    """Diagonal blocks take the X_ij = C_ij/(a_i - b_j) path; same certification."""
    e1, e2, e3 = sympy.symbols("e1 e2 e3", real=True)
    c = sympy.Matrix([[1 + sympy.I, sympy.Rational(1, 2)], [sympy.Rational(-1, 3), 2]])
    H = sympy.diag(e1, e2, e3)
    H[0, 1:] = g * c[0, :]
    H[1:, 0] = g * c[0, :].H
    model = ssw.Model(H, [1, 2], spin=False, momenta=())
    eff = ssw.effective(model, order=order)
    assert eff._engine.plans[0, 1].kind == "diagonal"
    zs = np.array([0.2, 0.1, 0.05, 0.025])
    errs = []
    for z in zs:
        point = {g: z, e1: 0.1, e2: 2.0, e3: 3.5}
        (exact,) = exact_effective(numeric(model.H, point), [numeric(model.H, point)], 1)
        errs.append(np.linalg.norm(numeric(eff.H, point) - exact))
    assert fit_exponent(zs, errs) >= order + 1.7


def test_numeric_backend_matches_exact_backend():
    """The same recursion in floating point agrees with the exact closed form (H) and exact algebra (O).

    O's exact value comes from ``eff.evaluate`` (the exact ring at the point): its
    closed form at order 4 costs 5 s and is checked elsewhere (test_identities).
    """
    model, O = random_model(21, 2, 3, True)
    eff = ssw.effective(model, order=4)
    point = {g: 0.3, t: 0.2}
    H_num, (O_num,) = ssw.effective_numeric(model, 4, point, [O])
    assert np.allclose(numeric(eff.H, point), H_num, atol=1e-12)
    exact_O = np.array(eff.evaluate(O, {**point, model.hbar: 1}), dtype=complex)  # ħ: in no entry here
    assert exact_O.shape == O_num.shape
    assert np.allclose(exact_O, O_num, atol=1e-12)
