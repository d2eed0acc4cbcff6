"""The FLINT and SymPy backends of the exact algebra give identical closed forms (issue 18).

Identical means ``srepr``-identical SymPy expressions, so that ``generated/`` does
not depend on the backend: every shipped derivation (``derive``, what ``generate``
renders), random models with non-diagonal blocks, and the models of the issue on
general coefficients (surds, π, atoms, band-dependent masses, the Kane model).
The FLINT building blocks are checked on their own against SymPy's: factorisation,
lex division by one polynomial, and the relations of the generator table.
"""

import random

import pytest
import sympy
from sympy.polys.domains import QQ
from test_any_model import COS, EXP, Delta, P, _kane_models, _spinful_chain, g, m_1, sp_chain, t, two_band
from test_random import CASES, random_model

import symbolic_sw as ssw
from symbolic_sw.derivation import list_derivations
from symbolic_sw.errors import ModelError
from symbolic_sw.pipeline.derive import derive
from symbolic_sw.symbols import E_g, hbar, k_x
from symbolic_sw.transformation.algebra import Generators, resolve_backend
from symbolic_sw.transformation.closed_form import flint_factor_exprs
from symbolic_sw.transformation.flint_algebra import make_algebra

BACKENDS = ("flint", "sympy")
#: shipped derivations cheap enough for every run (the others are @slow; all take < 3 s per backend)
FAST_DERIVATIONS = {"isolated_gamma5", "rashba_toy", "samokhin_c4v", "samokhin_g4g5"}


def same_srepr(a, b):
    """``a`` and ``b`` (dicts of SymPy matrices) hold the same expressions, node for node."""
    assert a.keys() == b.keys()
    for name in a:
        assert sympy.srepr(a[name]) == sympy.srepr(b[name]), name


def closed_forms(model, order, operators=(), **kw):
    """``{name: closed form}`` on each backend."""
    out = {}
    for backend in BACKENDS:
        eff = ssw.effective(model, order, backend=backend, **kw)
        out[backend] = {"H": eff.H, **{name: eff.operator(name) for name in operators}}
    return out


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=() if n in FAST_DERIVATIONS else pytest.mark.slow)
        for n in list_derivations()  # every shipped derivation, at its own order
    ],
)
def test_shipped_derivations_identical(name, monkeypatch):
    out = {}
    for backend in BACKENDS:
        monkeypatch.setenv("SYMBOLIC_SW_BACKEND", backend)  # derive() calls effective() without a backend
        out[backend] = dict(derive(name).operators)
    same_srepr(out["flint"], out["sympy"])


@pytest.mark.parametrize(
    "n_a,n_b,seed,symbolic,order",
    [(*case, 2) if case[0] + case[1] <= 4 else pytest.param(*case, 2, marks=pytest.mark.slow) for case in CASES]
    + [pytest.param(*case, 3, marks=pytest.mark.slow) for case in CASES],
)
def test_random_models_identical(n_a, n_b, seed, symbolic, order):
    model, O = random_model(seed, n_a, n_b, symbolic)
    out = {}
    for backend in BACKENDS:
        eff = ssw.effective(model, order, backend=backend)
        out[backend] = {"H": eff.H, "O": eff.transform(O)}
    same_srepr(out["flint"], out["sympy"])


def _tight_binding(kind):
    hss, hpp, hsp = sp_chain(kind)
    return two_band(hsp, hpp, top=hss)


ANY_MODELS = [
    ("surd coupling", lambda: two_band(sympy.sqrt(2) * P * k_x), 4, ()),
    ("band-dependent mass", lambda: two_band(g * k_x, E_g, top=hbar**2 * k_x**2 / (2 * m_1)), 4, ()),
    ("pi", lambda: two_band(sympy.pi * P * k_x, top=sympy.pi * E_g), 4, ()),
    ("over a square root", lambda: two_band(P * k_x / sympy.sqrt(E_g + Delta)), 4, ()),
    ("cos in the gap", lambda: two_band(sympy.sqrt(3) * P * k_x, top=E_g - sympy.pi * t * COS), 2, ()),
    ("tight binding trig", lambda: _tight_binding("trig"), 3, ()),
    ("tight binding exp", lambda: _tight_binding("exp"), 3, ()),
    ("imaginary gap", lambda: two_band(t * (1 - EXP), top=3 + sympy.I * t * (1 / EXP - EXP)), 2, ()),
    ("spinful chain", _spinful_chain, 2, ("J_z_x", "dJ_z_x", "S_z")),
    ("Kane |J,mJ>", lambda: _kane_models()[0], 2, ("S_z",)),
]


@pytest.mark.parametrize("make,order,operators", [row[1:] for row in ANY_MODELS], ids=[row[0] for row in ANY_MODELS])
def test_general_coefficients_identical(make, order, operators):
    out = closed_forms(make(), order, operators)
    same_srepr(out["flint"], out["sympy"])


@pytest.mark.slow
def test_kane_order_4_identical():
    out = closed_forms(_kane_models()[0], 4, ("S_z",))
    same_srepr(out["flint"], out["sympy"])


# -- the FLINT building blocks against SymPy's ---------------------------------------------------

X = sympy.symbols("x0:4")


def _random_poly(rng, terms, degree=3):
    return sum(
        sympy.Rational(rng.randint(-9, 9), rng.randint(1, 4)) * sympy.Mul(*[x ** rng.randint(0, degree) for x in X])
        for _ in range(terms)
    )


@pytest.mark.parametrize("seed", range(8))
def test_flint_factorisation_is_sympys(seed):
    """Products of random factors (with a sign and a rational content): same content, same factor set."""
    rng = random.Random(seed)
    expr = sympy.Rational(rng.choice([-3, -1, 2]), 7) * sympy.Mul(
        *[_random_poly(rng, rng.randint(1, 4)) ** rng.randint(1, 2) for _ in range(3)]
    )
    poly = sympy.Poly(sympy.expand(expr), *X, domain=QQ)
    c1, f1 = flint_factor_exprs({m: QQ.convert(c) for m, c in poly.as_dict().items()}, X)
    c2, f2 = poly.factor_list()
    assert c1 == c2
    assert sorted((sympy.srepr(f), e) for f, e in f1) == sorted((sympy.srepr(f.as_expr()), e) for f, e in f2)


def _flint_and_sympy(exprs, factors=()):
    gens = Generators(exprs, momenta=(k_x,))
    return gens, make_algebra(gens, list(factors), (0,), "flint"), make_algebra(gens, list(factors), (0,), "sympy")


@pytest.mark.parametrize("seed", range(4))
def test_flint_division_by_a_gap_factor_is_sympys(seed):
    """Lex quotient and remainder by one polynomial are unique: FLINT's equal SymPy's ``div``."""
    rng = random.Random(seed)
    f = sympy.expand(X[1] + 2 * X[0] * X[2] - X[3] ** 2 + seed)
    p = sympy.expand(_random_poly(rng, 12) * f + _random_poly(rng, 5))
    _, fl, sp = _flint_and_sympy([p, f], [f])
    num = sp.poly(p)
    q_ref, r_ref = num.div(sp.factors[0])
    q, r = fl.reference.divmod_factor(num, 0)
    assert (q, r) == (q_ref, r_ref)
    s = _random_poly(rng, 6)
    num, exps = fl.reduce_entry((fl.poly(sympy.expand(s * f)), (2,)))  # exact division in C
    assert exps == (1,) and fl.to_ring(num) == sp.poly(s)


RELATION_EXPRS = [
    sympy.sqrt(2) * P + sympy.I * sympy.sqrt(3) * hbar / m_1 + m_1,
    sympy.pi / hbar + sympy.I * EXP + 1 / EXP - sympy.sqrt(6),
    sympy.sqrt(E_g + Delta) * P - sympy.I / sympy.sqrt(E_g + Delta) + 1 / hbar**2,
]


@pytest.mark.parametrize("expr", RELATION_EXPRS, ids=["surds i 1/m", "pi exp(ika)", "atom and inverse"])
def test_flint_relations_reduce_like_sympy(expr):
    """i² = −1, (√p)² = p and x·(1/x) = 1 by division by binomials: the same reduced products."""
    _, fl, sp = _flint_and_sympy([expr])
    results = []
    for alg in (fl, sp):
        a = alg.entry(expr)
        b = alg.add_entries([alg.mul_entries(a, a), alg.scale_entry(a, sympy.I)])
        c = alg.mul_entries(alg.mul_entries(a, b), alg.scale_entry(b, sympy.I))
        results.append([alg.to_reference(e)[1] for e in (c, alg.conj_entry(c))])
    assert results[0] == results[1]


# -- choosing the backend ----------------------------------------------------------------------


def test_backend_selection(monkeypatch):
    monkeypatch.delenv("SYMBOLIC_SW_BACKEND", raising=False)
    assert resolve_backend() == "flint"
    monkeypatch.setenv("SYMBOLIC_SW_BACKEND", "sympy")
    assert resolve_backend() == "sympy"
    assert resolve_backend("flint") == "flint"
    assert ssw.effective(two_band(P * k_x), 2)._engine.alg.backend == "sympy"


@pytest.mark.parametrize("where", ["argument", "environment"])
def test_unknown_backend_is_one_clear_error(where, monkeypatch):
    if where == "environment":
        monkeypatch.setenv("SYMBOLIC_SW_BACKEND", "numpy")
        call = lambda: ssw.effective(two_band(P * k_x), 2)  # noqa: E731
    else:
        call = lambda: ssw.effective(two_band(P * k_x), 2, backend="Flint")  # noqa: E731
    with pytest.raises(ModelError, match=r"not an exact-algebra backend.*Fix: use one of 'flint', 'sympy'"):
        call()
