"""The paper's notation: symbol names change, every other SymPy object prints as SymPy prints it."""

import pickle

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.notation import PaperMatrix, display_form, operator_layout
from symbolic_sw.symbols import E_g, a_tilde, b, b_tilde, epsilon_1, epsilon_2, hbar, k_x, k_y, m

x = sympy.Symbol("x", real=True)
z = sympy.Symbol("z")  # complex: its conjugate stays unevaluated
S = sympy.S


@pytest.mark.parametrize(
    "expr",
    [
        S.Pi,
        S.Exp1,
        S.ImaginaryUnit,
        S.Infinity,
        S.NegativeInfinity,
        S.ComplexInfinity,
        S.NaN,
        S.EulerGamma,
        S.GoldenRatio,
        S.Catalan,
        S.TribonacciConstant,
        S.Half,
        sympy.sqrt(2),
        sympy.pi * sympy.I * x,
        sympy.exp(sympy.I * x) / 2,
        sympy.polylog(2, -sympy.exp(x)),
        sympy.cos(x) ** 2 + sympy.sin(x),
        sympy.Piecewise((x, x > 0), (0, True)),
        sympy.Abs(x),
        sympy.Rational(3, 7),
        sympy.Float(2.5),
        sympy.Float("1e-30"),
        sympy.conjugate(z),
        sympy.conjugate(z) * z / 3,
        sympy.exp(x),
        sympy.sqrt(x),
        sympy.cos(x),
        sympy.exp(-(x**2)) * sympy.sqrt(3) * sympy.pi,
        sympy.oo * x,
    ],
)
def test_sympy_objects_print_as_in_sympy(expr):
    assert ssw.latex(expr) == sympy.latex(expr)


@pytest.mark.parametrize(
    "expr, text",
    [
        (hbar, r"\hbar"),
        (epsilon_1, r"\varepsilon_1"),
        (a_tilde * sympy.pi, r"\pi \tilde{a}"),
        (sympy.I * b_tilde / E_g, r"\frac{i \tilde{b}}{\mathcal{E}_g}"),
    ],
)
def test_paper_names(expr, text):
    assert ssw.latex(expr) == text


# -- gap variables (issue 15): E_g = ε2 - ε1 is substituted on H before the transformation -----------------

POINT = {hbar: 1.0, m: 0.7, epsilon_1: -0.3, epsilon_2: 0.9, a_tilde: 0.3, b_tilde: 0.2, b: 0.1, k_x: 0.2, k_y: -0.1}


def _numbers(M):
    return np.array(sympy.Matrix(M).subs(POINT).evalf(), dtype=complex)


def test_shipped_model_declares_its_gap():
    assert ssw.models.samokhin_c4v().gaps == {E_g: epsilon_2 - epsilon_1}
    assert ssw.models.rashba_toy().gaps == {}


def test_epsilon_1_only_in_the_offset_of_H(effective_of):
    """In the paper's variables ε1 is the energy offset of H_eff and appears nowhere else."""
    eff = effective_of("c4v", 2)
    H = display_form(eff.H)
    assert (H - epsilon_1 * sympy.eye(2)).free_symbols.isdisjoint({epsilon_1, epsilon_2})
    for M in (eff.S["x"], eff.T["y"], eff.J["x", "y"], eff.dJ["z", "x"]):
        assert display_form(M).free_symbols.isdisjoint({epsilon_1, epsilon_2})
    # the parameters users pass stay ε1, ε2
    assert E_g not in eff.H.free_symbols and {epsilon_1, epsilon_2} <= eff.H.free_symbols


def test_gap_variables_change_no_value(effective_of):
    """gaps={} (no change of variables) gives the same numbers, and so does a user operator with ε2."""
    model = ssw.models.samokhin_c4v()
    plain = ssw.effective(ssw.Model(model.H, [2, 4], gaps={}), order=2)
    eff = effective_of("c4v", 2)
    for a, c in [(eff.H, plain.H), (eff.J["x", "y"], plain.J["x", "y"]), (eff.transform(model.H), plain.H)]:
        assert np.allclose(_numbers(a), _numbers(c), rtol=1e-13, atol=1e-13)
    assert np.allclose(eff.evaluate("H", POINT), _numbers(plain.H), rtol=1e-12, atol=1e-12)


def _bad_gaps():
    return [
        [1],
        {"E_g": epsilon_2 - epsilon_1},  # a string, not a symbol
        {E_g: epsilon_2 + epsilon_1},  # not a difference
        {b: epsilon_2 - epsilon_1},  # b is a parameter of H already
        {E_g: epsilon_2 - sympy.Symbol("epsilon_9", real=True)},  # not a parameter of H
        {E_g: epsilon_2 - epsilon_1, sympy.Symbol("E_h", real=True): epsilon_2 - epsilon_1},  # repeated
    ]


@pytest.mark.parametrize("gaps", _bad_gaps())
def test_bad_gap_declaration_is_one_clear_error(gaps):
    H = ssw.models.samokhin_c4v().H
    with pytest.raises(ssw.ModelError, match=r"gaps.*Fix:"):
        ssw.Model(H, [2, 4], gaps=gaps)


# -- Jupyter: effective operators are SymPy matrices that display in the paper's notation --------------------


@pytest.mark.parametrize(
    "get, symbol",
    [
        (lambda eff: eff.H, r"\hat{\mathcal{H}}"),
        (lambda eff: eff.J["x", "y"], r"\hat{\mathcal{J}}_{x,y}"),
        (lambda eff: eff.dJ["x", "y"], r"\delta\hat{\mathcal{J}}_{x,y}"),
        (lambda eff: eff.S["x"], r"\hat{\mathcal{S}}_{x}"),
        (lambda eff: eff.operator("T_z"), r"\hat{\mathcal{T}}_{z}"),
    ],
)
def test_effective_operators_display_in_paper_notation(effective_of, get, symbol):
    M = get(effective_of("c4v", 2))
    text = M._repr_latex_()
    assert isinstance(M, sympy.MatrixBase) and isinstance(M, PaperMatrix)
    assert text.startswith("$") and text.endswith("$") and symbol in text
    assert r"\tilde{a}" in text and "a_{tilde}" not in text and r"\hat{\sigma}" in text
    assert r"\varepsilon_2" not in text  # written with the gap
    assert r"\mathcal{E}_g" in text or M.free_symbols.isdisjoint({epsilon_1, epsilon_2})


def test_paper_matrix_is_a_sympy_matrix(effective_of):
    eff = effective_of("c4v", 2)
    H, S = eff.H, eff.S["x"]
    old = sympy.Matrix(H)  # a plain SymPy matrix with the same entries
    assert type(old) is sympy.MutableDenseMatrix
    assert H == old and old == H and H.shape == (2, 2) and H[0, 1] == old[0, 1]
    for result in (H + S, H - old, 2 * H, H * S, H.T, H.subs(b, 0), H.applyfunc(sympy.expand)):
        assert isinstance(result, sympy.MatrixBase) and result.shape == (2, 2)
    assert (H - old).is_zero_matrix and (H * S - old * sympy.Matrix(S)).applyfunc(sympy.expand).is_zero_matrix
    assert (H.subs(b, 0) - old.subs(b, 0)).is_zero_matrix
    assert sympy.simplify(H - old) == sympy.zeros(2)
    assert (H + S)._repr_latex_().startswith("$")  # a derived matrix shows without a name
    back = pickle.loads(pickle.dumps(H))
    assert back == H and back.operator_name == "H"


def test_non_square_paper_matrix_prints_plainly():
    M = PaperMatrix([[a_tilde, E_g]])
    assert M._repr_latex_() == "$\\displaystyle " + ssw.latex(M) + "$"


# -- long sums are broken into rows (the compiled check is tests/test_latex_output.py) -----------------------


def test_long_sum_is_broken_into_rows():
    terms = sum(a_tilde**n * k_x**n / (E_g - b) ** n for n in range(1, 25))
    rows = operator_layout(sympy.diag(terms, terms))
    assert len(rows) > 4
    assert rows[0][1] == ("open", r"\biggl[") and rows[-1][-1] == ("basis", r"\hat{\sigma}_0")


def test_one_huge_term_is_split_inside():
    r"""A single summand wider than a row (its numerator a long sum) is broken inside \bigl( … \bigr)."""
    numerator = sum(sympy.Symbol(f"c_{n}", real=True) * a_tilde**n * b_tilde ** (n % 3) for n in range(30))
    term = k_x**2 * numerator / ((E_g - b) ** 2 * (E_g + b))
    rows = operator_layout(sympy.diag(term, term))
    text = " ".join(t for row in rows for _, t in row)
    assert len(rows) > 3 and r"\bigl(" in text and r"\bigr)" in text
    assert text.count(r"\frac") == 1  # the prefactor, printed once
