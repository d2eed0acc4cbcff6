"""Floating-point backend for the same recursion (:mod:`.series`).

Used to certify the exact engine at random points, and on its own to get
effective operators of any order at given numbers in milliseconds.

A float recursion has no symbolic safety net: a closed or nearly closed gap
between the blocks gives huge but finite numbers.  :func:`check_convergence`
therefore measures, before the result is returned, the smallest inter-block
eigenvalue difference δ of ``H0`` and the size of the generator ``V_n`` of
``U = exp(iQ)`` order by order (the coupling divided by the energy
denominators of the Sylvester solve, Eq. 19), and refuses or warns.  Parameter
values enter only as numbers (:func:`real_number`): nothing is parsed.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import sympy

from ..errors import ModelError

__all__ = [
    "Convergence",
    "NumericAlgebra",
    "NumericSylvester",
    "SeriesConvergenceWarning",
    "check_convergence",
    "check_gap",
    "real_number",
]

#: Inter-block eigenvalue differences of ``H0`` at or below this, relative to
#: max(‖H0‖, ‖H1‖), count as a closed gap: ``eigh`` resolves eigenvalues only to
#: a few ε‖H0‖, so a difference of 1000 ε‖H0‖ (2e-13 relative) is
#: indistinguishable from a crossing, and dividing by it (Eq. 19) gives noise.
_CLOSED_GAP = 1e3 * np.finfo(float).eps
#: Convergence parameter ρ (see :class:`Convergence`) from which a warning is
#: given.  For two levels at distance δ coupled by v, ρ = v/δ and the series
#: (in v², through √(δ²/4 + v²)) converges exactly for ρ < 1/2: beyond it the
#: terms stop decreasing.  The paper's parameters (E_g = 1, b = 0.1, ã = 0.3,
#: b̃ ≤ 0.2, |k| ≤ 0.6) reach ρ = 0.489, so they stay silent.
_WARN_RATIO = 0.5
#: ρ from which the series is refused at any order: the coupling exceeds the gap
#: (ρ = ‖H1‖/δ for two levels) and the terms grow like (2ρ)^n ≥ 2^n.  Measured on
#: Eq. (33) at ρ = 1.03 (b = 0.6): the order-4 result is already worse than the
#: order-2 one, and order 8 is off by 2 (H_eff itself ~ 0.1).
_DIVERGE_RATIO = 1.0
#: Between the two, the series is refused at an order n with (2ρ)^n ≥ this: the
#: terms kept have grown to twice the leading one, so the sum is dominated by
#: the divergence (two levels at ρ = 0.9: order 2 gives −0.15 for the exact −0.53).
_DIVERGED_GROWTH = 2.0


class SeriesConvergenceWarning(UserWarning):
    """The Schrieffer–Wolff series is used outside its radius of convergence.

    Given by :func:`~symbolic_sw.effective_numeric` when the inter-block
    coupling is comparable to the gap: the result of a low order is only a
    rough approximation and higher orders do not improve it.
    """


def real_number(value, name, symbol=None):
    """``value`` as a finite float, or a :class:`ModelError` naming ``name``.

    Numbers only: ``int``, ``float``, numpy reals, ``fractions.Fraction`` and
    SymPy numbers.  A string is never parsed (``sympify`` would evaluate it),
    ``bool`` is refused, and so are NaN, ±inf and a non-zero imaginary part.
    With ``symbol``, its SymPy assumptions are enforced too (``hbar``, ``m``
    are declared positive).
    """
    if isinstance(value, (bool, np.bool_)):
        raise ModelError(f"{name} must be a real number, got the bool {value!r}. Fix: pass a number such as 0.1.")
    if isinstance(value, (str, bytes)):
        raise ModelError(
            f"{name} must be a real number, got the {type(value).__name__} {value!r}; strings are never "
            f"evaluated. Fix: pass a number such as 0.1 (keys, not values, may be names)."
        )
    if isinstance(value, sympy.Basic):
        if not (isinstance(value, sympy.Expr) and value.is_number):
            raise ModelError(f"{name} must be a number, got the SymPy expression {value}. Fix: pass a number.")
        if value.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            raise ModelError(f"{name} must be finite, got {value}. Fix: pass a finite number.")
        value = complex(value)
    elif not isinstance(value, (numbers.Number, np.number)):
        raise ModelError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    if isinstance(value, (numbers.Complex, np.complexfloating)) and not isinstance(value, numbers.Real):
        z = complex(value)
        if not (math.isfinite(z.real) and math.isfinite(z.imag)):
            raise ModelError(f"{name} must be finite, got {z!r}. Fix: pass a finite number.")
        if z.imag != 0:
            raise ModelError(
                f"{name} must be real (the model's symbols are real), got the complex {z!r}. Fix: pass a real number."
            )
        value = z.real
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ModelError(f"{name} must be a finite real number, got {value!r}.") from exc
    if not math.isfinite(x):
        raise ModelError(f"{name} must be finite, got {x!r}. Fix: pass a finite number.")
    if symbol is not None:
        if symbol.is_positive and not x > 0:
            raise ModelError(f"{name} = {x!r}, but {symbol} is declared positive. Fix: pass {symbol} > 0.")
        if symbol.is_nonnegative and not x >= 0:
            raise ModelError(f"{name} = {x!r}, but {symbol} is declared non-negative. Fix: pass {symbol} ≥ 0.")
    return x


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
    """``V`` with ``[V, H0] = Y`` for off-diagonal ``Y``, via eigenbases of the blocks.

    Attributes
    ----------
    gaps : dict (a, b) → float
        Smallest ``|e_a − e_b|`` between the eigenvalues of blocks a and b of
        ``H0``: the smallest energy denominator of the Sylvester solve (Eq. 19).
    """

    def __init__(self, H0, block_of):
        self.block_of = np.asarray(block_of)
        self.blocks = [np.flatnonzero(self.block_of == a) for a in np.unique(self.block_of)]
        self.eig = [np.linalg.eigh(H0[np.ix_(idx, idx)]) for idx in self.blocks]
        self.gaps = {
            (a, b): float(np.min(np.abs(self.eig[a][0][:, None] - self.eig[b][0][None, :])))
            for a in range(len(self.blocks))
            for b in range(a + 1, len(self.blocks))
        }

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


@dataclass(frozen=True)
class Convergence:
    """How far the float series is from its radius of convergence.

    Attributes
    ----------
    gap : float
        δ, the smallest eigenvalue difference of ``H0`` between two blocks.
    pair : (int, int)
        The two blocks where it occurs.
    coupling : float
        ‖H1‖ (spectral norm): the size of the perturbation.
    ratio : float
        ρ = max_n (2n‖V_n‖)^(1/n) / 2 over the computed orders, ``V_n`` the
        order-n off-diagonal part of ``U`` (Appendix D).  ``ρ = ‖V_1‖`` is the
        coupling divided by the energy denominators pair by pair (the first
        Sylvester solve, Eq. 19); the normalisation makes ρ = v/δ at every order
        for two levels, where the series converges exactly for ρ < 1/2.  Higher
        orders catch a small gap that the coupling reaches only indirectly.
    order : int
        The order ``n`` at which the maximum is reached.
    """

    gap: float
    pair: tuple
    coupling: float
    ratio: float
    order: int

    def describe(self):
        """The numbers: gap, coupling and ρ, for the messages."""
        a, b = self.pair
        relative = self.coupling / self.gap if self.gap else math.inf
        return (
            f"the gap between blocks {a} and {b} of H0 is δ = {self.gap:.3g} and the coupling ‖H1‖ = "
            f"{self.coupling:.3g} (‖H1‖/δ = {relative:.3g}); the generator of U = exp(iQ) grows with "
            f"ratio ρ = {self.ratio:.3g} per order (from V_{self.order})"
        )


def check_gap(H0, H1, solve: NumericSylvester, what="effective_numeric()"):
    """Refuse a closed gap before any Sylvester solve divides by it.

    Raises
    ------
    ModelError
        When some inter-block eigenvalue difference of ``H0`` is at round-off
        level: Eq. (19) has no solution and the blocks cannot be separated.
    """
    if not solve.gaps:
        return
    pair, gap = min(solve.gaps.items(), key=lambda item: item[1])
    scale = max(np.linalg.norm(H0, 2), 0.0 if H1 is None else np.linalg.norm(H1, 2), np.finfo(float).tiny)
    if gap <= _CLOSED_GAP * scale:
        a, b = pair
        raise ModelError(
            f"{what}: the gap between blocks {a} and {b} of H0 is closed at these values (smallest eigenvalue "
            f"difference δ = {gap:.3g}, round-off level for ‖H0‖ = {scale:.3g}): the Sylvester equation "
            f"(Eq. 19) has no solution and the Schrieffer–Wolff series does not exist. Fix: choose values "
            f"with the blocks apart (for Eq. 33: b ≠ ±(ε2 − ε1)), or put the degenerate states into one block."
        )


def check_convergence(H1, V, solve: NumericSylvester, order, what="effective_numeric()"):
    """Measure the series' convergence from its generators; raise or warn.

    Parameters
    ----------
    H1 : ndarray or None
        The perturbation (for its norm in the message).
    V : list
        ``V_n`` (n = 0, 1, …; ``None`` is zero) of :class:`~.series.CanonicalSeries`.
    solve : NumericSylvester
        The solver, for the gaps.
    order : int
        The order of the result the caller returns.
    what : str
        The caller, for the messages.

    Returns
    -------
    Convergence

    Raises
    ------
    ModelError
        ρ ≥ 1 (see :class:`Convergence`): the terms grow like (2ρ)^n, the
        series diverges and no order gives a meaningful answer; or ρ > 1/2 and
        (2ρ)^order ≥ 2: at the order asked for the terms have already grown.

    Warns
    -----
    SeriesConvergenceWarning
        1/2 ≤ ρ < 1 at a low order: outside the two-level radius of convergence,
        a rough approximation that higher orders do not improve.
    """
    pair, gap = min(solve.gaps.items(), key=lambda item: item[1]) if solve.gaps else ((0, 0), math.inf)
    coupling = 0.0 if H1 is None else float(np.linalg.norm(H1, 2))
    ratio, at = 0.0, 1
    for n, Vn in enumerate(V):
        if n == 0 or Vn is None:
            continue
        size = float(np.linalg.norm(Vn, 2))
        r = (2 * n * size) ** (1 / n) / 2 if math.isfinite(size) else math.inf
        if r > ratio:
            ratio, at = r, n
    info = Convergence(gap, pair, coupling, ratio, at)
    growth = (2 * ratio) ** order if ratio < _DIVERGE_RATIO else math.inf
    if ratio >= _DIVERGE_RATIO or (ratio > _WARN_RATIO and growth >= _DIVERGED_GROWTH):
        why = (
            f"ρ ≥ {_DIVERGE_RATIO:g} makes the terms grow like (2ρ)^n"
            if ratio >= _DIVERGE_RATIO
            else f"ρ > 1/2 makes the terms grow like (2ρ)^n, already {growth:.3g} at order {order}"
        )
        raise ModelError(
            f"{what}: the Schrieffer–Wolff series diverges at these values: {info.describe()}, and {why} (the "
            f"series converges for ρ < 1/2; ρ = coupling/gap for two levels). Fix: choose values where the gap is "
            f"large compared with the coupling, or put the nearly degenerate states into one block (kept "
            f"exactly), or diagonalise H exactly (symbolic_sw.certify.exact_block_effective)."
        )
    if ratio >= _WARN_RATIO:
        warnings.warn(
            f"{what}: the gap is comparable to the coupling: {info.describe()}, and ρ ≥ {_WARN_RATIO:g} is "
            f"outside the radius of convergence of the series (ρ < 1/2): the result is only a rough approximation and "
            f"higher orders do not improve it. Fix: a larger gap or a smaller coupling, or an exact "
            f"diagonalisation (symbolic_sw.certify.exact_block_effective).",
            SeriesConvergenceWarning,
            stacklevel=3,
        )
    return info
