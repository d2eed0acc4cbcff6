"""Floating-point backend for the same recursion (:mod:`.series`).

Used to certify the exact engine at random points, and on its own to get
effective operators of any order at given numbers in milliseconds.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NumericAlgebra", "NumericSylvester"]


class NumericAlgebra:
    """Dense complex matrices; ``None`` is an exact zero."""

    def __init__(self, block_of):
        self.block_of = np.asarray(block_of)
        self.n = len(block_of)
        same = self.block_of[:, None] == self.block_of[None, :]
        self._diag_mask, self._off_mask = same, ~same

    def matrix(self, M):
        """A matrix as a complex array (``None`` if it is zero)."""
        M = np.asarray(M, dtype=complex)
        return None if not M.any() else M

    def mul(self, A, B, rows=None, cols=None):
        """``A B``, optionally only the given rows / columns of the product (the rest zero)."""
        if A is None or B is None:
            return None
        C = A @ B
        if rows is not None:
            C = self.mask_rows(C, rows)
        if cols is not None and C is not None:
            C = self.mask_cols(C, cols)
        return C

    def add(self, matrices):
        """The sum of the matrices (``None`` ones skipped; ``None`` if all are)."""
        matrices = [M for M in matrices if M is not None]
        if not matrices:
            return None
        return sum(matrices[1:], matrices[0].copy())

    def scale(self, A, c):
        """``c A`` for a number ``c``."""
        return None if A is None else A * complex(c)

    def dagger(self, A):
        """The conjugate transpose."""
        return None if A is None else A.conj().T

    def diag(self, A):
        """The block-diagonal part."""
        return None if A is None else np.where(self._diag_mask, A, 0)

    def offdiag(self, A):
        """The block-off-diagonal part."""
        return None if A is None else np.where(self._off_mask, A, 0)

    def mask_rows(self, A, rows):
        """Only the given rows of ``A`` (the others zero)."""
        if A is None:
            return None
        out = np.zeros_like(A)
        out[list(rows), :] = A[list(rows), :]
        return out

    def mask_cols(self, A, cols):
        """Only the given columns of ``A`` (the others zero)."""
        if A is None:
            return None
        out = np.zeros_like(A)
        out[:, list(cols)] = A[:, list(cols)]
        return out

    def identity(self):
        """The unit matrix."""
        return np.eye(self.n, dtype=complex)


class NumericSylvester:
    """``V`` with ``[V, H0] = Y`` for off-diagonal ``Y``, via eigenbases of the blocks."""

    def __init__(self, H0, block_of):
        self.block_of = np.asarray(block_of)
        self.blocks = [np.flatnonzero(self.block_of == a) for a in np.unique(self.block_of)]
        self.eig = [np.linalg.eigh(H0[np.ix_(idx, idx)]) for idx in self.blocks]

    def __call__(self, Y):
        """The off-diagonal anti-Hermitian ``V`` with ``[V, H0] = Y`` (Eq. 19), in the blocks' eigenbases."""
        if Y is None:
            return None
        V = np.zeros_like(Y)
        for a, ia in enumerate(self.blocks):
            for b, ib in enumerate(self.blocks):
                if b <= a:
                    continue
                (ea, Ua), (eb, Ub) = self.eig[a], self.eig[b]
                C = -Y[np.ix_(ia, ib)]
                X = Ua @ ((Ua.conj().T @ C @ Ub) / (ea[:, None] - eb[None, :])) @ Ub.conj().T
                V[np.ix_(ia, ib)] = X
                V[np.ix_(ib, ia)] = -X.conj().T
        return V
