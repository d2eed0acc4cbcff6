"""Identities: T = (i/ħ)[H, S] order by order, Hermiticity, time reversal (Eqs. 30-31).

Also the slow generic route agreeing with the fast recursion for H.
"""

import random

import pytest
import sympy
from test_appendix_f import is_zero

import symbolic_sw as ssw
from symbolic_sw.pauli import SIGMA
from symbolic_sw.symbols import hbar, k_x, k_y

D = -sympy.I * SIGMA["y"]  # Eq. (30): D(K) = 1 ⊗ (-iσ_y) in the Γ1 doublet


def _vanishes_at_random_points(expr, points=3, seed=0):
    """Exact zero test of a large rational function at random rational points (Schwartz–Zippel).

    A nonzero rational function vanishes at a random rational point with negligible
    probability; each evaluation is exact (Rationals, no floats). ``together`` on the
    order-2 terms of Eq. (A19) (k-dependent gaps) runs for many minutes; this takes seconds.
    """
    rng = random.Random(seed)
    symbols = sorted(expr.free_symbols, key=str)
    for _ in range(points):
        value = expr.xreplace({s: sympy.Rational(rng.randint(1, 97), rng.randint(98, 193)) for s in symbols})
        # numbers only now, but I*(a + b) stays unevaluated until expanded
        if sympy.expand(value) != 0:
            return False
    return True


def all_zero(M):
    return all(is_zero(e) if sympy.count_ops(e) < 400 else _vanishes_at_random_points(e) for e in M)


@pytest.mark.parametrize("name", ["c4v", pytest.param("a19", marks=pytest.mark.slow)])
@pytest.mark.parametrize("mu", "xyz")
def test_torque_is_commutator_order_by_order(effective_of, name, mu):
    eff = effective_of(name, 2)
    H = eff.order_terms("H")
    S = eff.order_terms(ssw.operators.spin(eff.model, mu))
    T = eff.order_terms(ssw.operators.spin_torque(eff.model, mu))
    for n in range(eff.order + 1):
        comm = sum((H[p] * S[n - p] - S[n - p] * H[p] for p in range(n + 1)), sympy.zeros(2))
        assert all_zero(T[n] - sympy.I / hbar * comm), n


def test_torque_identity_order_4(effective_of):
    eff = effective_of("c4v", 4)
    H = eff.order_terms("H")
    S = eff.order_terms(ssw.operators.spin(eff.model, "x"))
    T = eff.order_terms(ssw.operators.spin_torque(eff.model, "x"))
    for n in range(eff.order + 1):
        comm = sum((H[p] * S[n - p] - S[n - p] * H[p] for p in range(n + 1)), sympy.zeros(2))
        assert all_zero(T[n] - sympy.I / hbar * comm), n


def closed_forms(eff, currents=True):
    yield "H", eff.H, +1
    if not currents:
        return
    for mu in "xyz":
        yield f"S_{mu}", eff.S[mu], -1
        yield f"T_{mu}", eff.T[mu], +1
        for i in "xy":
            yield f"J_{mu}{i}", eff.J[mu, i], +1
            yield f"dJ_{mu}{i}", eff.dJ[mu, i], +1


@pytest.mark.parametrize(
    "name,currents",
    [
        ("c4v", True),
        ("a19", False),
        ("a20", False),
        pytest.param("a19", True, marks=pytest.mark.slow),
        pytest.param("a20", True, marks=pytest.mark.slow),
    ],
)
def test_hermitian_and_time_reversal(effective_of, name, currents):
    """Eq. (30)-(31). Exact-in-γ closed forms (A19/A20) are large: only H by default."""
    eff = effective_of(name, 2)
    flip = {k_x: -k_x, k_y: -k_y}
    for label, M, sign in closed_forms(eff, currents):
        assert all_zero(M - M.H), label
        rhs = sign * M.conjugate().subs(flip, simultaneous=True)
        assert all_zero(D.inv() * M * D - rhs), label  # Eq. (31)


def test_generic_transform_of_H_matches_recursion(effective_of):
    """The slow generic route (U† H U)_AA equals the recursion's H_eff, order by order."""
    eff = effective_of("c4v", 4)
    fast = eff.order_terms("H")
    slow = eff.order_terms(ssw.operators.Operator((eff.model.H0, eff.model.H1), "H"))
    for n, (f, s) in enumerate(zip(fast, slow)):
        assert all_zero(f - s), n


def test_transform_any_operator(effective_of):
    """transform() of a user matrix equals the built-in path (S_x as a plain matrix)."""
    eff = effective_of("c4v", 2)
    S = ssw.operators.spin(eff.model, "x").matrix
    assert all_zero(eff.transform(S) - eff.S["x"])


def test_transform_new_symbol(effective_of):
    """An operator with a symbol unknown to the model still transforms (engine rebuilt)."""
    eff = effective_of("c4v", 2)
    lam = sympy.Symbol("lambda_so", real=True)
    S = ssw.operators.spin(eff.model, "z").matrix
    assert all_zero(eff.transform(lam * S) - lam * eff.S["z"])
