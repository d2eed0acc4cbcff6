"""The fast path of the generated numpy kernels (coefficient tables × shared monomials).

Every operator of every shipped derivation: the fast path equals the general
(elementwise closed-form) path and the symbolic source; array-valued parameters,
scalar and empty momenta, block boundaries, the fused ``evaluate`` and its errors.
"""

import dataclasses

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.codegen.kernels import kernel_functions, polynomial_terms
from symbolic_sw.derivation import list_derivations, load_derivation
from symbolic_sw.pipeline import build, render
from symbolic_sw.symbols import k_x, k_y

NAMES = list_derivations()
REL = 1e-12


def _values(name, rng):
    """The spec's parameter values, each moved by up to ±30 % (zero ones moved off zero)."""
    d = load_derivation(name)
    K = ssw.load_kernels(name)
    return {
        p: (lambda v: v * (1 + 0.6 * (rng.random() - 0.5)) + (0.1 * rng.random() if v == 0 else 0))(
            d.values.get(p, 1.0)
        )
        for p in K.PARAMETERS
    }


def _fast_kernels(name, monkeypatch, block=None):
    """The generated module with the fast path taken for any number of points."""
    K = ssw.load_kernels(name)
    monkeypatch.setattr(K, "_FAST_MIN_POINTS", 0)
    if block is not None:
        monkeypatch.setattr(K, "_BLOCK", block)
    return K


def _close(a, b):
    scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= REL * scale


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_operator_is_polynomial_in_the_momenta(name):
    """The lead of the fast path: no momentum in a denominator anywhere (gap factors are k-free)."""
    K = ssw.load_kernels(name)
    for op, f in K.OPERATORS.items():
        assert f.terms is not None and f.coefficients is not None, op
        assert len(f.coefficients(**{p: 0.37 + i for i, p in enumerate(K.PARAMETERS)})) == len(f.terms)


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_equals_general_path(name, monkeypatch):
    """Random points in blocks of 7 (so several blocks and a partial last one), every operator."""
    K = _fast_kernels(name, monkeypatch, block=7)
    rng = np.random.default_rng(sum(map(ord, name)))
    for _ in range(2):
        vals = _values(name, rng)
        kx, ky = rng.uniform(-0.7, 0.7, (2, 40))
        floats = {p: np.float64(v) for p, v in vals.items()}
        for op, f in K.OPERATORS.items():
            fast = f(kx, ky, **vals)
            general = f.__wrapped__(kx, ky, **floats)
            assert fast.dtype == complex and fast.flags.c_contiguous
            assert _close(fast, general), (name, op)


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_equals_symbolic_source(name, monkeypatch):
    """The coefficient tables against ``evalf`` of the closed forms they were built from."""
    derived, _ = build(name)
    K = _fast_kernels(name, monkeypatch)
    rng = np.random.default_rng(len(name) + 11)
    vals = _values(name, rng)
    kx, ky = (float(k) for k in rng.uniform(-0.6, 0.6, 2))
    symbols = {str(s): s for s in derived.parameters}
    subs = {symbols[p]: sympy.Rational(repr(v)) for p, v in vals.items()}
    subs.update({k_x: sympy.Rational(repr(kx)), k_y: sympy.Rational(repr(ky))})
    for op, M in derived.operators.items():
        exact = np.array(M.subs(subs).evalf(30), dtype=complex)
        assert _close(K.OPERATORS[op](np.array([kx]), np.array([ky]), **vals)[0], exact), (name, op)


@pytest.mark.parametrize("name", ["samokhin_c4v_order4", "isolated_gamma5"])
def test_scalar_empty_and_grid_momenta(name, monkeypatch):
    K = _fast_kernels(name, monkeypatch, block=5)
    vals = _values(name, np.random.default_rng(3))
    floats = {p: np.float64(v) for p, v in vals.items()}
    grid = (np.linspace(-0.5, 0.5, 6)[:, None], np.linspace(-0.4, 0.3, 4)[None, :])
    for op, f in K.OPERATORS.items():
        assert _close(f(0.2, -0.3, **vals), f.__wrapped__(np.float64(0.2), np.float64(-0.3), **floats))
        assert f(0.2, -0.3, **vals).shape == K.SHAPE
        assert f(np.array([]), np.array([]), **vals).shape == (0, *K.SHAPE)
        assert f(np.zeros((3, 0)), 0.1, **vals).shape == (3, 0, *K.SHAPE)
        assert _close(f(*grid, **vals), f.__wrapped__(*grid, **floats)), op
        assert f(*grid, **vals).shape == (6, 4, *K.SHAPE)


@pytest.mark.parametrize("name", ["samokhin_c4v_order4", "samokhin_a19"])
def test_array_valued_parameters_broadcast(name, monkeypatch):
    """Parameters given as arrays take the general path; each point equals the fast path there."""
    K = _fast_kernels(name, monkeypatch)
    rng = np.random.default_rng(5)
    vals = _values(name, rng)
    b = vals["b"] * np.array([0.5, 1.0, 1.5, -1.0])
    kx, ky = rng.uniform(-0.6, 0.6, (2, 3, 1))
    got = K.evaluate(kx, ky, **{**vals, "b": b})
    for op, f in K.OPERATORS.items():
        out = f(kx, ky, **{**vals, "b": b})
        assert out.shape == (3, 4, *K.SHAPE)
        assert np.array_equal(out, got[op])
        for j, bj in enumerate(b):
            assert _close(out[:, j], f(kx[:, 0], ky[:, 0], **{**vals, "b": bj})), (op, j)


def test_fast_path_is_taken_on_many_points(monkeypatch):
    """Without patching, ≥ _FAST_MIN_POINTS points go through the coefficient tables, fewer do not."""
    K = ssw.load_kernels("samokhin_c4v")
    calls = []
    original = K._polynomials
    monkeypatch.setattr(K, "_polynomials", lambda *a: calls.append(len(a[1])) or original(*a))
    vals = _values("samokhin_c4v", np.random.default_rng(0))
    kx = np.linspace(-0.5, 0.5, K._FAST_MIN_POINTS)
    K.J_x_y(kx, kx[::-1], **vals)
    K.evaluate(kx, 0.3, operators=["H", "J_x_y"], **vals)
    assert calls == [1, 2]
    K.J_x_y(kx[:10], 0.3, **vals)
    K.J_x_y(kx, 0.3, **{**vals, "b": np.full(kx.shape, vals["b"])})
    assert calls == [1, 2]


@pytest.mark.parametrize("name", ["samokhin_c4v_order4", "isolated_gamma5", "rashba_toy"])
def test_evaluate_equals_each_kernel(name, monkeypatch):
    K = _fast_kernels(name, monkeypatch, block=9)
    rng = np.random.default_rng(9)
    vals = _values(name, rng)
    kx, ky = rng.uniform(-0.6, 0.6, (2, 50))
    everything = K.evaluate(kx, ky, **vals)
    assert list(everything) == list(K.OPERATORS)
    for op, f in K.OPERATORS.items():
        assert _close(everything[op], f(kx, ky, **vals)), op
        assert everything[op].flags.c_contiguous
    some = K.evaluate(kx, ky, operators=["J_z_y", "H", "J_z_y"], **vals)
    assert list(some) == ["J_z_y", "H"]
    assert _close(some["H"], everything["H"])
    assert list(K.evaluate(0.1, 0.2, operators="H", **vals)) == ["H"]
    assert K.evaluate(0.1, 0.2, operators=[], **vals) == {}
    assert K.evaluate(np.array([]), 0.2, operators=["S_x"], **vals)["S_x"].shape == (0, *K.SHAPE)


@pytest.mark.parametrize("points", [5000, 7])  # fast path; general path (few points)
def test_evaluate_into_given_arrays(points):
    """``out=``: the results are written into (and returned as) the given arrays, same values."""
    K = ssw.load_kernels("samokhin_c4v_order4")
    vals = _values("samokhin_c4v_order4", np.random.default_rng(5))
    kx, ky = np.random.default_rng(6).uniform(-0.5, 0.5, (2, points))
    names = ["H", "J_x_y", "S_z"]
    expected = K.evaluate(kx, ky, operators=names, **vals)
    out = {n: np.full((points, 2, 2), np.nan, dtype=complex) for n in names}
    for _ in range(2):  # twice: reuse, nothing left from before
        got = K.evaluate(kx, ky, operators=names, out=out, **vals)
        for n in names:
            assert got[n] is out[n]
            assert np.array_equal(got[n], expected[n]), n
    bad = {**out, "H": np.empty((points, 2, 2))}
    with pytest.raises(ValueError, match=r"out\['H'\] must be a writeable C-contiguous complex"):
        K.evaluate(kx, ky, operators=names, out=bad, **vals)
    with pytest.raises(ValueError, match=r"out\['J_x_y'\] .* shape"):
        K.evaluate(kx, ky, operators=names, out={**out, "J_x_y": np.empty((points + 1, 2, 2), complex)}, **vals)
    with pytest.raises(ValueError, match="out has no array for S_z"):
        K.evaluate(kx, ky, operators=names, out={"H": out["H"], "J_x_y": out["J_x_y"]}, **vals)
    strided = np.empty((points, 2, 4), complex)[:, :, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        K.evaluate(kx, ky, operators=["H"], out={"H": strided}, **vals)


def test_evaluate_errors():
    K = ssw.load_kernels("samokhin_c4v_order4")
    vals = _values("samokhin_c4v_order4", np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"unknown operator.*'J_xy' \(did you mean 'J_x_y'\?\)"):
        K.evaluate(0.1, 0.2, operators=["H", "J_xy"], **vals)
    with pytest.raises(ValueError, match=r"unknown operator.*'Q'.*the operators are H, S_x"):
        K.evaluate(0.1, 0.2, operators="Q", **vals)
    missing = {p: v for p, v in vals.items() if p != "b"}
    with pytest.raises(TypeError, match=r"evaluate\(\): missing parameter.*\bb\b.*Call as evaluate\(k_x"):
        K.evaluate(0.1, 0.2, **missing)
    with pytest.raises(TypeError, match=r"unknown parameter 'bb'.*did you mean 'b'"):
        K.evaluate(0.1, 0.2, bb=0.1, **missing)
    with pytest.raises(TypeError, match="b must be a real number"):
        K.evaluate(0.1, 0.2, **{**vals, "b": "0.1"})
    with pytest.raises(TypeError, match="k_y must be a real number"):
        K.evaluate(0.1, 0.2j, **vals)


def test_polynomial_terms_rebuild_the_matrix_and_refuse_non_polynomials():
    a, c = sympy.symbols("a c", real=True)
    M = sympy.Matrix(
        [[a * k_x**2 * (k_y + c) ** 2, (k_x - sympy.I * k_y) / (a - c)], [(k_x + sympy.I * k_y) / (a - c), 3 - k_y**3]]
    )
    terms = polynomial_terms(M, (k_x, k_y))
    sigma = {
        "c_0": sympy.eye(2),
        "c_x": sympy.Matrix([[0, 1], [1, 0]]),
        "c_y": sympy.Matrix([[0, -sympy.I], [sympy.I, 0]]),
        "c_z": sympy.Matrix([[1, 0], [0, -1]]),
    }
    rebuilt = sum((coef * k_x**i * k_y**j * sigma[label] for label, (i, j), coef in terms), sympy.zeros(2))
    assert sympy.simplify(rebuilt - M) == sympy.zeros(2)
    assert all(not coef.has(k_x, k_y) for *_, coef in terms)
    keys = [t[:2] for t in terms]
    assert ("c_0", (2, 2)) in keys and ("c_x", (1, 0)) in keys and ("c_y", (0, 1)) in keys
    assert ("c_z", (0, 3)) in keys
    assert polynomial_terms(sympy.Matrix([[1 / (1 + k_x**2), 0], [0, 1]]), (k_x, k_y)) is None
    assert polynomial_terms(sympy.Matrix([[sympy.sqrt(a + k_y**2), 0], [0, 1]]), (k_x, k_y)) is None
    entries = polynomial_terms(sympy.Matrix([[k_x, 0, 0], [0, 0, a * k_y], [0, 0, 1]]), (k_x, k_y))
    assert [t[:2] for t in entries] == [((0, 0), (1, 0)), ((1, 2), (0, 1)), ((2, 2), (0, 0))]
    # three momenta: powers of (k_x, k_y, k_z), same order rules
    k_z = sympy.Symbol("k_z", real=True)
    terms3 = polynomial_terms(sympy.Matrix([[a * k_z**2 + k_x * k_y, c * k_z], [c * k_z, -k_x]]), (k_x, k_y, k_z))
    assert [t[:2] for t in terms3] == [
        ("c_0", (1, 0, 0)),
        ("c_0", (1, 1, 0)),
        ("c_0", (0, 0, 2)),
        ("c_x", (0, 0, 1)),
        ("c_z", (1, 0, 0)),
        ("c_z", (1, 1, 0)),
        ("c_z", (0, 0, 2)),
    ]


def test_non_polynomial_operator_takes_the_general_path(tmp_path):
    """An operator with a momentum in a denominator: no table, general path, also inside evaluate()."""
    derived, _ = build("rashba_toy")
    H = derived.operators["H"]
    odd = sympy.ImmutableMatrix(H + sympy.eye(2) / (1 + k_x**2))
    derived = dataclasses.replace(derived, operators={**derived.operators, "S_z": odd})
    functions = kernel_functions(derived.operators, derived.parameters, derived.momenta)
    assert [f["terms"] is None for f in functions].count(True) == 1
    files = render(derived)
    assert "@_kernel(None, None)  # not a polynomial in the momenta" in files["kernels.py"]
    (tmp_path / "kernels.py").write_text(files["kernels.py"])
    K = ssw.load_kernels(str(tmp_path))
    K._FAST_MIN_POINTS = 0
    vals = {p: 0.3 + 0.1 * i for i, p in enumerate(K.PARAMETERS)}
    kx, ky = np.linspace(-0.5, 0.5, 11), np.linspace(0.4, -0.2, 11)
    got = K.evaluate(kx, ky, operators=["S_z", "H"], **vals)
    assert _close(got["S_z"] - got["H"], np.eye(2) / (1 + kx**2)[:, None, None])
    assert _close(K.S_z(kx, ky, **vals), got["S_z"])
