"""Shortcuts around SymPy's multivariate factorisation give exactly its results.

The closed forms print numerators as ``sympy.factor`` would; the shortcuts only
skip work (Wang's algorithm) when the answer is known, so they must agree with
``Poly.factor_list`` factor for factor, content and sign included.
"""

import random

import pytest
import sympy
from sympy.polys.domains import QQ

from symbolic_sw.transformation.closed_form import _irreducible

x, y, z, w = sympy.symbols("x y z w", real=True)


def _random_polys(seed, count):
    rng = random.Random(seed)
    multipliers = [1, 1, 1, x + y, y - z, 2 * z + 3, w * y - 1, x**2 - y**2]
    for _ in range(count):
        terms = [
            sympy.Rational(rng.randint(-9, 9), rng.randint(1, 4))
            * x ** rng.randint(0, 1)
            * y ** rng.randint(0, 2)
            * z ** rng.randint(0, 2)
            * w ** rng.randint(0, 1)
            for _ in range(rng.randint(1, 5))
        ]
        e = sympy.expand(sum(terms) * rng.choice(multipliers))
        if e.free_symbols:
            yield sympy.Poly(e, *sorted(e.free_symbols, key=str), domain=QQ)


@pytest.mark.parametrize("seed", range(3))
def test_irreducible_shortcut_agrees_with_factor_list(seed):
    decided = 0
    for poly in _random_polys(seed, 150):
        got = _irreducible(poly)
        ref = poly.factor_list()
        if got is None:
            continue
        decided += 1
        assert type(got[0]) is type(ref[0]) and got[0] == ref[0], poly
        assert [(f.as_expr(), k) for f, k in got[1]] == [(f.as_expr(), k) for f, k in ref[1]], poly
        assert len(ref[1]) == 1 and ref[1][0][1] == 1  # really irreducible
    assert decided > 10  # the shortcut is exercised


@pytest.mark.parametrize(
    "expr",
    [
        (x + y) * (x - y),  # reducible: gcd test must not claim irreducibility
        x * (y + 1),  # x divides it
        (2 * x + 2) * (y + 3),
        x**2 + y**2,  # degree 2 in every variable: left to factor_list
    ],
)
def test_irreducible_shortcut_declines(expr):
    assert _irreducible(sympy.Poly(sympy.expand(expr), x, y, domain=QQ)) is None
