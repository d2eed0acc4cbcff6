"""Roth's g-factor of the Γ6 conduction band: the 8-band Kane model in a magnetic field B_z (issue 16).

The 8-band Kane model (basis S↑, S↓, X↑, X↓, Y↑, Y↓, Z↑, Z↓: Γ6 at E_g, the valence
p states with spin-orbit (Δ/3)(L·σ − 1), i.e. Γ8 at 0 and Γ7 at −Δ, couplings −iP k_i,
ħ²k²/2m_0 in every band) with B along z, in the plane k_z = 0 of the motion
perpendicular to B (where the Landau levels form): the kinetic momenta do not commute,
[k_x, k_y] = −i e B_z/ħ (electron charge −e), and the free-electron Zeeman term
(g_0/2) μ_B B_z σ_z, μ_B = eħ/2m_0, is in every band. The conduction block at order 2
in P (first order in g_0) has the σ_z term (g*/2) μ_B B_z with Roth's
g* = g_0 − (2/3) E_P Δ/(E_g(E_g + Δ)), E_P = 2m_0P²/ħ², and the mass
1/m* = (1/m_0)[1 + (E_P/3)(2/E_g + 1/(E_g + Δ))]. H is the Weyl symbol: the kernels
take k_x, k_y and B_z as numbers. `symbolic_sw.models.kane_8band(magnetic=True,
zeeman=True)` is the same model with k_z. `symbolic-sw check` refuses this spec (its
float rotation treats the momenta as commuting numbers); tests/test_fields.py checks g*
against the Landau levels of the full 8×8 model, tests/test_fields_pipeline.py these
kernels against Roth's formula.
"""

_kinetic = "hbar**2*(k_x**2 + k_y**2)/(2*m_0)"
# L·σ on the p states X, Y, Z (orbitals 2-4): (L_n)_ij = −i ε_nij
_spin_orbit = (
    "kron(-I*ketbra(3, 4, 4) + I*ketbra(4, 3, 4), sigma_x)"
    " + kron(I*ketbra(2, 4, 4) - I*ketbra(4, 2, 4), sigma_y)"
    " + kron(-I*ketbra(2, 3, 4) + I*ketbra(3, 2, 4), sigma_z)"
)
_coupling = "-I*P*(k_x*kron(ketbra(1, 2, 4), sigma_0) + k_y*kron(ketbra(1, 3, 4), sigma_0))"  # S to X, Y
HAMILTONIAN = f"""
    {_kinetic} * eye(8) + E_g * kron(proj(1, 4), sigma_0)
  + Delta/3 * ({_spin_orbit} - kron(eye(4) - proj(1, 4), sigma_0))
  + {_coupling} + dagger({_coupling})
  + g_0/2 * e*hbar/(2*m_0) * B_z * kron(eye(4), sigma_z)
"""
BLOCKS = [2, 6]  # Γ6 | Γ8 + Γ7
SYMBOLS = ["P", "Delta", "m_0", "e", "g_0", "B_z"]
BASIS = ["S up", "S dn", "X up", "X dn", "Y up", "Y dn", "Z up", "Z dn"]
COMMUTATORS = {"k_x, k_y": "-I*e*B_z/hbar"}  # [k_x, k_y] = −i e B_z/ħ
MODEL_OPTIONS = {"perturbative": ["g_0"]}  # the Zeeman term counts as order 1
ORDER = 2  # powers of P and g_0 together
OPERATORS = ["H", "S"]
VALUES = {"hbar": 1.0, "m_0": 1.0, "e": 1.0, "E_g": 1.0, "Delta": 0.7, "P": 0.8, "g_0": 2.0, "B_z": 0.01}
