"""The exact Sylvester plan (Eq. 19): its factorisation shortcut and its solutions."""

import pytest
import sympy

from symbolic_sw.model import ModelError
from symbolic_sw.symbols import b, epsilon_1, epsilon_2
from symbolic_sw.transformation.sylvester import SylvesterPlan, _factor_list

x, y, z = sympy.symbols("x y z", real=True)


@pytest.mark.parametrize(
    "d",
    [
        sympy.expand(((epsilon_1 - epsilon_2) ** 2 - b**2) ** 2),  # Eq. (33): (q(ε1))² for the Kramers pair
        sympy.expand((x - y) ** 3 * (2 * x + 3 * z)),
        sympy.expand(-4 * (x**2 + y) * (x - 1)),
        sympy.Rational(3, 2) * x**2 - 6,
        x**2 + 1,
        7 * x,
        sympy.expand((x + y / 3) ** 2 * (z - x)),
        sympy.expand((x + sympy.I * y) * (x - sympy.I * y)),  # Gaussian factors: general path
        sympy.Integer(5),
    ],
)
def test_factor_list_shortcut_is_sympys(d):
    """Same content, same factors, same order as sympy.factor_list (which fixes the output)."""
    assert _factor_list(d) == sympy.factor_list(d)


@pytest.mark.parametrize("kind", ["left", "right", "diagonal", "scalar"])
def test_plan_solves_the_sylvester_equation(kind):
    """h_a X - X h_b = C for symbolic pairs of blocks.

    A 2×2 | 3×3 pair (non-diagonal blocks), a diagonal pair, and a scalar
    h_a = a·1 (a Kramers doublet: the q(a) shortcut).
    """
    a1, a2, c12 = sympy.symbols("a1 a2 c12", real=True)
    h2 = sympy.Matrix([[a1, c12], [c12, a2]])
    h3 = sympy.diag(x, y, z) + sympy.Matrix(3, 3, lambda i, j: b if abs(i - j) == 1 else 0)
    h_a, h_b = {
        "left": (h2, h3),
        "right": (h3, h2),
        "diagonal": (sympy.diag(a1, a2), sympy.diag(x, y, z)),
        "scalar": (a1 * sympy.eye(2), h3),
    }[kind]
    plan = SylvesterPlan(h_a, h_b)
    assert plan.kind == {"scalar": "left"}.get(kind, kind)
    # exact check at a rational point (cancel on the symbolic X would dominate the suite)
    point = {
        s: sympy.Rational(7 * i + 3, 5 + i) for i, s in enumerate(sorted(h_a.free_symbols | h_b.free_symbols, key=str))
    }
    C = sympy.Matrix(h_a.rows, h_b.rows, lambda i, j: sympy.Rational(i - 2 * j + 1, 3))
    if kind == "diagonal":
        X = C.multiply_elementwise(plan.denominator.subs(point).applyfunc(lambda d: 1 / d))
    else:
        X = sum(
            (L.subs(point) * C * R.subs(point) for L, R in zip(plan.left, plan.right)), sympy.zeros(*C.shape)
        ) / plan.denominator.subs(point)
    assert (h_a.subs(point) * X - X * h_b.subs(point) - C).is_zero_matrix
    # the gap factors multiply back to the denominator
    if kind != "diagonal":
        c, fs = plan.factors
        assert sympy.expand(c * sympy.Mul(*[f**e for f, e in fs]) - plan.denominator) == 0


def test_plan_refuses_a_shared_eigenvalue():
    with pytest.raises(ModelError, match="share an eigenvalue"):
        SylvesterPlan(sympy.diag(x, x), sympy.Matrix([[x, b], [b, x]]).subs(b, 0))


def _blocks():
    import symbolic_sw as ssw
    from symbolic_sw.symbols import hbar, k_x, m

    H = ssw.models.samokhin_c4v().H
    yield H[2:, 2:]  # Γ5 ⊗ spin: b couples x, y
    yield ssw.models.samokhin_c4v(intrinsic_soc=True).H[2:, 2:]  # k-dependent (γ1, γ2)
    yield sympy.Matrix([[x, b, 0], [b, y, z], [0, z, x]])  # generic 3×3
    yield sympy.diag(x, x, y)  # repeated eigenvalue
    yield sympy.Matrix([[hbar**2 * k_x**2 / (2 * m), b], [b, -x]])  # 1/m: a fraction field


@pytest.mark.parametrize("h", list(_blocks()))
def test_minimal_polynomial_routes_agree(h):
    """The ring route (DomainMatrix charpoly, square-free part) = the expression route.

    Where an entry has 1/m the expression route cannot take the square-free part
    (1/m is no polynomial generator) and falls back to the characteristic
    polynomial; the ring route (a fraction field) still finds the square-free one.
    """
    from symbolic_sw.transformation.sylvester import (
        _matrix_poly,
        _minimal_polynomial_by_expressions,
        _square_free_charpoly,
        minimal_polynomial,
    )

    fast = _square_free_charpoly(h)
    slow = _minimal_polynomial_by_expressions(h)
    assert fast is not None and fast == minimal_polynomial(h) and fast[-1] == 1
    assert all(e == 0 for e in _matrix_poly(fast, h))
    lam = sympy.Symbol("lam")
    p_fast = sympy.Poly(sum(c * lam**i for i, c in enumerate(fast)), lam)
    p_slow = sympy.Poly(sum(c * lam**i for i, c in enumerate(slow)), lam)
    assert p_slow.rem(p_fast).is_zero and p_fast.degree() <= p_slow.degree()
    if p_fast.degree() == p_slow.degree():
        assert fast == slow
    # the Kramers-degenerate Γ5 blocks with ħ²k²/2m: degree 2, not the charpoly's 4
    if h.shape == (4, 4):
        assert p_fast.degree() == 2 < p_slow.degree() == 4
