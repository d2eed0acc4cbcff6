"""The order-by-order canonical transformation: recursion formulas only.

Notation (Appendix D): ``H = H0 + ζ H1`` with ``H0`` block-diagonal and kept
exactly.  We look for ``U = exp(iQ)`` with ``Q`` Hermitian and block-off-diagonal
(Eq. 17, D5).  Writing ``U = 1 + U'`` with ``U' = W + V``, the even powers of
``iQ`` give the block-diagonal Hermitian ``W = cos Q - 1`` and the odd ones the
off-diagonal anti-Hermitian ``V = i sin Q``; conversely ``W`` is fixed by ``V``
through unitarity, so the series for ``U`` is the Schrieffer-Wolff (Luttinger-Kohn)
one order by order, and coincides with the direct rotation
``U = sqrt((2P-1)(2P0-1))`` that the tests use as the exact reference.

With ``X = [U', H0] = Y + Z`` (``Y`` off-diagonal, ``Z`` block-diagonal), the
conditions ``U†U = 1`` and ``(U†HU)_offdiag = 0`` become, at order ``n``
(all sums over ``i = 1 .. n-1``, ``U_0 = 1``)::

    W_n      = -½ [Σ U'_i† U'_(n-i)]                             (unitarity)
    P_n      =  Σ U'_i† X_(n-i)
    B_n      =  Σ_(i=0..n-1) U_i† (H1 U)_(n-1-i)                 ((U† H1 U)_n)
    Y_n      =  [B_n - ½ (P_n + P_n†)]_O                        (block-diagonality)
    V_n      :  [V_n, H0] = Y_n                                  (Sylvester, Eq. 19)
    Z_n      = -½ (P_n - P_n†)                                  (Hermiticity of U†HU)
    H_eff,n  =  [B_n - ½ (P_n + P_n†)]_D                        (Eqs. 18, D6)

With two blocks, ``Q²`` is block-diagonal, so ``W = cos Q - 1`` and ``Z = [W, H0]``
are too: the off-diagonal parts of ``W_n`` and ``Z_n`` vanish identically and are
not computed.  With three or more blocks they do not vanish (``V_ab V_bc`` links
blocks a and c): ``W`` is then Hermitian but not block-diagonal, as in pymablock's
general algorithm, and the unitary is the one whose diagonal blocks are Hermitian
and positive — the multi-block generalisation of the direct rotation.

Only ``V_n`` needs ``H0`` (through the Sylvester solve); no product involves
``H0``, which is what lets the blocks be non-diagonal and still exact.  Any
operator ``O = Σ_l O_l ζ^l`` is then transformed by the same ``U``:
``Õ_n = Σ_(i+l+j=n) U_i† O_l U_j``  (Eqs. 20-22, F5), of which we keep one block.

The formulas are written against a small matrix-algebra interface so that the
same recursion runs exactly (:mod:`.algebra`) and in floating point
(:mod:`.numeric`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import sympy

__all__ = ["CanonicalSeries", "MatrixAlgebra"]

#: a matrix of the algebra; ``None`` is the exact zero matrix
Matrix = Any


@runtime_checkable
class MatrixAlgebra(Protocol):
    """The interface the recursion is written against.

    Exact: :class:`.algebra.RationalAlgebra`, floating point:
    :class:`.numeric.NumericAlgebra`.

    Matrices are square in the model's basis; ``None`` is the exact zero, which
    every operation accepts and may return.  ``block_of[i]`` is the block of
    basis state ``i``.
    """

    block_of: Sequence[int]

    def mul(self, A: Matrix, B: Matrix, rows=None, cols=None) -> Matrix:
        """``A B``, optionally only the given rows / columns of the product (the rest zero)."""

    def add(self, matrices: Sequence[Matrix]) -> Matrix:
        """The sum of the matrices (``None`` entries skipped)."""

    def scale(self, A: Matrix, c) -> Matrix:
        """``c A`` for a number ``c``."""

    def dagger(self, A: Matrix) -> Matrix:
        """The conjugate transpose."""

    def diag(self, A: Matrix) -> Matrix:
        """The block-diagonal part."""

    def offdiag(self, A: Matrix) -> Matrix:
        """The block-off-diagonal part."""

    def mask_rows(self, A: Matrix, rows) -> Matrix:
        """Only the given rows of ``A``."""

    def mask_cols(self, A: Matrix, cols) -> Matrix:
        """Only the given columns of ``A``."""

    def identity(self) -> Matrix:
        """The unit matrix."""


#: ``solve(Y)``: the off-diagonal anti-Hermitian ``V`` with ``[V, H0] = Y`` (Eq. 19)
Solver = Callable[[Matrix], Matrix]

_MINUS_HALF = sympy.Rational(-1, 2)


class CanonicalSeries:
    """Terms of ``U = exp(iQ)`` and ``H_eff`` order by order.

    Parameters
    ----------
    alg : MatrixAlgebra
        Exact or floating-point matrix arithmetic.
    H0, H1 : algebra matrices
        Unperturbed (block-diagonal) part and perturbation.
    solve : callable
        ``solve(Y)`` returns the off-diagonal anti-Hermitian ``V`` with ``[V, H0] = Y``.
    """

    def __init__(self, alg: MatrixAlgebra, H0: Matrix, H1: Matrix, solve: Solver):
        self.alg, self.H0, self.H1, self.solve = alg, H0, H1, solve
        self.U_prime = [None]  # U'_0 = 0
        self.W = [None]
        self.V = [None]
        self.X = [None]
        self.H_eff = [alg.diag(H0)]
        self.H1U = [H1]  # (H1 U)_m
        self.order = 0
        # W and Z are block-diagonal only for two blocks (see module docstring)
        self._two_blocks = len(set(alg.block_of)) <= 2
        #: number of matrix products and Sylvester solves (cost guard)
        self.counts = {"products": 0, "solves": 0}

    def U(self, n):
        """The order-n term ``U_n`` of ``U = exp(iQ)``: ``U_0 = 1``, ``U_n = U'_n = W_n + V_n``."""
        return self.alg.identity() if n == 0 else self.U_prime[n]

    def _mul(self, A, B, **kw):
        if A is not None and B is not None:
            self.counts["products"] += 1
        return self.alg.mul(A, B, **kw)

    def _mask(self, A):
        return self.alg.diag(A) if self._two_blocks else A

    def extend(self, order, progress=None):
        """Compute all terms up to ``order``; ``progress(text)``, if given, hears of each order done."""
        for n in range(self.order + 1, order + 1):
            self._step(n)
            if progress is not None:
                progress(f"series order {n}/{order} ({self.counts['products']} products)")
        return self

    def _step(self, n):
        a, mul = self.alg, self._mul
        Up, X = self.U_prime, self.X
        W = a.add([mul(a.dagger(Up[i]), Up[n - i]) for i in range(1, n)])
        W = a.scale(self._mask(W), _MINUS_HALF)
        P = a.add([mul(a.dagger(Up[i]), X[n - i]) for i in range(1, n)])
        B = a.add([self.H1U[n - 1]] + [mul(a.dagger(Up[i]), self.H1U[n - 1 - i]) for i in range(1, n)])
        P_dag = a.dagger(P)
        R = a.add([B, a.scale(a.add([P, P_dag]), _MINUS_HALF)])
        Y = a.offdiag(R)
        if Y is not None:
            self.counts["solves"] += 1
        V = self.solve(Y)
        Z = a.scale(self._mask(a.add([P, a.scale(P_dag, -1)])), _MINUS_HALF)
        self.W.append(W)
        self.V.append(V)
        self.U_prime.append(a.add([W, V]))
        self.X.append(a.add([Y, Z]))
        self.H_eff.append(a.diag(R))
        self.H1U.append(mul(self.H1, self.U_prime[n]))
        self.order = n

    def transform(self, parts, order, rows, cols=None):
        """``(U† O U)`` restricted to ``rows × cols``, as a list of terms by order.

        Eqs. (20)-(22) and (F5) to all orders: ``Õ_n = Σ U_i† O_l U_j``.
        """
        self.extend(order)
        a, mul = self.alg, self._mul
        cols = rows if cols is None else cols
        # (O U)_m restricted to the needed columns
        OU = []
        for mm in range(order + 1):
            terms = [
                mul(O_l, self.U(mm - l), cols=cols) if mm - l > 0 else a.mask_cols(O_l, cols)
                for l, O_l in enumerate(parts)
                if l <= mm
            ]
            OU.append(a.add(terms))
        out = []
        for n in range(order + 1):
            terms = [a.mask_rows(OU[n], rows)]
            terms += [mul(a.dagger(self.U_prime[i]), OU[n - i], rows=rows, cols=cols) for i in range(1, n + 1)]
            out.append(a.add(terms))
        return out
