"""The kernel runtime (symbolic_sw.codegen.runtime_*) as real modules.

Unit tests of its pieces, and the generated files carry exactly its code.
"""

import itertools

import numpy as np
import pytest

from symbolic_sw.codegen import BACKENDS, runtime_common, runtime_source
from symbolic_sw.codegen import runtime_numpy as rt
from symbolic_sw.pipeline import GENERATED


@pytest.fixture
def module(monkeypatch):
    """runtime_numpy with the constants of a 2-momentum, 2×2 generated module."""
    monkeypatch.setattr(rt, "MOMENTA", ("k_x", "k_y"))
    monkeypatch.setattr(rt, "PARAMETERS", ("a", "b"))
    monkeypatch.setattr(rt, "SHAPE", (2, 2))
    monkeypatch.setattr(runtime_common, "MOMENTA", ("k_x", "k_y"))
    monkeypatch.setattr(runtime_common, "PARAMETERS", ("a", "b"))
    return rt


@pytest.mark.parametrize(
    "monomials",
    [
        ((0, 0),),
        ((1, 0), (0, 1)),
        ((2, 0), (1, 1), (0, 2), (0, 0)),
        ((3, 1), (0, 4)),
        ((5,),),
        ((1, 2, 3), (0, 0, 1)),
    ],
)
def test_monomials_are_built_exactly(monomials):
    """X[r] = Π k_i**a_i for the plan's monomials, intermediate powers added as helper rows."""
    monomials = tuple(sorted(monomials, key=rt._parity))
    fill = rt._fill_plan(monomials)
    rng = np.random.default_rng(1)
    ks = [rng.normal(size=7) for _ in monomials[0]]
    X = np.empty((fill[1], 7))
    rt._fill_monomials(X, ks, fill)
    for r, mono in enumerate(monomials):
        np.testing.assert_allclose(X[r], np.prod([k**a for k, a in zip(ks, mono)], axis=0), rtol=1e-14)


def test_polynomial_table_reproduces_the_operator(module):
    """A hand-made coefficient table: H = a k_x σ_x + b k_y² σ_z + 1·σ_0, evaluated by the fast path."""
    terms = (("c_0", 0, 0), ("c_x", 1, 0), ("c_z", 0, 2))

    def coefficients(a, b):
        return (1.0, a, b)

    kx, ky = np.meshgrid(np.linspace(-1, 1, 60), np.linspace(-0.5, 0.7, 50))
    (out,) = module._polynomials([kx, ky], ((terms, coefficients, (("a", 0.3), ("b", -1.2))),))
    expect = np.zeros((*kx.shape, 2, 2), complex)
    expect[..., 0, 0] = 1 - 1.2 * ky**2
    expect[..., 1, 1] = 1 + 1.2 * ky**2
    expect[..., 0, 1] = expect[..., 1, 0] = 0.3 * kx
    np.testing.assert_allclose(out, expect, atol=1e-15)


@pytest.mark.parametrize(
    "operators, message",
    [
        (["H", "Hx"], "unknown operator(s) 'Hx' (did you mean 'H'?)"),
        (["nope"], "unknown operator(s) 'nope'; the operators are H, S_x"),
    ],
)
def test_unknown_operator_names(module, monkeypatch, operators, message):
    monkeypatch.setattr(module, "OPERATORS", {"H": None, "S_x": None})
    with pytest.raises(ValueError) as info:
        module._operator_names(operators)
    assert message in str(info.value)


def test_operator_names_keep_order_without_repeats(module, monkeypatch):
    monkeypatch.setattr(module, "OPERATORS", {"H": None, "S_x": None})
    assert module._operator_names(["S_x", "H", "S_x"]) == ["S_x", "H"]
    assert module._operator_names("H") == ["H"]
    assert module._operator_names(None) == ["H", "S_x"]


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.empty((3, 2, 2), complex), "must be a writeable C-contiguous complex array of shape (4, 2, 2)"),
        (np.empty((4, 2, 2)), "got a float64 array"),
        (np.empty((4, 2, 2), complex)[::-1], "C-contiguous"),
        ([[0]], "got a list"),
    ],
)
def test_out_arrays_are_checked(module, array, fragment):
    with pytest.raises(ValueError) as info:
        module._outputs({"H": array}, ["H"], (4, 2, 2))
    assert fragment in str(info.value)


def test_missing_out_array(module):
    with pytest.raises(ValueError, match="out has no array for S_x"):
        module._outputs({"H": np.empty((4, 2, 2), complex)}, ["H", "S_x"], (4, 2, 2))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"a": 1.0}, "missing parameter(s) b"),
        ({"a": 1.0, "bb": 2.0}, "unknown parameter 'bb' (did you mean 'b'?)"),
        ({"a": 1.0, "b": 2.0}, "boom"),
    ],
)
@pytest.mark.usefixtures("module")
def test_argument_errors_name_the_fix(kwargs, fragment):
    text = runtime_common._explain("H", kwargs, TypeError("boom"))
    assert fragment in text and text.endswith("Call as H(k_x, k_y, a=..., b=...).")


@pytest.mark.parametrize("backend, name", list(itertools.product(BACKENDS, ["samokhin_c4v", "rashba_toy"])))
def test_generated_files_carry_the_runtime_verbatim(backend, name):
    text = (GENERATED / name / BACKENDS[backend].filename).read_text(encoding="utf-8")
    for module in BACKENDS[backend].runtime:
        assert runtime_source(module) in text
