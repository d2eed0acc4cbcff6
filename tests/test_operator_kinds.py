"""Operator kinds are described once (symbolic_sw.operators.KINDS).

A new kind registered in one place gets its effective operator, kernels, LaTeX
and README row with no other change.
"""

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw import operators as ops
from symbolic_sw.certify import exact_effective, fit_exponent
from symbolic_sw.pauli import kron
from symbolic_sw.pipeline import generate, load_kernels
from symbolic_sw.symbols import k_x, k_y

VALUES = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.1, "b": 0.1}


def _orbital_angular_momentum(_model, component):
    """L_z = τ_y ⊗ σ_0 on the Γ5 (p_x, p_y) orbitals, zero on Γ1; TR-odd."""
    tau_y = sympy.Matrix([[0, -sympy.I], [sympy.I, 0]])
    L = sympy.diag(sympy.zeros(2), kron(tau_y, sympy.eye(2)))
    return ops.Operator((L,), f"L_{component}", time_reversal=-1)


L_KIND = ops.OperatorKind(
    "L",
    (("z",),),
    _orbital_angular_momentum,
    r"\hat{\mathcal{L}}",
    "Effective orbital angular momentum",
    "Effective orbital angular momentum L_eff^{0} = U†(τ_y ⊗ σ_0 on Γ5)U.",
    time_reversal=-1,
)


@pytest.fixture
def orbital_kind():
    ops.register(L_KIND)
    yield L_KIND
    ops.unregister("L")


def _numbers(M, k):
    return np.array(
        sympy.Matrix(M)
        .subs({k_x: k[0], k_y: k[1], **{sympy.Symbol(n, real=True): v for n, v in VALUES.items()}})
        .evalf(),
        dtype=complex,
    )


@pytest.mark.usefixtures("orbital_kind")
def test_registered_kind_reaches_effective():
    model = ssw.models.samokhin_c4v()
    eff = ssw.effective(model, order=2)
    L = eff.L["z"]
    assert L == eff.operator("L_z") == eff.transform(_orbital_angular_momentum(model, "z"))
    assert L != sympy.zeros(2)  # Γ5 admixture: a real effect, not an empty operator
    # against the exact rotation: with the couplings scaled by z the order-2 result is off by O(z^4)
    Lm = np.array(_orbital_angular_momentum(model, "z").matrix, dtype=complex)
    params = [sympy.Symbol(n, real=True) for n in VALUES]
    H = sympy.lambdify((k_x, k_y, *params), model.H, "numpy")
    f_L = sympy.lambdify((k_x, k_y, *params), L, "numpy")
    zs, errors = (0.4, 0.2, 0.1, 0.05), []
    for z in zs:
        vals = {**VALUES, "a_tilde": z * VALUES["a_tilde"], "b_tilde": z * VALUES["b_tilde"]}
        worst = 0.0
        for k in ((0.2, 0.1), (-0.1, 0.3)):
            (exact,) = exact_effective(np.array(H(*k, *vals.values()), dtype=complex), [Lm], 2)
            worst = max(worst, np.max(np.abs(np.array(f_L(*k, *vals.values()), dtype=complex) - exact)))
        errors.append(worst)
    assert fit_exponent(zs, errors) > 3.7, errors


@pytest.mark.usefixtures("orbital_kind")
def test_registered_kind_reaches_specs_kernels_latex_and_readme(tmp_path):
    spec = tmp_path / "orbital_moment.py"
    spec.write_text(
        '"""Eq. (33) with the orbital angular momentum of the Γ5 admixture."""\n'
        'MODEL = "samokhin_c4v"\nORDER = 2\nOPERATORS = ["H", "L"]\n'
        f"VALUES = {VALUES!r}\n",
        encoding="utf-8",
    )
    out = generate(str(spec), out=tmp_path / "out", cache=False)
    K = load_kernels(str(out))
    assert list(K.OPERATORS) == ["H", "L_z"]
    eff = ssw.effective(ssw.models.samokhin_c4v(), order=2)
    k = (0.25, -0.15)
    np.testing.assert_allclose(K.L_z(*k, **VALUES), _numbers(eff.L["z"], k), atol=1e-13)
    Km = load_kernels(str(out), kind="mpmath")
    np.testing.assert_allclose(
        np.array(Km.L_z(*k, **VALUES).tolist(), dtype=complex), _numbers(eff.L["z"], k), atol=1e-13
    )
    tex = (out / "operators.tex").read_text(encoding="utf-8")
    assert "% ---- Effective orbital angular momentum ----" in tex
    assert r"\hat{\mathcal{L}}_{z} ={}&" in tex
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| `L_z` | Effective orbital angular momentum L_eff^z = U†(τ_y ⊗ σ_0 on Γ5)U. |" in readme


def test_unregistered_kind_is_refused(tmp_path):
    spec = tmp_path / "orbital_moment.py"
    spec.write_text('MODEL = "samokhin_c4v"\nORDER = 2\nOPERATORS = ["H", "L"]\n', encoding="utf-8")
    with pytest.raises(ssw.ModelError, match="OPERATORS must contain 'H' and be among"):
        ssw.load_derivation(str(spec))
    with pytest.raises(ssw.ModelError, match="no operator kind 'L'"):
        ssw.effective(ssw.models.samokhin_c4v(), order=1).operator("L_z")


@pytest.mark.parametrize(
    "kind, message",
    [
        (ops.OperatorKind("J", ("spin",), None, "", "", ""), "already registered"),
        (ops.OperatorKind("Q", ("spin",), None, "", "", "", attribute="velocity"), "already used"),
        ("L", "takes an OperatorKind"),
    ],
)
def test_register_refuses_clashes(kind, message):
    with pytest.raises(ssw.ModelError, match=message):
        ops.register(kind)


@pytest.mark.parametrize(
    "symbol, axes, message",
    [
        ("L_z", (), "without '_'"),
        ("2L", (), "without '_'"),
        ("L", ("spins",), "must be 'spin', 'direction'"),
        ("L", (("a b",),), "must be 'spin', 'direction'"),
    ],
)
def test_kind_definitions_are_checked(symbol, axes, message):
    with pytest.raises(ssw.ModelError, match=message):
        ops.OperatorKind(symbol, axes, None, "", "", "")


def test_builtin_kinds_cannot_be_removed():
    with pytest.raises(ssw.ModelError, match="built-in"):
        ops.unregister("J")
    assert ops.default_kinds() == ("H", "S", "T", "J", "dJ")
