"""Every shipped derivation's kernels against the exact transformation; the double expansion."""

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.certify import certify
from symbolic_sw.symbols import a_tilde, b, gamma_1, gamma_2


@pytest.mark.parametrize(
    "name,least",
    [
        ("samokhin_c4v_order4", 5.7),  # odd orders vanish: error ∝ z^6
        ("samokhin_a19", 3.7),  # order 2 in ã, b̃, γ̃ and 1 in γ1, γ2: dropped terms ∝ z^4
        ("samokhin_g4g5", 3.7),
        ("samokhin_c4v_lo", 1.9),  # leading order in b: error ∝ b^2
        ("isolated_gamma5", None),  # nothing eliminated: exact
    ],
)
def test_certified_against_exact_transformation(name, least):
    cert = certify(name)
    assert cert.passed, cert.table()
    if least is None:
        assert max(max(e) for e in cert.errors.values()) < 1e-10
    else:
        assert min(cert.exponents.values()) > least, cert.table()


def test_certification_catches_a_wrong_kernel():
    """A kernel with one coefficient perturbed at O(z^2) fails the check (the test can fail)."""
    import types

    K = ssw.load_kernels("samokhin_c4v")
    bad = types.SimpleNamespace(PARAMETERS=K.PARAMETERS, OPERATORS=dict(K.OPERATORS))
    good = K.OPERATORS["J_y_x"]
    bad.OPERATORS["J_y_x"] = lambda kx, ky, **p: good(kx, ky, **p) + 0.5 * p["a_tilde"] * p["b_tilde"]
    cert = certify("samokhin_c4v", kernels=bad)
    assert not cert.passed and cert.exponents["J_y_x"] < 2.5 and cert.exponents["H"] > 3.8


def test_truncate_keeps_the_double_expansion():
    """Order 3 with γ1, γ2 in the perturbation + truncate == order 2 in couplings, 1 in γ."""
    model = ssw.models.samokhin_c4v(intrinsic_soc=True).with_perturbative([gamma_1, gamma_2])
    eff = ssw.effective(model, order=3, truncate={(gamma_1, gamma_2): 1})
    H = eff.H
    poly = sympy.Poly(sympy.numer(sympy.together(H[0, 1])), gamma_1, gamma_2)
    assert poly.total_degree() == 1
    assert (
        H[0, 0].has(a_tilde)
        and not sympy.Poly(sympy.numer(sympy.together(H[0, 0])), gamma_1, gamma_2).total_degree() > 1
    )


def test_truncate_errors():
    model = ssw.models.samokhin_c4v()
    with pytest.raises(ssw.ModelError, match="energy denominator"):
        ssw.effective(model, order=2, truncate={b: 1})
    with pytest.raises(ssw.ModelError, match="cannot truncate in gamma_1"):
        ssw.effective(model, order=2, truncate={gamma_1: 1})
    with pytest.raises(ssw.ModelError, match="not among the model's parameters"):
        model.with_perturbative([gamma_1])
