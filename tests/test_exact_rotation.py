"""Numerical certification against the exact all-orders direct rotation.

Scaling every inter-orbital coupling (ã, b̃, γ̃) by z → 0 at fixed b, E_g, k,
the order-n effective operators must approach the exact ones as z^(n+2)
(odd orders vanish for an off-diagonal perturbation).  A wrong formula — the
paper's printed F10, say — shows up as an exponent near 0.
"""

import numpy as np
import pytest
import sympy
from reference import exact_effective, fit_exponent, numeric

import symbolic_sw as ssw
from symbolic_sw.symbols import (
    a_tilde,
    b,
    b_tilde,
    epsilon_1,
    epsilon_2,
    gamma_1,
    gamma_2,
    gamma_tilde,
    hbar,
    k_x,
    k_y,
    m,
)

ZS = np.array([0.2, 0.1, 0.05, 0.025])
COUPLINGS = (a_tilde, b_tilde, gamma_tilde)


def parameter_points(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {
            hbar: 1.0,
            m: rng.uniform(0.5, 1.5),
            epsilon_1: rng.uniform(-0.5, 0.5),
            epsilon_2: rng.uniform(1.5, 2.5),
            b: rng.uniform(-0.4, 0.4),
            a_tilde: rng.uniform(0.5, 1.0),
            b_tilde: rng.uniform(0.3, 0.8),
            gamma_1: rng.uniform(-0.2, 0.2),
            gamma_2: rng.uniform(-0.2, 0.2),
            gamma_tilde: rng.uniform(-0.4, 0.4),
            k_x: rng.uniform(-0.6, 0.6),
            k_y: rng.uniform(-0.6, 0.6),
        }


def operators(model):
    """(label, microscopic Operator) for H, S, T, J."""
    out = [("H", ssw.operators.Operator((model.H0, model.H1), "H"))]
    out += [(f"S_{mu}", ssw.operators.spin(model, mu)) for mu in "xyz"]
    out += [(f"T_{mu}", ssw.operators.spin_torque(model, mu)) for mu in "xyz"]
    out += [(f"J_{mu}{i}", ssw.operators.spin_current(model, mu, i)) for mu in "xyz" for i in "xy"]
    return out


def closed_form(eff, label):
    if label == "H":
        return eff.H
    kind, comp = label.split("_")
    return {"S": eff.S, "T": eff.T}[kind][comp] if kind != "J" else eff.J[comp[0], comp[1]]


def exponents(model, values, evaluate, zs=ZS):
    """Fitted error exponents; ``evaluate(label, op, point)`` gives the effective operator."""
    ops = operators(model)
    errors = {label: [] for label, _ in ops}
    for z in zs:
        point = {s: v * (z if s in COUPLINGS else 1.0) for s, v in values.items()}
        exact = exact_effective(numeric(model.H, point), [numeric(op.matrix, point) for _, op in ops], 2)
        for (label, op), ex in zip(ops, exact):
            errors[label].append(np.linalg.norm(evaluate(label, op, point) - ex))
    return {label: fit_exponent(zs, errs) for label, errs in errors.items()}


def assert_exponents(fitted, order):
    worst = min(fitted, key=fitted.get)
    assert fitted[worst] >= order + 1.7, (worst, fitted)


@pytest.mark.parametrize("order", [2, 4])
def test_closed_forms_c4v(effective_of, order):
    """The closed forms users get (lambdified) converge to the exact rotation."""
    eff = effective_of("c4v", order)
    for values in parameter_points(2, seed=order):
        assert_exponents(
            exponents(eff.model, values, lambda label, _op, point: numeric(closed_form(eff, label), point)), order
        )


@pytest.mark.slow
def test_closed_forms_c4v_order_6(effective_of):
    """Order-6 closed forms (H, S, T, J, exact in b) against the exact rotation: exponent ≥ 7.5.

    (z^8 reaches double precision below z ≈ 0.04, hence the larger z.)
    """
    eff = effective_of("c4v", 6)
    values = next(parameter_points(1, seed=6))
    assert_exponents(
        exponents(eff.model, values, lambda label, _op, point: numeric(closed_form(eff, label), point), ZS * 2), 6
    )


@pytest.mark.parametrize("name", ["a19", pytest.param("a20", marks=pytest.mark.slow)])
def test_exact_in_gamma_order_2(effective_of, name):
    """Eqs. (A19), (A20): exact in γ1, γ2 (k-dependent gap polynomial), raw exact results."""
    eff = effective_of(name, 2)
    values = next(parameter_points(1, seed=len(name)))
    assert_exponents(exponents(eff.model, values, lambda _label, op, point: eff.evaluate(op, point)), 2)


MODELS = {"a19": dict(intrinsic_soc=True), "a20": dict(variant="g4g5", intrinsic_soc=True), "c4v": {}}


@pytest.mark.parametrize("name,order", [("a19", 4), ("a20", 4), ("a19", 6), ("c4v", 6)])
def test_recursion_in_floats(name, order):
    """The same recursion in floating point: A19/A20 at order 4, order 6.

    (z^8 at order 6 hits double precision below z ≈ 0.04, hence larger z there.)
    """
    model = ssw.models.samokhin_c4v(**MODELS[name])

    def evaluate(_label, op, point):
        return ssw.effective_numeric(model, order, point, [op])[1][0]

    zs = ZS * (2 if order >= 6 else 1)
    values = next(parameter_points(1, seed=order))
    assert_exponents(exponents(model, values, evaluate, zs), order)


def test_printed_F10_fails_certification(effective_of):
    """The check catches a wrong formula: ERRATA item 1 (σ̂_x in F10 for μ = y)."""
    from symbolic_sw.pauli import SIGMA

    eff = effective_of("c4v", 2)
    J = eff.J["y", "x"]
    bracket = sympy.together((SIGMA["y"] * J).trace() / 2)
    printed = J - bracket * SIGMA["y"] + bracket * SIGMA["x"]
    values = next(parameter_points(1, seed=7))
    micro = ssw.operators.spin_current(eff.model, "y", "x").matrix
    errs = []
    for z in ZS:
        point = {s: v * (z if s in COUPLINGS else 1.0) for s, v in values.items()}
        (ex,) = exact_effective(numeric(eff.model.H, point), [numeric(micro, point)], 2)
        errs.append(np.linalg.norm(numeric(printed, point) - ex))
    assert fit_exponent(ZS, errs) < 0.5
