"""Pauli matrices and Kronecker products (spin is the last, fastest tensor factor)."""

import sympy

__all__ = ["SIGMA", "SPIN_LABELS", "kron", "pauli_coefficients", "sigma_0", "sigma_x", "sigma_y", "sigma_z"]

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
        out = sympy.Matrix(
            A.rows * B.rows, A.cols * B.cols, lambda i, j: A[i // B.rows, j // B.cols] * B[i % B.rows, j % B.cols]
        )
    return out


def distribute_numbers(expr):
    """Distribute pure-number factors (``I``, ½) over sums, and nothing else.

    Enough for the terms of ``Tr(σ_μ M)/2`` to cancel as like terms, while every
    denominator keeps its factored form (``expand`` would multiply them out).
    """
    if expr.is_Add:
        return sympy.Add(*[distribute_numbers(t) for t in expr.args])
    if expr.is_Mul:
        numbers = [f for f in expr.args if f.is_number]
        others = [f for f in expr.args if not f.is_number]
        if len(others) == 1 and others[0].is_Add:
            c = sympy.Mul(*numbers)
            return sympy.Add(*[distribute_numbers(c * t) for t in others[0].args])
    return expr


def pauli_coefficients(M):
    """``[c_0, c_x, c_y, c_z]`` of a 2×2 SymPy matrix, ``M = Σ c_μ σ_μ``."""
    M = sympy.Matrix(M)
    return [distribute_numbers((SIGMA[mu] * M.applyfunc(distribute_numbers)).trace() / 2) for mu in "0xyz"]
