"""Pauli matrices and Kronecker products (spin is the last, fastest tensor factor)."""

import sympy

__all__ = ["sigma_0", "sigma_x", "sigma_y", "sigma_z", "SIGMA", "kron", "SPIN_LABELS"]

sigma_0 = sympy.ImmutableMatrix([[1, 0], [0, 1]])
sigma_x = sympy.ImmutableMatrix([[0, 1], [1, 0]])
sigma_y = sympy.ImmutableMatrix([[0, -sympy.I], [sympy.I, 0]])
sigma_z = sympy.ImmutableMatrix([[1, 0], [0, -1]])

#: Pauli matrices by label; "0" is the identity.
SIGMA = {"0": sigma_0, "x": sigma_x, "y": sigma_y, "z": sigma_z}
SPIN_LABELS = ("x", "y", "z")


def kron(*matrices):
    """Kronecker product of SymPy matrices, left factor slowest.

    Written out rather than through ``sympy.physics.quantum.TensorProduct``,
    whose import (it pulls in scipy when installed) was half of ``import
    symbolic_sw``.
    """
    out = sympy.Matrix([[1]])
    for factor in matrices:
        B = sympy.Matrix(factor)
        A = out
        out = sympy.Matrix(A.rows * B.rows, A.cols * B.cols,
                           lambda i, j: A[i // B.rows, j // B.cols] * B[i % B.rows, j % B.cols])
    return out
