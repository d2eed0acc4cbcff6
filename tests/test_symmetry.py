"""Symmetry-generated models (symbolic_sw.symmetry): counting, invariance, Eqs. (A19)/(A20) as special cases.

The group elements used for the invariance checks are built here independently of the
library, from the matrices printed in Appendix A 1: D_Γ5(C4z) = −iτ2, D_Γ5(σ_y) = τ3,
R(C4z) of Eq. (A17), σ_y: y → −y (Eq. A18), spin rotations exp(−iθ n·σ/2), and time
reversal D = 1 ⊗ (−iσ_y) (Eq. E3).
"""

import sys

import pytest
import sympy

qsymm = pytest.importorskip("qsymm")

import symbolic_sw as ssw  # noqa: E402
from symbolic_sw.model import ModelError  # noqa: E402
from symbolic_sw.models import paper_mapping  # noqa: E402
from symbolic_sw.pauli import SIGMA, kron  # noqa: E402
from symbolic_sw.symbols import (  # noqa: E402
    E_g,
    a_tilde,
    b,
    b_tilde,
    epsilon_1,
    epsilon_2,
    gamma_1,
    gamma_2,
    gamma_tilde,
    k_x,
    k_y,
)
from symbolic_sw.symmetry import spin_half_matrix  # noqa: E402

I = sympy.I
s0, sx, sy, sz = (sympy.Matrix(SIGMA[c]) for c in "0xyz")
c = {
    n: sympy.Symbol(n, real=True)
    for n in (
        "c0_G1",
        "c1_G1",
        "c0_G1G5",
        "c1_G1G5_1",
        "c1_G1G5_2",
        "c0_G5_1",
        "c0_G5_2",
        "c1_G5_1",
        "c1_G5_2",
        "c1_G5_3",
        "c0_G4",
        "c1_G4",
        "c0_G4G5",
        "c1_G4G5_1",
        "c1_G4G5_2",
    )
}


@pytest.fixture(scope="module")
def g1g5():
    return paper_mapping("g1g5")


@pytest.fixture(scope="module")
def g4g5():
    return paper_mapping("g4g5")


def paper_group(chi_1d):
    """The 16 operations (8 of C4v, each also times T) on Γ_1d + Γ5 ⊗ spin, from Appendix A 1."""
    R = {"C4z": sympy.Matrix([[0, -1], [1, 0]]), "sigma_y": sympy.diag(1, -1)}
    D5 = {"C4z": -I * sy, "sigma_y": sz}
    spin = {
        "C4z": (s0 - I * sz) / sympy.sqrt(2),  # exp(−i(π/2)σz/2)
        "sigma_y": -I * sy,
    }  # mirror y → −y acts on spin as C2y
    gens = [(R[g], sympy.diag(sympy.Matrix([[chi_1d[g]]]), D5[g]).applyfunc(sympy.nsimplify), spin[g]) for g in R]
    elements = [(sympy.eye(2), sympy.eye(3), sympy.eye(2))]
    frontier = list(elements)
    while frontier:
        new = []
        for Ra, Da, Sa in frontier:
            for Rg, Dg, Sg in gens:
                Rn = Rg * Ra
                if all(Rn != e[0] for e in elements):
                    new.append((Rn, Dg * Da, (Sg * Sa).applyfunc(sympy.expand)))
                    elements.append(new[-1])
        frontier = new
    assert len(elements) == 8
    return [(R_, kron(D, S)) for R_, D, S in elements]


def invariant(T, R, U, conjugate=False):
    """``U T(R⁻¹k)^(*) U† == T(k)`` (antiunitary: k → −R⁻¹k), exactly."""
    kk = (-1 if conjugate else 1) * R.inv() * sympy.Matrix([k_x, k_y])
    Tk = T.subs({k_x: kk[0], k_y: kk[1]}, simultaneous=True)
    if conjugate:
        Tk = Tk.conjugate()
    return (U * Tk * U.H - T).applyfunc(sympy.expand).is_zero_matrix


def check_all(T, chi_1d):
    D_T = kron(sympy.eye(3), -I * sy)
    for R_, U in paper_group(chi_1d):
        assert invariant(T, R_, U), (R_, T)
        assert invariant(T, R_, U * D_T, conjugate=True), (R_, T)  # g·T


# -- counting -------------------------------------------------------------------------------------


def test_ten_terms_for_gamma1_plus_gamma5(g1g5):
    fam = g1g5.model.family
    assert len(fam.symbols) == 10
    assert sorted(fam.degree.values()) == [0] * 4 + [1] * 6
    assert g1g5.model.blocks == (2, 4)
    assert fam.block[c["c1_G5_2"]] == ("G5", "G5")


def test_ten_terms_for_gamma4_plus_gamma5(g4g5):
    """Γ4 ⊗ Γ5 = Γ5 like Γ1 ⊗ Γ5, so the inter-orbital block again has 3 terms (b̃, ã, γ̃).

    Γ4 block ε1, γ1; Γ5 block ε2, b, γ2 and the two extra k-linear terms; 2 + 5 + 3 = 10.
    """
    fam = g4g5.model.family
    assert len(fam.symbols) == 10
    assert [str(s) for s in fam.symbols if fam.block[s] == ("G4", "G5")] == ["c0_G4G5", "c1_G4G5_1", "c1_G4G5_2"]


def test_k_order_zero_and_without_time_reversal():
    assert len(ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], k_order=0).family.symbols) == 4
    # without T the Γ5 block also allows τ2 ⊗ σ0 and more: strictly more terms
    assert len(ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], k_order=0, time_reversal=False).family.symbols) > 4


# -- invariance -----------------------------------------------------------------------------------


def test_every_term_invariant_under_every_element_and_time_reversal(g1g5, g4g5):
    for mapping, chi in ((g1g5, {"C4z": 1, "sigma_y": 1}), (g4g5, {"C4z": -1, "sigma_y": -1})):
        fam = mapping.model.family
        for s in fam.symbols:
            check_all(fam.terms[s], chi)
        assert len(fam.elements) == 16
        assert all(fam.violations(fam.terms[s]) == [] for s in fam.symbols)


def test_violations_are_detected(g1g5):
    fam = g1g5.model.family
    Dresselhaus = sympy.diag(k_x * sx - k_y * sy, sympy.zeros(4))  # not C4v-invariant in Γ1
    assert fam.violations(Dresselhaus)
    assert not invariant(Dresselhaus, *paper_group({"C4z": 1, "sigma_y": 1})[1])
    with pytest.raises(ModelError, match="not in the symmetry-generated family"):
        fam.decompose(Dresselhaus, kinetic=False)


def test_spin_matrices_agree_with_qsymm():
    """D_½ of the library = qsymm's spin-½ rotation and mirror matrices (up to a phase)."""
    import numpy as np

    ours = {"C4z": sympy.Matrix([[0, -1, 0], [1, 0, 0], [0, 0, 1]]), "sigma_y": sympy.diag(1, -1, 1)}
    theirs = {"C4z": qsymm.groups.rotation(1 / 4, spin=1 / 2).U, "sigma_y": qsymm.groups.mirror([0, 1], spin=1 / 2).U}
    for g in ours:
        A = np.array(spin_half_matrix(ours[g]).evalf(), dtype=complex)
        phase = np.vdot(A.ravel(), theirs[g].ravel()) / 2
        assert abs(abs(phase) - 1) < 1e-12 and np.allclose(A * phase, theirs[g])


def test_qsymm_elements_in_a_rotated_basis_give_the_rotated_family(g1g5):
    """Basis change made explicit: Γ5 states rotated by 45°, H' = W† H W with W = 1 ⊕ V (⊗ 1_spin).

    The family generated from qsymm elements U' = W† U W is W† (family) W, term by term.
    """
    import numpy as np

    V = sympy.Matrix([[1, -1], [1, 1]]) / sympy.sqrt(2)
    W = kron(sympy.diag(1, V), s0)
    elements = [
        qsymm.PointGroupElement(sympy.ImmutableMatrix(R_), U=np.array((W.H * U * W).evalf(), dtype=complex))
        for R_, U in paper_group({"C4z": 1, "sigma_y": 1})[1:]
    ]
    rotated = ssw.models.from_symmetry(elements, [("s", 1), ("p", 2)])
    fam = rotated.family
    assert len(fam.symbols) == 10 and rotated.blocks == (2, 4)
    for s in g1g5.model.family.symbols:
        fam.decompose((W.H * g1g5.model.family.terms[s] * W).applyfunc(sympy.nsimplify), kinetic=False)
    # the unrotated A19 is not invariant in the rotated basis (the γ2, b terms are, the ã, b̃ ones are not)
    assert fam.violations(ssw.models.samokhin_c4v().H)


# -- the paper's models as special cases ----------------------------------------------------------


def test_a19_is_the_family_with_the_two_gamma5_terms_set_to_zero(g1g5):
    expected = {
        c["c0_G1"]: epsilon_1,
        c["c1_G1"]: gamma_1,
        c["c0_G1G5"]: b_tilde,
        c["c1_G1G5_1"]: a_tilde,
        c["c1_G1G5_2"]: gamma_tilde,
        c["c0_G5_1"]: epsilon_2,
        c["c0_G5_2"]: b,
        c["c1_G5_1"]: gamma_2,
    }
    assert g1g5.substitutions == expected
    assert g1g5.omitted == (c["c1_G5_2"], c["c1_G5_3"])
    subs = {**expected, c["c1_G5_2"]: 0, c["c1_G5_3"]: 0}
    H = g1g5.model.H.subs(subs, simultaneous=True)
    A19 = ssw.models.samokhin_c4v(intrinsic_soc=True).H
    assert all(sympy.expand(H[i, j] - A19[i, j]) == 0 for i in range(6) for j in range(6))
    assert g1g5.restrict() == A19.applyfunc(sympy.expand)
    # the omitted terms, explicitly (basis Γ1↑↓, Γ5x↑↓, Γ5y↑↓)
    tau1, tau3 = sympy.Matrix(SIGMA["x"]), sympy.Matrix(SIGMA["z"])
    fam = g1g5.model.family
    assert fam.terms[c["c1_G5_2"]] == sympy.diag(sympy.zeros(2), kron(tau3, k_x * sy + k_y * sx))
    assert fam.terms[c["c1_G5_3"]] == sympy.diag(sympy.zeros(2), kron(tau1, k_x * sx - k_y * sy))
    # and with them on, the model is not A19
    assert g1g5.model.H.subs(expected, simultaneous=True) != A19


def test_a20_is_the_family_with_the_two_gamma5_terms_set_to_zero(g4g5):
    expected = {
        c["c0_G4"]: epsilon_1,
        c["c1_G4"]: gamma_1,
        c["c0_G4G5"]: b_tilde,
        c["c1_G4G5_1"]: a_tilde,
        c["c1_G4G5_2"]: gamma_tilde,
        c["c0_G5_1"]: epsilon_2,
        c["c0_G5_2"]: b,
        c["c1_G5_1"]: gamma_2,
    }
    assert g4g5.substitutions == expected
    assert g4g5.omitted == (c["c1_G5_2"], c["c1_G5_3"])
    H = g4g5.model.H.subs({**expected, c["c1_G5_2"]: 0, c["c1_G5_3"]: 0}, simultaneous=True)
    A20 = ssw.models.samokhin_c4v(variant="g4g5", intrinsic_soc=True).H
    assert all(sympy.expand(H[i, j] - A20[i, j]) == 0 for i in range(6) for j in range(6))


def test_a19_with_gamma4_irrep_is_not_in_the_gamma4_family(g4g5):
    """The inter-orbital blocks of A19 break C4v when the 1D orbital is Γ4: the mapping is a real test."""
    with pytest.raises(ModelError, match="breaks the symmetries"):
        g4g5.model.family.decompose(ssw.models.samokhin_c4v(intrinsic_soc=True).H)


def test_names_and_model_goes_into_effective(g1g5):
    """Paper names + η3, η4 for the omitted terms, first order in η.

    The Γ1 band's Rashba coefficient shifts by δα = −2b̃²(η3 − η4)/(E_g − b)² (order 2 in b̃, exact in b).
    """
    eta_3, eta_4 = sympy.symbols("eta_3 eta_4", real=True)
    names = {**{str(k): str(v) for k, v in g1g5.substitutions.items()}, "c1_G5_2": "eta_3", "c1_G5_3": "eta_4"}
    assert g1g5.names() == names
    model = ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], names=names)
    assert set(model.parameters) >= {eta_3, eta_4, epsilon_1, b_tilde}
    H = model.H.subs({gamma_1: 0, gamma_2: 0, gamma_tilde: 0, a_tilde: 0})
    m2 = ssw.Model(H, [2, 4], time_reversal=True).with_perturbative([eta_3, eta_4])
    eff = ssw.effective(m2, order=3, truncate={(b_tilde,): 2, (eta_3, eta_4): 1})
    hx = eff.pauli(eff.H)["x"].subs(epsilon_2, epsilon_1 + E_g)
    linear = sympy.diff(hx, k_y).subs({k_x: 0, k_y: 0})
    assert sympy.simplify(linear + 2 * b_tilde**2 * (eta_3 - eta_4) / (E_g - b) ** 2) == 0


# -- errors ---------------------------------------------------------------------------------------


def test_errors():
    with pytest.raises(ModelError, match=r"unknown point group 'D6h'.*C4v"):
        ssw.models.from_symmetry("D6h", ["Γ1"])
    with pytest.raises(ModelError, match=r"no irrep 'Γ7'.*Γ5"):
        ssw.models.from_symmetry("C4v", ["Γ1", "Γ7"])
    with pytest.raises(ModelError, match="k_order must be ≥ 0"):
        ssw.models.from_symmetry("C4v", ["Γ1"], k_order=-1)
    with pytest.raises(ModelError, match="k_order must be an integer"):
        ssw.models.from_symmetry("C4v", ["Γ1"], k_order=1.5)
    with pytest.raises(ModelError, match="non-empty list of irrep names"):
        ssw.models.from_symmetry("C4v", "Γ1")
    with pytest.raises(ModelError, match="split a spin doublet"):
        ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], k_order=0, blocks=[3, 3])
    with pytest.raises(ModelError, match=r"add up to 4.*6 states"):
        ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], k_order=0, blocks=[2, 2])
    with pytest.raises(ModelError, match="not among the generated parameters"):
        ssw.models.from_symmetry("C4v", ["Γ1"], k_order=0, names={"epsilon": "e"})
    with pytest.raises(ModelError, match="one name per parameter"):
        ssw.models.from_symmetry("C4v", ["Γ1"], k_order=1, names=["e"])
    odd = qsymm.PointGroupElement(sympy.ImmutableMatrix([[0, -1], [1, 0]]), U=[[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(ModelError, match="even size"):
        ssw.models.from_symmetry([odd], [3], k_order=0)
    with pytest.raises(ModelError, match="U of shape"):
        ssw.models.from_symmetry([odd], [1], k_order=0, spin=False)
    with pytest.raises(ModelError, match="unknown variant"):
        paper_mapping("g2g5")


def test_missing_qsymm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "qsymm", None)
    with pytest.raises(ImportError, match=r"pip install 'symbolic-sw\[symmetry\]'"):
        ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"])
