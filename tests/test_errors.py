"""Bad input gets a clear error naming the problem and the fix."""

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.symbols import b, epsilon_1, epsilon_2, k_x

x = sympy.Symbol("x", real=True)


def two_level(h11, h22, h12):
    return sympy.Matrix([[h11, h12], [sympy.conjugate(h12), h22]])


@pytest.mark.parametrize(
    "build,match",
    [
        (lambda: ssw.Model(sympy.Matrix([[0, 1], [2, 0]]), [1, 1], spin=False), "not Hermitian"),
        (lambda: ssw.Model(sympy.eye(3), [1, 1], spin=False), "add up to 2"),
        (lambda: ssw.Model(sympy.eye(4), [1, 3]), "split a spin doublet"),
        (lambda: ssw.Model(sympy.eye(2), [0, 2], spin=False), "positive"),
        (lambda: ssw.Model(sympy.Matrix([[sympy.Symbol("y"), 0], [0, 1]]), [1, 1], spin=False), "not declared real"),
        (lambda: ssw.Model(sympy.Matrix([[1, 2], [3, 4], [5, 6]]), [1, 1], spin=False), "square"),
    ],
)
def test_bad_model(build, match):
    with pytest.raises(ssw.ModelError, match=match):
        build()


def test_time_reversal_violation():
    H = sympy.Matrix([[k_x, 0], [0, k_x]])  # k_x σ_0 is odd under time reversal
    with pytest.raises(ssw.ModelError, match="time-reversal"):
        ssw.Model(H, [2], time_reversal=True)


@pytest.mark.parametrize("order", [0, -1, 1.5, "2", True, None])
def test_bad_order(order):
    with pytest.raises(ssw.ModelError, match="order"):
        ssw.effective(ssw.models.samokhin_c4v(), order=order)


@pytest.mark.parametrize(
    "H",
    [
        two_level(epsilon_1, epsilon_1, x),  # identical levels
        two_level(b * k_x, -b * k_x, x),  # degenerate at k = 0
    ],
)
def test_zero_gap(H):
    model = ssw.Model(H, [1, 1], spin=False)
    with pytest.raises(ssw.ModelError, match="share an eigenvalue"):
        ssw.effective(model, order=2)


def test_zero_gap_non_diagonal_blocks():
    """Γ5-like block whose spectrum ε2 ± b contains ε1 when b = ε2 - ε1 identically."""
    s = ssw.models.samokhin_c4v().H.subs(b, epsilon_2 - epsilon_1)
    model = ssw.Model(s, [2, 4])
    with pytest.raises(ssw.ModelError, match="Sylvester"):
        ssw.effective(model, order=2)


def test_operator_wrong_shape():
    eff = ssw.effective(ssw.models.samokhin_c4v(), order=2)
    with pytest.raises(ssw.ModelError, match="shape"):
        eff.transform(sympy.eye(2))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m: ssw.operators.spin(m, "w"), "spin component"),
        (lambda m: ssw.operators.spin_current(m, "x", "q"), "direction"),
        (lambda m: ssw.Model(m.H, [2, 4], perturbation=sympy.zeros(6)), "block-diagonal"),
    ],
)
def test_bad_operator_requests(call, match):
    with pytest.raises(ssw.ModelError, match=match):
        call(ssw.models.samokhin_c4v())


def test_not_a_model():
    with pytest.raises(ssw.ModelError, match="Model"):
        ssw.effective(sympy.eye(6), order=2)
