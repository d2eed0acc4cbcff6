"""The paper's models: Eq. (33), (A19), (A20), (C1) and (G2), and their place in the C4v family.

Basis of the 6×6 models: (Γ1↑, Γ1↓, Γ5x↑, Γ5x↓, Γ5y↑, Γ5y↓) = orbital ⊗ spin;
the essential block is the first two states (the Γ1 or Γ4 doublet).
:func:`paper_mapping` places Eq. (A19) or (A20) in the family that
:func:`~symbolic_sw.symmetry.from_symmetry` generates for C4v.
"""

from dataclasses import dataclass

import sympy

from .errors import ModelError
from .model import Model
from .pauli import SIGMA, kron
from .symbols import (
    E_g,
    a_tilde,
    alpha_0,
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
    k_z,
    m,
)
from .symmetry import from_symmetry  # qsymm itself is imported only when it is called

__all__ = [
    "FACTORIES",
    "KANE_SYMBOLS",
    "PaperMapping",
    "from_symmetry",
    "isolated_gamma5",
    "kane_8band",
    "paper_mapping",
    "rashba_toy",
    "samokhin_c4v",
]

#: the functions a derivation spec may name as ``MODEL`` (each returns a Model)
FACTORIES = ("samokhin_c4v", "rashba_toy", "isolated_gamma5", "from_symmetry")

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
        Its gap is declared, ``gaps={E_g: epsilon_2 - epsilon_1}`` (:class:`Model`).
    """
    if variant not in ("g1g5", "g4g5"):
        raise ModelError(f"unknown variant {variant!r}; use 'g1g5' (Eq. 33/A19) or 'g4g5' (Eq. A20).")
    g = gamma_tilde if intrinsic_soc else 0
    rashba = k_y * sx - k_x * sy
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
    H = _from_blocks(
        [
            [h1, h12, h13],
            [h21, h2, -I * b * sz],
            [h31, I * b * sz, h2],
        ]
    )
    name = {"33": "samokhin_c4v", "A19": "samokhin_a19"}.get(eq, "samokhin_g4g5")
    # the gap 𝓔_g = ε2 - ε1 of Eq. (33) is the transformation's variable: ε1 stays only as H's offset
    gaps = {E_g: epsilon_2 - epsilon_1}
    return Model(H, blocks=[2, 4], momenta=(k_x, k_y), time_reversal=True, name=name, equation=eq, gaps=gaps)


def rashba_toy() -> Model:
    """Eq. (C1): one orbital with intrinsic Rashba SOC α0, energy counted from ε1."""
    H = _kinetic() * s0 + alpha_0 * (k_y * sx - k_x * sy)
    return Model(H, blocks=[2], momenta=(k_x, k_y), time_reversal=True, name="rashba_toy", equation="C1")


def isolated_gamma5() -> Model:
    """Eq. (G2): an isolated Γ5 orbital, energy counted from ε2."""
    tau0 = sympy.eye(2)
    tau2 = sympy.Matrix([[0, -I], [I, 0]])
    H = kron(tau0, _kinetic() * s0 + alpha_0 * (k_y * sx - k_x * sy)) + b * kron(tau2, sz)
    return Model(H, blocks=[4], momenta=(k_x, k_y), time_reversal=True, name="isolated_gamma5", equation="G2")


#: symbols of :func:`kane_8band` (equal to any symbol of the same name and assumptions)
KANE_SYMBOLS = dict(
    P=sympy.Symbol("P", positive=True),
    Delta=sympy.Symbol("Delta", positive=True),
    m_0=sympy.Symbol("m_0", positive=True),
    e=sympy.Symbol("e", positive=True),
    g_0=sympy.Symbol("g_0", real=True),
    B_z=sympy.Symbol("B_z", real=True),
    E_z=sympy.Symbol("E_z", real=True),
    z=sympy.Symbol("z", real=True),
)


def kane_8band(magnetic: bool = False, electric: bool = False, zeeman: bool = False, jm_basis: bool = False) -> Model:
    """The 8-band Kane model (Γ6 conduction, Γ8 and Γ7 valence), optionally in fields along z (issue 16).

    Basis: (S↑, S↓, X↑, X↓, Y↑, Y↓, Z↑, Z↓) with the couplings ``-iPk_i`` between S
    and the orbital ``i``, energies ``E_g`` (Γ6), ``(Δ/3)(L·σ − 1)`` in the valence
    block (0 for Γ8, ``−Δ`` for Γ7) and the free-electron ``ħ²k²/2m_0`` in every band;
    with ``jm_basis`` the valence block is rotated to ``|3/2, m⟩ (m = 3/2 … −3/2),
    |1/2, ±1/2⟩`` and the blocks are ``[2, 4, 2]`` (Γ6, Γ8, Γ7), else ``[2, 6]``.

    Parameters
    ----------
    magnetic : bool
        Kinetic momenta in ``B_z``: ``[k_x, k_y] = −i e B_z/ħ`` (electron charge −e).
    electric : bool
        The potential energy ``e E_z z`` of an electron in a field ``E_z`` along z,
        with the position operator ``[z, k_z] = i``.
    zeeman : bool
        The free-electron Zeeman term ``(g_0/2) μ_B B_z σ_z``, ``μ_B = eħ/2m_0``, in
        every band (made perturbative: ``perturbative=[g_0]``).
    jm_basis : bool
        Valence states of definite ``J, m_J``.

    Returns
    -------
    Model
        Symbols: :data:`KANE_SYMBOLS` and ``E_g, ħ, k_x, k_y, k_z``.
    """
    P, Delta, m_0, e, g_0, B_z, E_z, z = KANE_SYMBOLS.values()
    kin = hbar**2 * (k_x**2 + k_y**2 + k_z**2) / (2 * m_0)
    L = [sympy.Matrix(3, 3, lambda i, j, n=n: -I * sympy.LeviCivita(n, i, j)) for n in range(3)]
    LS = sum((kron(L[n], SIGMA["xyz"[n]]) for n in range(3)), sympy.zeros(6))
    H = sympy.diag((E_g + kin) * sympy.eye(2), kin * sympy.eye(6) + Delta / 3 * (LS - sympy.eye(6)))
    for n, k in enumerate((k_x, k_y, k_z)):
        for s in range(2):
            H[s, 2 + 2 * n + s], H[2 + 2 * n + s, s] = -I * P * k, I * P * k
    commutators, perturbative = {}, []
    if zeeman:
        H += g_0 / 2 * (e * hbar / (2 * m_0)) * B_z * kron(sympy.eye(4), sz)
        perturbative.append(g_0)
    if magnetic:
        commutators[k_x, k_y] = -I * e * B_z / hbar
    if electric:
        H += e * E_z * z * sympy.eye(8)
        commutators[z, k_z] = I
    blocks = [2, 6]
    if jm_basis:
        H, blocks = _jm_rotated(H), [2, 4, 2]
    return Model(
        H,
        blocks=blocks,
        momenta=(k_x, k_y, k_z),
        commutators=commutators,
        perturbative=perturbative,
        name="kane_8band",
    )


def _jm_rotated(H):
    """The Kane matrix with the valence block in the ``|J, m_J⟩`` basis (Condon-Shortley phases)."""

    def orbital(o, s):
        v = sympy.zeros(6, 1)
        v[2 * o + s] = 1
        return v

    def l_plus(s):
        return -(orbital(0, s) + I * orbital(1, s)) / sympy.sqrt(2)

    def l_minus(s):
        return (orbital(0, s) - I * orbital(1, s)) / sympy.sqrt(2)

    r1, r2 = sympy.sqrt(sympy.Rational(1, 3)), sympy.sqrt(sympy.Rational(2, 3))
    states = [
        l_plus(0),
        r1 * l_plus(1) + r2 * orbital(2, 0),
        r2 * orbital(2, 1) + r1 * l_minus(0),
        l_minus(1),
        r2 * l_plus(1) - r1 * orbital(2, 0),
        r1 * orbital(2, 1) - r2 * l_minus(0),
    ]
    U = sympy.diag(sympy.eye(2), sympy.Matrix.hstack(*states))
    return (U.H * H * U).applyfunc(sympy.expand)


# -- the paper's models in the generated family ----------------------------------------------------


@dataclass
class PaperMapping:
    """Eq. (A19) or (A20) as a point of the symmetry-generated family.

    Attributes
    ----------
    model : Model
        The generated family (``from_symmetry("C4v", ...)``).
    paper : Model
        ``samokhin_c4v(variant, intrinsic_soc=True)``.
    substitutions : dict generated symbol → expression in the paper's symbols
        Substituting these (with 0 for ``omitted``) into ``model.H`` gives ``paper.H``.
    omitted : tuple of symbols
        Generated parameters that the paper's model sets to zero.
    inverse : dict paper symbol → generated symbol (times a sign, if any)
    """

    model: Model
    paper: Model
    substitutions: dict
    omitted: tuple
    inverse: dict

    def names(self, omitted=("eta_3", "eta_4")) -> dict:
        """``names=`` for :func:`from_symmetry`: the paper's names, and ``omitted`` for the omitted terms.

        The default calls the two extra k-linear Γ5 terms η3 (τ3 ⊗ (k_xσ_y + k_yσ_x)) and
        η4 (τ1 ⊗ (k_xσ_x − k_yσ_y)).
        """
        omitted = tuple(omitted)
        if len(omitted) != len(self.omitted):
            raise ModelError(
                f"give {len(self.omitted)} names for the omitted terms "
                f"({', '.join(map(str, self.omitted))}), got {len(omitted)}."
            )
        out = {str(g): str(p) for g, p in self.substitutions.items() if isinstance(p, sympy.Symbol)}
        out.update({str(g): str(n) for g, n in zip(self.omitted, omitted)})
        return out

    def restrict(self, H=None):
        """``H`` (default the generated H) with the mapping and zero for the omitted terms."""
        H = self.model.H if H is None else H
        subs = dict(self.substitutions)
        subs.update({s: 0 for s in self.omitted})
        return sympy.Matrix(H).subs(subs, simultaneous=True).applyfunc(sympy.expand)


def paper_mapping(variant: str = "g1g5", k_order: int = 1, names=None) -> PaperMapping:
    """Map Eq. (A19) (``"g1g5"``) or Eq. (A20) (``"g4g5"``) onto the C4v family.

    The generated family for Γ1 + Γ5 (Γ4 + Γ5) ⊗ spin-½ to linear order in k has
    10 real parameters; Eq. (A19) (A20) has 8: ε1, ε2, b, b̃, ã, γ1, γ2, γ̃. The
    two omitted terms are k-linear terms inside the Γ5 block, ``τ3 ⊗ (k_x σ_y + k_y σ_x)``
    (Γ3 ⊗ Γ3) and ``τ1 ⊗ (k_x σ_x − k_y σ_y)`` (Γ4 ⊗ Γ4), which cannot be written as
    ``σ·(C × k)`` (Eq. A9) with a symmetric C_22 and so are absent from Appendix A 1.

    Returns
    -------
    PaperMapping
    """
    orbitals = {"g1g5": ["Γ1", "Γ5"], "g4g5": ["Γ4", "Γ5"]}
    if variant not in orbitals:
        raise ModelError(f"unknown variant {variant!r}; use 'g1g5' (Eq. A19) or 'g4g5' (Eq. A20).")
    model = from_symmetry("C4v", orbitals[variant], k_order=k_order, names=names)
    paper = samokhin_c4v(intrinsic_soc=True, variant=variant)
    values = model.family.decompose(paper.H)
    subs = {s: v for s, v in values.items() if v != 0}
    omitted = tuple(s for s, v in values.items() if v == 0)
    inverse = {}
    for s, v in subs.items():
        if len(v.free_symbols) == 1 and sympy.Poly(v, *v.free_symbols).is_linear:
            (p,) = v.free_symbols
            inverse[p] = sympy.solve(sympy.Eq(s, v), p)[0]
    return PaperMapping(model, paper, subs, omitted, inverse)
