"""The paper's notation: symbol names change, every other SymPy object prints as SymPy prints it."""

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.symbols import E_g, a_tilde, b_tilde, epsilon_1, hbar

x = sympy.Symbol("x", real=True)
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
