"""Issue 14, engine part: no silent wrong answer from the float recursion, leading_order, the observables.

Each table holds cases with their exact outcome: the right value (against an
independent reference), or the ``ModelError`` / ``ValueError`` / ``TypeError``
with the fragment of its message, or the warning.

1. A closed or nearly closed gap in ``effective_numeric`` (Eq. 19 divides by it).
2. ``leading_order`` never drops a term (``momenta`` inferred from the expression).
3. The generated ``J_s`` / ``J_s_standard`` at the edges: a band that bends down,
   NaN/inf, poles, μ ≫ T (the T > 0 path lost every digit), the T → 0 limit;
   the closed-form and numeric integrators refuse NaN/inf too.
4. Values are numbers only: strings are never evaluated.
"""

import math
import re
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.certify import exact_block_effective
from symbolic_sw.observables import effective_spin_current, equilibrium_spin_current, microscopic_spin_current
from symbolic_sw.symbols import E_g, a_tilde, b, b_tilde, epsilon_1, epsilon_2, hbar, k_x, k_y, m
from symbolic_sw.transformation.numeric import SeriesConvergenceWarning

C4V = ssw.models.samokhin_c4v()
#: the README's parameters at one k point
POINT = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
POINT_K = {**POINT, "k_x": 0.1, "k_y": 0.2}


def numeric_H(model, values):
    return np.array(model.H.subs({s: values[str(s)] for s in model.H.free_symbols}).evalf(), dtype=complex)


def exact_H(model, values, block=0):
    """The effective Hamiltonian of the exact block rotation (all orders)."""
    H = numeric_H(model, values)
    return exact_block_effective(H, [H], list(model.blocks), block)[0]


# ----------------------------------------------------------------------------- 1. gaps in the float recursion

v_, delta_ = sympy.symbols("v delta", real=True)
TWO_LEVEL = ssw.Model(sympy.Matrix([[0, v_], [v_, delta_]]), [1, 1], spin=False, momenta=())

g_, eps_ = sympy.symbols("g eps", real=True)
_H = sympy.diag(0, 2, eps_, 1)
for _i, _j in [(0, 3), (1, 2), (1, 3)]:
    _H[_i, _j] = _H[_j, _i] = g_
#: blocks {0, 2} and {ε, 1}: the state at ε is reached from state 0 only at third order
HIDDEN = ssw.Model(_H, [2, 2], spin=False, momenta=())

x_ = sympy.Symbol("x", real=True)
_H = sympy.diag(0, 1, 100)
_H[0, 2] = _H[2, 0] = x_
#: a coupling 10 to a level 100 away, next to an uncoupled level 1 away: ‖H1‖/δ = 10, yet ρ = 0.1
FAR = ssw.Model(_H, [1, 2], spin=False, momenta=())

GAP_ERRORS = [
    # the issue's reproducers: b = ε2 − ε1 closes the gap (2.3e45 before), 1e-10 left open (6.7e27)
    (C4V, 4, {**POINT_K, "b": 1.0}, r"gap between blocks 0 and 1 of H0 is closed at these values"),
    (C4V, 4, {**POINT_K, "b": 1.0 - 1e-10}, r"series diverges at these values: the gap .* is δ = 1e-10"),
    (C4V, 2, {**POINT_K, "b": -1.0}, r"gap between blocks 0 and 1 of H0 is closed"),
    # the coupling exceeds the gap: ρ = 1.03 (measured: order 4 worse than order 2)
    (C4V, 2, {**POINT, "b": 0.6, "k_x": 0.6, "k_y": 0.0}, r"ρ ≥ 1 makes the terms grow"),
    (TWO_LEVEL, 1, {"v": 1.2, "delta": 1.0}, r"‖H1‖/δ = 1\.2\).*ρ ≥ 1 makes the terms grow"),
    # ρ = 0.9 > 1/2: already (2ρ)² = 3.24 at order 2 (order 2 gives −0.15 for the exact −0.53)
    (TWO_LEVEL, 2, {"v": 0.9, "delta": 1.0}, r"already 3\.\d+ at order 2"),
    (TWO_LEVEL, 4, {"v": 0.7, "delta": 1.0}, r"ρ = 0\.728 per order .* already 4\.49 at order 4"),
    # a gap of 1e-9 that the coupling reaches only at third order: caught from V_3 even at order 1
    (HIDDEN, 1, {"g": 0.3, "eps": 1e-9}, r"δ = 1e-09 .*from V_3"),
    (HIDDEN, 2, {"g": 0.3, "eps": 1e-9}, r"δ = 1e-09 .*from V_3"),
    (TWO_LEVEL, 2, {"v": 0.1, "delta": 0.0}, r"gap between blocks 0 and 1 of H0 is closed"),
]


@pytest.mark.parametrize("model,order,values,match", GAP_ERRORS)
def test_closed_or_small_gap_is_refused(model, order, values, match):
    with pytest.raises(ssw.ModelError, match=match):
        ssw.effective_numeric(model, order, values)


#: (model, order, values, relative accuracy against the exact rotation); warned: 1/2 ≤ ρ, growth < 2
GAP_WARNINGS = [
    (TWO_LEVEL, 4, {"v": 0.55, "delta": 1.0}, 0.2),
    (TWO_LEVEL, 1, {"v": 0.8, "delta": 1.0}, None),  # order 1: H_eff = H0, no error estimate
    (C4V, 2, {**POINT_K, "b": 0.5}, 0.5),
    (C4V, 1, {**POINT, "b": 0.3, "k_x": 0.6, "k_y": 0.0}, None),
]


@pytest.mark.parametrize("model,order,values,accuracy", GAP_WARNINGS)
def test_gap_comparable_to_coupling_warns(model, order, values, accuracy):
    with pytest.warns(SeriesConvergenceWarning, match=r"the gap is comparable to the coupling.*ρ ≥ 0\.5"):
        H, _ = ssw.effective_numeric(model, order, values)
    if accuracy is not None:  # a rough approximation, as the warning says: not garbage
        ref = exact_H(model, values)
        assert np.linalg.norm(H - ref) <= accuracy * np.linalg.norm(ref)


#: silent: the paper's range (E_g = 1, b = 0.1, ã = 0.3, b̃ = 0.1..0.2, |k| < 0.6), ρ ≤ 0.489;
#: (model, order, values, tolerance against the exact closed form / exact rotation)
SILENT = [
    *[
        (C4V, 2, {**POINT, "b_tilde": bt, "k_x": kk * math.cos(phi), "k_y": kk * math.sin(phi)}, 1e-12)
        for bt in (0.1, 0.2)
        for kk in (0.0, 0.59)
        for phi in (0.0, 0.7)
    ],
    (TWO_LEVEL, 6, {"v": 0.3, "delta": 1.0}, 3e-4),
    (FAR, 4, {"x": 10.0}, 2e-4),  # ‖H1‖ > gap, but the coupled level is far: converges
    (HIDDEN, 4, {"g": 0.3, "eps": 0.5}, 3e-3),
]


@pytest.mark.parametrize("model,order,values,tol", SILENT)
def test_normal_parameters_are_silent_and_right(effective_of, model, order, values, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        H, _ = ssw.effective_numeric(model, order, values)
    if model is C4V:  # the exact closed form of order 2 (Appendix F) at the point
        closed = effective_of("c4v", 2).H
        ref = np.array(closed.subs({s: values[str(s)] for s in closed.free_symbols}).evalf(), dtype=complex)
        assert np.abs(H - ref).max() <= tol
    else:
        assert np.abs(H - exact_H(model, values)).max() <= tol


# ----------------------------------------------------------------------------- 4. values are numbers only

VALUE_ERRORS = [
    (
        {"b": "__import__('os').system('touch HACKED')"},
        r"the value of b must be a real number, got the str .*"
        r"strings are never evaluated",
    ),
    ({"b": "0.1"}, r"strings are never evaluated"),
    ({"b": b"0.1"}, r"got the bytes"),
    ({"b": True}, r"the value of b must be a real number, got the bool True"),
    ({"b": np.bool_(False)}, r"got the bool"),
    ({"b": float("nan")}, r"the value of b must be finite, got nan"),
    ({"b": float("inf")}, r"must be finite, got inf"),
    ({"b": -np.inf}, r"must be finite, got -inf"),
    ({"b": 0.1 + 0.2j}, r"must be real \(the model's symbols are real\), got the complex \(0\.1\+0\.2j\)"),
    ({"b": np.complex128(0.1 + 1e-30j)}, r"must be real"),
    ({"b": None}, r"must be a real number, got None \(NoneType\)"),
    ({"b": [0.1]}, r"must be a real number, got \[0\.1\] \(list\)"),
    ({"b": sympy.Symbol("q")}, r"must be a number, got the SymPy expression q"),
    ({"b": sympy.nan}, r"must be finite"),
    ({"b": sympy.zoo}, r"must be finite, got zoo"),
    ({"b": complex("nan+1j")}, r"must be finite, got \(nan\+1j\)"),
    ({"b": sympy.I}, r"must be real"),
    ({"m": -1.0}, r"the value of m = -1\.0, but m is declared positive\. Fix: pass m > 0"),
    ({"hbar": 0}, r"hbar is declared positive"),
    (
        {"bb": 0.1},
        r"unknown symbol\(s\) bb \(did you mean b\?\); the model's symbols are a_tilde, b, b_tilde, "
        r"epsilon_1, epsilon_2, hbar, k_x, k_y, m\. Fix",
    ),
    ({"Delta": 1.0, "gamma": 2.0}, r"unknown symbol\(s\) Delta, gamma;"),
    ({3: 0.1}, r"value keys must be SymPy symbols or their names, got 3"),
    ({"b": 0.1, b: 0.2}, r"two different values for b \(0\.1 and 0\.2\)"),
]


@pytest.mark.parametrize("change,match", VALUE_ERRORS)
def test_values_are_numbers_only(tmp_path, monkeypatch, change, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ssw.ModelError, match=match):
        ssw.effective_numeric(C4V, 2, {**POINT_K, **change})
    assert not (tmp_path / "HACKED").exists()


MALFORMED = [
    ({k: v for k, v in POINT_K.items() if k != "b"}, r"missing values for b;"),
    ([("b", 0.1)], r"values must be a mapping \{symbol or name: number\}, got list"),
    ("b=0.1", r"values must be a mapping"),
]


@pytest.mark.parametrize("values,match", MALFORMED)
def test_malformed_values(values, match):
    with pytest.raises(ssw.ModelError, match=match):
        ssw.effective_numeric(C4V, 2, values)


_SYMBOLS = {str(s): s for s in C4V.H.free_symbols}
#: every accepted spelling gives the same numbers as plain floats keyed by name
ACCEPTED = [
    {_SYMBOLS[k]: v for k, v in POINT_K.items()},  # SymPy symbols as keys
    {**POINT_K, "b": np.float64(0.1), "m": np.int64(1)},
    {**POINT_K, "b": Fraction(1, 10), "epsilon_2": Fraction(1)},
    {**POINT_K, "b": sympy.Rational(1, 10), "hbar": sympy.Integer(1), "a_tilde": sympy.Float(0.3)},
    {**POINT_K, "b": complex(0.1, 0.0)},  # a zero imaginary part is a real number
    {**POINT_K, "m": np.float32(1.0), "epsilon_1": np.int8(0)},
    {**POINT_K, "gamma_1": 0.5, "alpha_0": "ignored, never read"},  # the paper's symbols this model lacks
    {**POINT_K, "b": 0.1, b: 0.1},  # the same value twice
    {**POINT_K, sympy.Symbol("b"): 0.1},  # a symbol without assumptions, same name
]


@pytest.mark.parametrize("values", ACCEPTED)
def test_accepted_values(values):
    H, _ = ssw.effective_numeric(C4V, 2, values)
    H_ref, _ = ssw.effective_numeric(C4V, 2, POINT_K)
    assert np.array_equal(H, H_ref) or np.abs(H - H_ref).max() < 1e-15


def test_pole_in_the_model_is_refused():
    Delta = sympy.Symbol("Delta", real=True)
    model = ssw.Model(sympy.Matrix([[0, v_], [v_, 1 / Delta]]), [1, 1], spin=False, momenta=())
    with pytest.raises(ssw.ModelError, match=r"H0 is not finite at these values \(an entry becomes zoo\)"):
        ssw.effective_numeric(model, 2, {"v": 0.1, "Delta": 0})
    with pytest.raises(ssw.ModelError, match=r"block 2 does not exist; the model has 2 blocks"):
        ssw.effective_numeric(model, 2, {"v": 0.1, "Delta": 1.0}, block=2)


# ----------------------------------------------------------------------------- 2. leading_order keeps every term

LO_SUBS = {epsilon_2: epsilon_1 + E_g, b_tilde: b_tilde / (1 + b / E_g)}


def _series(M, order=1):
    """The Taylor polynomial of every entry in b by sympy.series (not by leading_order's code)."""
    return sympy.Matrix(M).applyfunc(lambda e: sympy.series(e, b, 0, order + 1).removeO())


#: a rational point for every symbol but b: there the entries are rational functions of b alone
RATIONAL = {
    a_tilde: sympy.Rational(3, 10),
    b_tilde: sympy.Rational(1, 5),
    E_g: sympy.Rational(11, 10),
    epsilon_1: sympy.Rational(-1, 7),
    hbar: sympy.Rational(9, 8),
    m: sympy.Rational(7, 5),
    k_x: sympy.Rational(1, 3),
    k_y: sympy.Rational(-2, 7),
}


def test_readme_leading_order_keeps_every_term(effective_of):
    """The README call (no momenta) equals sympy.series of every entry, symbol by symbol (issue 14, item 2)."""
    M = effective_of("c4v", 2).J["x", "y"]
    got = ssw.leading_order(M, small=b, substitutions=LO_SUBS)  # the README's example: momenta inferred
    want = _series(M.subs(LO_SUBS, simultaneous=True)).applyfunc(lambda e: sympy.cancel(sympy.together(e)))
    assert (got - want).applyfunc(sympy.expand).is_zero_matrix
    assert got.free_symbols == want.free_symbols == {a_tilde, b_tilde, b, E_g, hbar, m, k_x, k_y}
    assert got == ssw.leading_order(M, small=b, substitutions=LO_SUBS, momenta=(k_x, k_y))


def _operator(eff, kind, key):
    return eff.H if kind == "H" else getattr(eff, kind)[key]


LO_CASES = [("H", None), ("dJ", ("x", "y")), ("T", "z")]


@pytest.mark.parametrize("kind,key", LO_CASES)
def test_leading_order_keeps_every_term(effective_of, kind, key):
    """At a rational point the result is the exact Taylor polynomial in b: no term lost, none added."""
    M = _operator(effective_of("c4v", 2), kind, key)
    got = ssw.leading_order(M, small=b, substitutions=LO_SUBS)
    want = _series(M.subs(LO_SUBS, simultaneous=True).subs(RATIONAL))
    assert (got.subs(RATIONAL) - want).applyfunc(sympy.expand).is_zero_matrix
    assert not got.is_zero_matrix


def test_readme_leading_order_example_is_eq_48(effective_of):
    """J_{x,y} to leading order in b/E_g (Eq. 48, with b̃' of ERRATA 4): ã, b̃, k all there."""
    got = ssw.leading_order(effective_of("c4v", 2).J["x", "y"], small=b, substitutions=LO_SUBS)
    assert {a_tilde, b_tilde, k_x, k_y, b, E_g, hbar, m} <= got.free_symbols
    coeff = sympy.together((sympy.Matrix(ssw.pauli.SIGMA["0"]) * got).trace() / 2)
    assert (
        sympy.cancel(
            coeff - (2 * a_tilde * b_tilde / (E_g * hbar) + 4 * a_tilde * b * b_tilde * hbar * k_y**2 / (E_g**3 * m))
        )
        == 0
    )


z_ = sympy.Symbol("z", real=True)
LO_VALUES = [
    # no momenta at all: the whole coefficient is kept (the Poly without generators dropped ã b̃)
    (
        sympy.Matrix([[a_tilde * b_tilde / (E_g - b), 0], [0, b_tilde**2 / (E_g + b)]]),
        b,
        {},
        1,
        sympy.Matrix(
            [
                [a_tilde * b_tilde / E_g + a_tilde * b * b_tilde / E_g**2, 0],
                [0, b_tilde**2 / E_g - b * b_tilde**2 / E_g**2],
            ]
        ),
    ),
    # a 3×3 matrix, names as keys and as small
    (
        sympy.Matrix([[E_g * (1 + b) ** 2 * k_x, 0, 0], [0, z_, 0], [0, 0, sympy.sin(b) / b]]),
        "b",
        {"E_g": 2 * m},
        1,
        sympy.Matrix([[2 * m * k_x + 4 * b * m * k_x, 0, 0], [0, z_, 0], [0, 0, 1]]),
    ),
    (sympy.Matrix([[sympy.exp(b) * hbar]]), b, None, 2, sympy.Matrix([[hbar + b * hbar + b**2 * hbar / 2]])),
    # order 0: the value at b = 0, still every symbol
    (sympy.Matrix([[a_tilde / (E_g - b) * k_y]]), b, None, 0, sympy.Matrix([[a_tilde * k_y / E_g]])),
]


@pytest.mark.parametrize("M,small,subs,order,want", LO_VALUES)
def test_leading_order_values(M, small, subs, order, want):
    got = ssw.leading_order(M, small, substitutions=subs, order=order)
    assert (got - want).applyfunc(lambda e: sympy.simplify(e)).is_zero_matrix


LO_ERRORS = [
    (sympy.Matrix([[1 / b, 0], [0, 1]]), b, {}, 1, r"cannot expand in b: the expression is singular at b = 0"),
    (
        sympy.Matrix([[E_g]]),
        b,
        {"E_g": "__import__('os').system('touch HACKED')"},
        1,
        r"substitution for E_g must be a SymPy expression or a number, got .* \(str\); strings are never evaluated",
    ),
    (sympy.Matrix([[E_g]]), b, {"E_gap": 1}, 1, r"substitution key 'E_gap' names no symbol of the expression"),
    (sympy.Matrix([[E_g]]), "bb", None, 1, r"small 'bb' names no symbol of the expression; its symbols are E_g"),
    (sympy.Matrix([[E_g]]), 0.1, None, 1, r"small must be a SymPy symbol \(or its name\), got 0\.1"),
    (sympy.Matrix([[E_g]]), b, [(E_g, 1)], 1, r"substitutions must be a mapping"),
    (sympy.Matrix([[E_g]]), b, None, -1, r"order must be an integer ≥ 0"),
    (sympy.Matrix([[E_g]]), b, None, 1.5, r"order must be an integer ≥ 0"),
    (sympy.Matrix([[E_g]]), b, {E_g: True}, 1, r"substitution for E_g must be a SymPy expression or a number"),
]


@pytest.mark.parametrize("M,small,subs,order,match", LO_ERRORS)
def test_leading_order_errors(tmp_path, monkeypatch, M, small, subs, order, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ssw.ModelError, match=match):
        ssw.leading_order(M, small, substitutions=subs, order=order)
    assert not (tmp_path / "HACKED").exists()


# ----------------------------------------------------------------------------- 3. the observables at the edges

P_SMALL = {"hbar": 1, "m": 1, "epsilon_1": 0, "epsilon_2": 1, "a_tilde": 0.03, "b_tilde": 0.01, "b": 0.1}
P_RASHBA = {"hbar": 1, "m": 1, "alpha_0": 0.3}
P_G5 = {"hbar": 1, "m": 1, "alpha_0": 0.3, "b": 0.02}
P_LO = {"hbar": 1, "m": 1, "epsilon_1": 0, "E_g": 1, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.02}


@pytest.fixture(scope="module")
def observables():
    return {
        n: ssw.load_kernels(n, kind="observables")
        for n in ("samokhin_c4v", "samokhin_c4v_lo", "rashba_toy", "isolated_gamma5")
    }


OBS_ERRORS = [
    # the issue's reproducers: the band bends down; NaN hung forever
    (
        "J_s",
        (0.2, 0.0),
        {**POINT, "m": -1},
        ValueError,
        r"J_s\(\): m = -1 must be > 0 \(the model declares it "
        r"positive\)",
    ),
    ("J_s", (0.2, float("nan")), POINT, ValueError, r"J_s\(\): T = nan is not finite"),
    ("J_s_standard", (0.2, 0.0), {**POINT, "m": -1}, ValueError, r"m = -1 must be > 0"),
    ("J_s_standard", (0.2, float("nan")), POINT, ValueError, r"T = nan is not finite"),
    ("J_s", (float("nan"), 0.0), POINT, ValueError, r"mu = nan is not finite"),
    ("J_s", (float("inf"), 0.1), POINT, ValueError, r"mu = inf is not finite"),
    ("J_s", (0.2, float("inf")), POINT, ValueError, r"T = inf is not finite"),
    ("J_s_standard", (0.2, 0.01), {**POINT, "b_tilde": float("nan")}, ValueError, r"b_tilde = nan is not finite"),
    ("J_s", (0.2, 0.0), {**POINT, "hbar": 0}, ValueError, r"hbar = 0 must be > 0"),
    # ã = 3: ħ²/2m − ã²-type terms win, the effective band bends down (c = −8.59)
    (
        "J_s_standard",
        (0.2, 0.0),
        {**P_SMALL, "a_tilde": 3.0},
        ValueError,
        r"band curvature c = \(ε\(k\) − ε\(0\)\)/k² = -8\.59091 ≤ 0 .*bends down",
    ),
    ("J_s_standard", (0.2, 0.05), {**P_SMALL, "a_tilde": 3.0}, ValueError, r"band curvature"),
    # b = ε2 − ε1: a pole of the closed form (ZeroDivisionError before)
    ("J_s", (0.2, 0.0), {**POINT, "b": 1.0}, ValueError, r"closed form is singular at these parameters"),
    ("J_s", (0.2, 0.1), {**POINT, "b": 1.0}, ValueError, r"closed form is singular"),
    ("J_s_standard", (0.2, 0.1), {**POINT, "b": 1.0}, ValueError, r"closed form is singular"),
    ("J_s", (0.2,), {**POINT, "b": "0.1"}, TypeError, r"J_s\(\): b must be a real number, got '0\.1' \(str\)"),
    ("J_s", ("0.2",), POINT, TypeError, r"mu must be a real number, got '0\.2' \(str\)"),
    ("J_s", (0.2,), {**POINT, "b": True}, TypeError, r"b must be a real number, got True \(bool\)"),
    ("J_s", (0.2, 1j), POINT, TypeError, r"T must be a real number, got 1j \(complex\)"),
    ("J_s", (-0.1, 0.0), POINT, ValueError, r"below the band bottom"),
    ("J_s", (0.1, -0.1), POINT, ValueError, r"T = -0\.1 < 0"),
]


@pytest.mark.parametrize("function,args,params,error,match", OBS_ERRORS)
def test_generated_observables_refuse(observables, function, args, params, error, match):
    with pytest.raises(error, match=match):
        getattr(observables["samokhin_c4v"], function)(*args, **params)


#: independent references: the previous direct k-space quadrature of every band at 40 digits
#: (mpmath.mp.dps = 40), where it still had digits to spare; and exact limits
OBS_VALUES = [
    ("samokhin_c4v", "J_s_standard", 0.03, 0.005, POINT, 0.00037551741110074103),
    ("samokhin_c4v", "J_s_standard", -0.02, 0.01, POINT, 9.263089923356796e-05),
    ("samokhin_c4v_lo", "J_s_standard", 1.0, 0.3, P_LO, 0.0002634922854933281),
    ("rashba_toy", "J_s", 0.0, 0.02, P_RASHBA, 0.0024289515705613078),
    ("rashba_toy", "J_s", -0.02, 0.01, P_RASHBA, 0.002283660575860416),
    ("isolated_gamma5", "J_s", 0.01, 0.05, P_G5, 0.003708440503273018),
    ("isolated_gamma5", "J_s_standard", 0.2, 0.01, P_G5, 0.005729577959546811),
    # the issue's reproducer: 0.0 at μ/T = 1e7 before. Eq. (4)-type: independent of μ ≥ 0 at T = 0, and
    # the thermal correction is O(e^{−μ/T}), so the T = 0 closed form (3.155e-11) is the answer
    ("samokhin_c4v", "J_s_standard", 1e5, 0.01, P_SMALL, 3.155264603866911e-11),
    ("samokhin_c4v", "J_s_standard", 1e12, 0.01, P_SMALL, 3.155264603866911e-11),
    ("rashba_toy", "J_s", 1e6, 1e-3, P_RASHBA, 0.3**3 / (3 * math.pi)),  # Eq. (C6), ħ = m = 1
    ("samokhin_c4v", "J_s_standard", 1e5, 0.0, P_SMALL, 3.155264603866911e-11),
]


@pytest.mark.parametrize("name,function,mu,T,params,want", OBS_VALUES)
def test_generated_observables_values(observables, name, function, mu, T, params, want):
    assert getattr(observables[name], function)(mu, T, **params) == pytest.approx(want, rel=3e-14)


#: T → 0 at fixed μ: J_s ∝ μ² + (π²/3)T² (−T²Li₂(−e^{μ/T}) = μ²/2 + π²T²/6 + O(e^{−μ/T})), and
#: J_s_standard (μ-independent at T = 0) changes by O(e^{−μ/T}) only
LIMITS = [(mu, T) for mu in (0.2, 3.0) for T in (1e-300, 1e-12, 1e-6, 1e-3)]


@pytest.mark.parametrize("mu,T", LIMITS)
def test_T_to_zero_is_continuous(observables, mu, T):
    O = observables["samokhin_c4v"]
    assert O.J_s(mu, T, **P_SMALL) == pytest.approx(
        O.J_s(mu, 0.0, **P_SMALL) * (1 + (math.pi * T / mu) ** 2 / 3), rel=1e-13
    )
    assert O.J_s_standard(mu, T, **P_SMALL) == pytest.approx(O.J_s_standard(mu, 0.0, **P_SMALL), rel=1e-13)


NUMBER_TYPES = [
    0.1,
    np.float64(0.1),
    np.float32(0.25),
    np.int64(2),
    Fraction(1, 10),
    sympy.Rational(1, 10),
    sympy.Float(0.1),
    mpmath.mpf(0.1),
    2,
]


@pytest.mark.parametrize("value", NUMBER_TYPES)
def test_generated_observables_take_every_real_type(observables, value):
    O = observables["samokhin_c4v"]
    assert O.J_s(0.2, 0.01, **{**POINT, "b_tilde": value}) == O.J_s(0.2, 0.01, **{**POINT, "b_tilde": float(value)})
    assert O.J_s_standard(value, 0.0, **POINT) == O.J_s_standard(float(value), 0.0, **POINT)


def test_generated_observables_keep_mpmath_precision(observables):
    """The guard digits are on top of the caller's mpmath.mp.dps, which is restored."""
    dps = mpmath.mp.dps
    value = observables["isolated_gamma5"].J_s(0.01, 0.05, **P_G5)
    assert mpmath.mp.dps == dps and value == pytest.approx(0.003708440503273018, rel=1e-15)


H_R = sympy.Matrix(
    [
        [hbar**2 * (k_x**2 + k_y**2) / (2 * m), 0.3 * (k_y + sympy.I * k_x)],
        [0.3 * (k_y - sympy.I * k_x), hbar**2 * (k_x**2 + k_y**2) / (2 * m)],
    ]
)
J_R = sympy.Matrix([[hbar * k_y / m, 0], [0, hbar * k_y / m]])
mu_sym = sympy.Symbol("mu", real=True)

INTEGRATOR_ERRORS = [
    # closed forms (SymPy): numbers for mu_, T_ are checked, strings never sympified
    (lambda: equilibrium_spin_current(H_R, J_R, mu_=float("nan"), T_=0), r"mu_ must be finite, got nan"),
    (lambda: equilibrium_spin_current(H_R, J_R, mu_=0.2, T_=float("inf")), r"T_ must be finite, got inf"),
    (lambda: equilibrium_spin_current(H_R, J_R, mu_="0.2", T_=0), r"mu_ must be a real number, got the str"),
    (lambda: equilibrium_spin_current(H_R, J_R, mu_=0.2, T_=-1), r"T_ = -1 < 0"),
    (lambda: equilibrium_spin_current(H_R, J_R, mu_=-0.2, T_=0), r"mu_ = -0\.2\d* lies below the band bottom"),
    (
        lambda: equilibrium_spin_current(H_R, J_R, couplings=[a_tilde], order=2, mu_=mu_sym, T_=float("nan")),
        r"T_ must be finite",
    ),
    # numeric k-space integrators
    (lambda: effective_spin_current(H_R, J_R, float("nan"), 0.0, {"hbar": 1, "m": 1}), r"mu must be finite"),
    (lambda: effective_spin_current(H_R, J_R, 0.2, float("inf"), {"hbar": 1, "m": 1}), r"T must be finite"),
    (lambda: effective_spin_current(H_R, J_R, 0.2, 0.0, {"hbar": 1, "m": "1"}), r"strings are never evaluated"),
    (lambda: effective_spin_current(H_R, J_R, 0.2, 0.0, {"hbar": 1, "m": -1j}), r"value of m must be real"),
    (
        lambda: microscopic_spin_current(ssw.models.rashba_toy(), 0.3, float("nan"), "x", "y", P_RASHBA),
        r"T must be finite",
    ),
    (lambda: effective_spin_current(H_R, J_R, 0.2, 0.0, {"hbar": 1, "m": 1}, rtol=-1), r"rtol and atol must be >= 0"),
    (lambda: effective_spin_current(H_R, J_R, 0.2, 0.0, {"hbar": 1, "m": 1}, n_scan=1.5), r"n_scan must be an integer"),
]


@pytest.mark.parametrize("call,match", INTEGRATOR_ERRORS)
def test_integrators_refuse_non_finite_input(call, match):
    with pytest.raises(ssw.ModelError, match=match):
        call()


def test_messages_name_the_fix():
    """Every refusal above says what to do (one clear line with 'Fix:' where a fix is not obvious)."""
    for model, order, values, _ in GAP_ERRORS[:2]:
        with pytest.raises(ssw.ModelError) as info:
            ssw.effective_numeric(model, order, values)
        assert re.search(r"Fix: ", str(info.value)) and "\n" not in str(info.value)
