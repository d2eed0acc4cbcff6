"""Numerical certification against the exact all-orders direct rotation.

Scaling every inter-orbital coupling (ã, b̃, γ̃) by z → 0 at fixed b, E_g, k,
the order-n effective operators must approach the exact ones as z^(n+2)
(odd orders vanish for an off-diagonal perturbation).  A wrong formula — the
paper's printed F10, say — shows up as an exponent near 0.
"""

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.symbols import (
    a_tilde, b, b_tilde, epsilon_1, epsilon_2, gamma_1, gamma_2, gamma_tilde, hbar, k_x, k_y, m,
)

from reference import exact_effective, fit_exponent, numeric

ZS = np.array([0.2, 0.1, 0.05, 0.025])
COUPLINGS = (a_tilde, b_tilde, gamma_tilde)


def parameter_points(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {
            hbar: 1.0, m: rng.uniform(0.5, 1.5), epsilon_1: rng.uniform(-0.5, 0.5),
            epsilon_2: rng.uniform(1.5, 2.5), b: rng.uniform(-0.4, 0.4),
            a_tilde: rng.uniform(0.5, 1.0), b_tilde: rng.uniform(0.3, 0.8),
            gamma_1: rng.uniform(-0.2, 0.2), gamma_2: rng.uniform(-0.2, 0.2),
            gamma_tilde: rng.uniform(-0.4, 0.4),
            k_x: rng.uniform(-0.6, 0.6), k_y: rng.uniform(-0.6, 0.6),
        }


def operators(eff):
    """(label, microscopic matrix, effective matrix) for H, S, J, T."""
    model = eff.model
    out = [("H", model.H, eff.H)]
    out += [(f"S_{mu}", ssw.operators.spin(model, mu).matrix, eff.S[mu]) for mu in "xyz"]
    out += [(f"T_{mu}", ssw.operators.spin_torque(model, mu).matrix, eff.T[mu]) for mu in "xyz"]
    out += [(f"J_{mu}{i}", ssw.operators.spin_current(model, mu, i).matrix, eff.J[mu, i])
            for mu in "xyz" for i in "xy"]
    return out


def exponents(eff, values):
    ops = operators(eff)
    symbols = sorted(set().union(*(M.free_symbols for _, M, _ in ops)) | set(values), key=str)
    errors = {label: [] for label, _, _ in ops}
    for z in ZS:
        point = {s: values.get(s, 0.0) * (z if s in COUPLINGS else 1.0) for s in symbols}
        exact = exact_effective(numeric(eff.model.H, point),
                                [numeric(M, point) for _, M, _ in ops], 2)
        for (label, _, E), ex in zip(ops, exact):
            errors[label].append(np.linalg.norm(numeric(E, point) - ex))
    return {label: fit_exponent(ZS, errs) for label, errs in errors.items()}


@pytest.mark.parametrize("name,order", [("c4v", 2), ("c4v", 4), ("a19", 2), ("a20", 2),
                                        ("a19", 4), ("a20", 4)])
def test_error_exponent(effective_of, name, order):
    eff = effective_of(name, order)
    for values in parameter_points(2, seed=hash((name, order)) % 2**32):
        fitted = exponents(eff, values)
        worst = min(fitted, key=fitted.get)
        assert fitted[worst] >= order + 1.7, (worst, fitted)


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
