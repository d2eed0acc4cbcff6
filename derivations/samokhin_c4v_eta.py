"""Eq. (33) plus the two k-linear Γ5 terms that C4v allows and Eq. (A19) omits (η3, η4).

The most general C4v model of Γ1 + Γ5 orbitals ⊗ spin ½ to linear order in k
(`ssw.models.from_symmetry`, see docs/symmetry_c4v.md) has 10 terms; Eq. (A19)
has 8. The two it lacks are orbital-anisotropic, Dresselhaus-like spin-orbit terms
inside the Γ5 doublet, η3 τ3 ⊗ (k_x σ_y + k_y σ_x) and η4 τ1 ⊗ (k_x σ_x − k_y σ_y).
Here they are added to Eq. (33) and kept to first order, on top of second order in
the inter-orbital coupling ã, b̃ (exact in b). Only η3 − η4 shifts the Rashba
coefficient: δα_R = −2 b̃² (η3 − η4)/(E_g − b)². The model is given as a string
(issue 7): a user model through the full pipeline.
"""

_kinetic = "hbar**2*(k_x**2 + k_y**2)/(2*m)"
_coupling = (
    "kron(ketbra(1, 2, 3), -I*a_tilde*k_x*sigma_0 - I*b_tilde*sigma_y)"
    " + kron(ketbra(1, 3, 3), -I*a_tilde*k_y*sigma_0 + I*b_tilde*sigma_x)"
)
HAMILTONIAN = f"""
    (epsilon_1 + {_kinetic}) * kron(proj(1, 3), sigma_0)
  + (epsilon_2 + {_kinetic}) * kron(proj(2, 3) + proj(3, 3), sigma_0)
  + b * kron(lambda_7, sigma_z) + {_coupling} + dagger({_coupling})
  + eta_3 * kron(proj(2, 3) - proj(3, 3), k_x*sigma_y + k_y*sigma_x)
  + eta_4 * kron(lambda_6, k_x*sigma_x - k_y*sigma_y)
"""
BLOCKS = [2, 4]  # Γ1 ⊗ spin | Γ5 ⊗ spin
SYMBOLS = ["eta_3", "eta_4"]  # beyond the package's symbols (real)
BASIS = ["G1 up", "G1 dn", "G5x up", "G5x dn", "G5y up", "G5y dn"]
MODEL_OPTIONS = {"time_reversal": True}
ORDER = 2  # powers of ã, b̃
PERTURBATIVE = {("eta_3", "eta_4"): 1}  # and first order in η3, η4
OPERATORS = ["H", "S", "T", "J", "dJ"]
VALUES = {
    "hbar": 1.0,
    "m": 1.0,
    "epsilon_1": 0.0,
    "epsilon_2": 1.0,
    "a_tilde": 0.3,
    "b_tilde": 0.2,
    "b": 0.1,
    "eta_3": 0.06,
    "eta_4": -0.04,
}
SCALE = ["a_tilde", "b_tilde", "eta_3", "eta_4"]
