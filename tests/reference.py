"""Exact (all-orders) reference: the direct rotation U = sqrt((2P-1)(2P0-1)), numpy only.

P is the spectral projector on the states adiabatically connected to the
essential block, P0 the projector on the essential block's basis states.  For an
off-diagonal generator the Schrieffer-Wolff unitary *is* this rotation, so the
order-n effective operators must approach (U† O U)_AA with error O(z^(n+1)) —
O(z^(n+2)) when the perturbation is purely off-diagonal.
"""

import numpy as np
import sympy


def direct_rotation(H, n_a):
    """The unitary U with U P0 U† = P, from the eigenvectors of H."""
    E, vecs = np.linalg.eigh(H)
    weight = np.sum(np.abs(vecs[:n_a, :]) ** 2, axis=0)
    chosen = np.argsort(-weight, kind="stable")[:n_a]
    P = vecs[:, chosen] @ vecs[:, chosen].conj().T
    P0 = np.zeros_like(P)
    P0[:n_a, :n_a] = np.eye(n_a)
    one = np.eye(len(H))
    R = (2 * P - one) @ (2 * P0 - one)
    # sqrt(R) = (1 + R)(2 + R + R†)^(-1/2) for a normal R without eigenvalue -1
    w, v = np.linalg.eigh(2 * one + R + R.conj().T)
    return (one + R) @ (v @ np.diag(w ** -0.5) @ v.conj().T)


def exact_effective(H, operators, n_a):
    """``[(U† O U)_AA for O in operators]`` with the direct rotation."""
    U = direct_rotation(H, n_a)
    return [(U.conj().T @ O @ U)[:n_a, :n_a] for O in operators]


def numeric(M, values):
    """A SymPy matrix at numbers."""
    f = sympy.lambdify(list(values), sympy.Matrix(M), modules="numpy")
    return np.array(f(*values.values()), dtype=complex)


def fit_exponent(zs, errors):
    """Slope of log(error) against log(z)."""
    return float(np.polyfit(np.log(zs), np.log(errors), 1)[0])
