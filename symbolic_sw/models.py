"""The paper's models: Eq. (33), (A19), (A20), (C1) and (G2).

Basis of the 6×6 models: (Γ1↑, Γ1↓, Γ5x↑, Γ5x↓, Γ5y↑, Γ5y↓) = orbital ⊗ spin;
the essential block is the first two states (the Γ1 or Γ4 doublet).
"""

import sympy

from .errors import ModelError
from .model import Model
from .pauli import SIGMA, kron
from .symbols import (
    a_tilde, alpha_0, b, b_tilde, epsilon_1, epsilon_2, gamma_1, gamma_2,
    gamma_tilde, hbar, k_x, k_y, m,
)

from .symmetry import from_symmetry  # qsymm itself is imported only when it is called

__all__ = ["samokhin_c4v", "rashba_toy", "isolated_gamma5", "from_symmetry"]

s0, sx, sy, sz = (SIGMA[c] for c in "0xyz")
I = sympy.I


def _kinetic():
    return hbar**2 * (k_x**2 + k_y**2) / (2 * m)


def _from_blocks(rows):
    """Assemble an orbital grid of 2×2 spin blocks."""
    return sympy.Matrix(sympy.BlockMatrix(rows).as_explicit())


def samokhin_c4v(intrinsic_soc: bool = False, variant: str = "g1g5") -> Model:
    """The Γ1 (or Γ4) + Γ5 model of C4v.

    Parameters
    ----------
    intrinsic_soc : bool
        Add the intrinsic antisymmetric SOC γ1, γ2, γ̃ of Eq. (A19)/(A20).
        ``samokhin_c4v()`` is Eq. (33); ``samokhin_c4v(intrinsic_soc=True)`` is Eq. (A19).
    variant : {"g1g5", "g4g5"}
        Inter-orbital blocks for Γ1 + Γ5 (Eqs. 33, A19) or Γ4 + Γ5 (Eq. A20);
        ``samokhin_c4v(variant="g4g5", intrinsic_soc=True)`` is Eq. (A20) as printed.

    Returns
    -------
    Model
        6×6 model with blocks ``[2, 4]``; the perturbation is the inter-orbital
        coupling (ã, b̃, γ̃), while ε1, ε2, ħ²k²/2m, b, γ1, γ2 are kept exactly.
    """
    if variant not in ("g1g5", "g4g5"):
        raise ModelError(f"unknown variant {variant!r}; use 'g1g5' (Eq. 33/A19) or 'g4g5' (Eq. A20).")
    g = (gamma_tilde if intrinsic_soc else 0)
    rashba = (k_y * sx - k_x * sy)
    h1 = (epsilon_1 + _kinetic()) * s0 + (gamma_1 * rashba if intrinsic_soc else 0 * s0)
    h2 = (epsilon_2 + _kinetic()) * s0 + (gamma_2 * rashba if intrinsic_soc else 0 * s0)
    if variant == "g1g5":
        h12 = -I * a_tilde * k_x * s0 - I * b_tilde * sy + g * k_y * sz
        h13 = -I * a_tilde * k_y * s0 + I * b_tilde * sx - g * k_x * sz
        h21 = I * a_tilde * k_x * s0 + I * b_tilde * sy + g * k_y * sz
        h31 = I * a_tilde * k_y * s0 - I * b_tilde * sx - g * k_x * sz
        eq = "A19" if intrinsic_soc else "33"
    else:
        h12 = -I * a_tilde * k_y * s0 - I * b_tilde * sx + g * k_x * sz
        h13 = -I * a_tilde * k_x * s0 + I * b_tilde * sy - g * k_y * sz
        h21 = I * a_tilde * k_y * s0 + I * b_tilde * sx + g * k_x * sz
        h31 = I * a_tilde * k_x * s0 - I * b_tilde * sy - g * k_y * sz
        eq = "A20" if intrinsic_soc else "A20 (γ = 0)"
    H = _from_blocks([
        [h1, h12, h13],
        [h21, h2, -I * b * sz],
        [h31, I * b * sz, h2],
    ])
    name = {"33": "samokhin_c4v", "A19": "samokhin_a19"}.get(eq, "samokhin_g4g5")
    model = Model(H, blocks=[2, 4], momenta=(k_x, k_y), time_reversal=True, name=name)
    model.equation = eq
    return model


def rashba_toy() -> Model:
    """Eq. (C1): one orbital with intrinsic Rashba SOC α0, energy counted from ε1."""
    H = _kinetic() * s0 + alpha_0 * (k_y * sx - k_x * sy)
    model = Model(H, blocks=[2], momenta=(k_x, k_y), time_reversal=True, name="rashba_toy")
    model.equation = "C1"
    return model


def isolated_gamma5() -> Model:
    """Eq. (G2): an isolated Γ5 orbital, energy counted from ε2."""
    tau0 = sympy.eye(2)
    tau2 = sympy.Matrix([[0, -I], [I, 0]])
    H = kron(tau0, _kinetic() * s0 + alpha_0 * (k_y * sx - k_x * sy)) + b * kron(tau2, sz)
    model = Model(H, blocks=[4], momenta=(k_x, k_y), time_reversal=True, name="isolated_gamma5")
    model.equation = "G2"
    return model
