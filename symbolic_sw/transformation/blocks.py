r"""Every block of the transformed operators, in floating point, batched over k points.

:class:`~.effective.Effective` keeps the essential block ``(U†OU)_AA`` of an
operator. Response functions need the other blocks too: the transformed remote
Hamiltonian ``(U†HU)_BB`` (energy denominators of virtual transitions) and the
off-diagonal blocks ``(U†OU)_AB``, ``(U†OU)_BA`` (the matrix elements of those
transitions), all of the same order-``n`` unitary ``U = exp(iQ)``.

Here the recursion of :mod:`.series` runs on stacks of matrices, one per k point,
so that one pass of the series serves thousands of k points
(:class:`BatchedAlgebra`, :class:`BatchedSylvester`). Optionally each matrix
carries its first derivatives in k as extra channels (dual numbers): products
follow the Leibniz rule and the Sylvester equation ``[V, H0] = Y`` is
differentiated as ``[∂V, H0] = ∂Y − [V, ∂H0]``, so ``∂H_eff/∂k`` of any order is
exact to round-off (the textbook velocity of the effective model, Eq. 2).

>>> import symbolic_sw as ssw
>>> from symbolic_sw import operators as ops
>>> model = ssw.models.samokhin_c4v()
>>> values = dict(hbar=1, m=1, epsilon_1=0, epsilon_2=1, a_tilde=0.15, b_tilde=0.05, b=0.1)
>>> blocks = NumericBlocks(model, values, order=4, operators={"v_y": ops.velocity(model, "y")})
>>> t = blocks([0.1, 0.2], [0.0, 0.3])          # two k points
>>> t.total("H").shape, len(t.terms["v_y"])     # U†HU (block-diagonal), v_y terms of orders 0..4
((2, 6, 6), 5)
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy

from .. import operators as ops
from ..errors import ModelError
from ..model import Model
from .series import CanonicalSeries

__all__ = ["BatchedAlgebra", "BatchedSylvester", "BlockTerms", "NumericBlocks", "numeric_matrix", "numeric_values"]


@functools.lru_cache(maxsize=64)
def _complex(c):
    """``complex(c)`` of a (SymPy) number, once per number: the series scales by a few constants."""
    return complex(c)


class BatchedAlgebra:
    """The :class:`~.series.MatrixAlgebra` on stacks of matrices, with optional k-derivatives.

    A matrix is a complex array of shape ``(C, K, N, N)``: ``K`` points, channel 0
    the value and channels ``1..C-1`` its first derivatives along chosen
    directions (dual numbers). ``None`` is the exact zero, as in the protocol.

    Parameters
    ----------
    block_of : sequence of int
        The block of each basis state.
    n_points : int
        ``K``, the number of k points of every matrix.
    n_derivatives : int
        ``C − 1``, the number of derivative channels (0: plain values).
    """

    def __init__(self, block_of, n_points, n_derivatives=0):
        self.block_of = np.asarray(block_of)
        self.n = len(block_of)
        self.shape = (1 + int(n_derivatives), int(n_points), self.n, self.n)
        same = self.block_of[:, None] == self.block_of[None, :]
        self._diag_mask, self._off_mask = same.astype(float), (~same).astype(float)

    def matrix(self, M):
        """An array of shape ``(C, K, N, N)`` (``None`` if it is zero)."""
        M = np.broadcast_to(np.asarray(M, dtype=complex), self.shape).copy()
        return M if M.any() else None

    def mul(self, A, B, rows=None, cols=None):
        """``A B`` with the Leibniz rule in the derivative channels; optionally only rows / cols."""
        if A is None or B is None:
            return None
        if rows is not None:
            A = self.mask_rows(A, rows)
        if cols is not None:
            B = self.mask_cols(B, cols)
        C = A[0] @ B  # value channel and A0 ∂B
        if C.shape[0] > 1:
            C[1:] += A[1:] @ B[0]  # ∂A B0
        return C

    def add(self, matrices):
        """The sum of the matrices (``None`` skipped; ``None`` if all are)."""
        matrices = [M for M in matrices if M is not None]
        if not matrices:
            return None
        out = matrices[0].copy()
        for M in matrices[1:]:
            out += M
        return out

    def scale(self, A, c):
        """``c A`` for a number ``c``."""
        return None if A is None else A * _complex(c)

    def dagger(self, A):
        """The conjugate transpose of every matrix of the stack (channel by channel)."""
        return None if A is None else np.conj(np.swapaxes(A, -1, -2))

    def diag(self, A):
        """The block-diagonal part."""
        return None if A is None else A * self._diag_mask

    def offdiag(self, A):
        """The block-off-diagonal part."""
        return None if A is None else A * self._off_mask

    def mask_rows(self, A, rows):
        """Only the given rows of ``A`` (the others zero)."""
        rows = list(rows)
        if A is None or len(set(rows)) == self.n:
            return A
        mask = np.zeros(self.n)
        mask[rows] = 1.0
        return A * mask[:, None]

    def mask_cols(self, A, cols):
        """Only the given columns of ``A`` (the others zero)."""
        cols = list(cols)
        if A is None or len(set(cols)) == self.n:
            return A
        mask = np.zeros(self.n)
        mask[cols] = 1.0
        return A * mask[None, :]

    def identity(self):
        """The unit matrix at every point (derivatives zero)."""
        out = np.zeros(self.shape, dtype=complex)
        out[0] = np.eye(self.n)
        return out


class BatchedSylvester:
    """``V`` with ``[V, H0] = Y`` at every k point, derivative channels included.

    ``H0`` is a ``(C, K, N, N)`` block-diagonal stack (channels ≥ 1: ``∂H0/∂k``).
    The value channel is solved in the eigenbases of the blocks of ``H0`` (as
    :class:`~.numeric.NumericSylvester`); a derivative channel solves
    ``[∂V, H0] = ∂Y − [V, ∂H0]``.
    """

    def __init__(self, H0, block_of, blocks=None):
        self.H0 = np.asarray(H0)
        self.block_of = np.asarray(block_of)
        if blocks is None:
            blocks = [np.flatnonzero(self.block_of == a) for a in np.unique(self.block_of)]
            # contiguous blocks (every Model's) as slices: views instead of fancy-index copies
            blocks = [slice(b[0], b[-1] + 1) if np.all(np.diff(b) == 1) else b for b in blocks]
        self.blocks = [b if isinstance(b, slice) else np.asarray(b) for b in blocks]
        self.eig = [np.linalg.eigh(self.H0[0][(slice(None), *self._ix(b, b))]) for b in self.blocks]

    @staticmethod
    def _ix(rows, cols):
        """Index of the (rows, cols) block of the last two axes (slices or index arrays)."""
        if isinstance(rows, slice) and isinstance(cols, slice):
            return rows, cols
        rows = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
        cols = np.arange(cols.start, cols.stop) if isinstance(cols, slice) else cols
        return rows[:, None], cols[None, :]

    def _solve(self, Y):
        """One channel: ``(K, N, N)`` off-diagonal Hermitian ``Y`` → anti-Hermitian ``V``."""
        V = np.zeros_like(Y)
        for a, ia in enumerate(self.blocks):
            ea, Ua = self.eig[a]
            for b in range(a + 1, len(self.blocks)):
                ib = self.blocks[b]
                eb, Ub = self.eig[b]
                C = -Y[(slice(None), *self._ix(ia, ib))]
                inner = (np.conj(np.swapaxes(Ua, -1, -2)) @ C @ Ub) / (ea[:, :, None] - eb[:, None, :])
                X = Ua @ inner @ np.conj(np.swapaxes(Ub, -1, -2))
                V[(slice(None), *self._ix(ia, ib))] = X
                V[(slice(None), *self._ix(ib, ia))] = -np.conj(np.swapaxes(X, -1, -2))
        return V

    def __call__(self, Y):
        """The off-diagonal anti-Hermitian ``V`` (all channels) with ``[V, H0] = Y`` (Eq. 19)."""
        if Y is None:
            return None
        V = np.empty_like(Y)
        V[0] = self._solve(Y[0])
        for d in range(1, Y.shape[0]):
            dH0 = self.H0[d]
            V[d] = self._solve(Y[d] - (V[0] @ dH0 - dH0 @ V[0]))
        return V


def numeric_values(model: Model, values, extra=()):
    """``{Symbol: float}`` for every parameter of ``model`` (and of ``extra`` expressions).

    ``values`` maps symbols or their names to finite real numbers; the momenta
    are not parameters. ħ (``model.hbar``) is always needed (velocities).

    Raises
    ------
    ModelError
        A value missing, unknown, or not a finite real number — naming it and the fix.
    """
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise ModelError(f"values must be a mapping {{symbol or name: number}}, got {type(values).__name__}.")
    needed = set(model.H.free_symbols).union(*(sympy.sympify(e).free_symbols for e in extra)) | {model.hbar}
    needed -= set(model.momenta)
    by_name = {str(s): s for s in needed}
    out, unknown = {}, []
    for key, val in values.items():
        sym = by_name.get(str(key))
        if sym is None:
            unknown.append(str(key))
            continue
        if isinstance(val, bool) or not isinstance(val, (numbers.Real, np.floating, np.integer)):
            raise ModelError(f"the value of {sym} must be a real number, got {val!r}. Fix: pass a float.")
        if not math.isfinite(float(val)):
            raise ModelError(f"the value of {sym} must be finite, got {val!r}. Fix: pass a finite float.")
        out[sym] = float(val)
    if unknown:
        hint = ""
        if "E_g" in unknown and "epsilon_2" in by_name:
            hint = " (E_g = ε2 − ε1 is not a symbol of this model: give epsilon_1 and epsilon_2)"
        raise ModelError(
            f"unknown parameter(s) {', '.join(sorted(unknown))} for model {model.name!r}{hint}; its parameters "
            f"are {', '.join(sorted(by_name))}. Fix: remove them or use these names."
        )
    missing = sorted(str(s) for s in needed if s not in out)
    if missing:
        raise ModelError(
            f"missing value(s) for {', '.join(missing)} of model {model.name!r}. Fix: pass "
            f"values={{..., {missing[0]!r}: number}} for every parameter (momenta excluded)."
        )
    return out


@functools.lru_cache(maxsize=256)
def _compiled(matrix: sympy.ImmutableMatrix, arguments: tuple):
    """``lambdify`` of the entries, once per matrix and argument list (parameters are arguments)."""
    return sympy.lambdify(arguments, list(matrix), modules="numpy")


def numeric_matrix(matrix, subs, momenta):
    """A vectorised callable ``F(k_1, ..., k_d) -> k.shape + (N, N)`` (complex) of a SymPy matrix.

    ``subs`` maps every parameter symbol to a float (:func:`numeric_values`);
    ``momenta`` are the symbols of the arguments, whose arrays broadcast. The
    matrix is compiled once (with the parameters as arguments) and reused for
    every parameter point.
    """
    M = sympy.ImmutableMatrix(matrix)
    params = tuple(sorted(M.free_symbols - set(momenta), key=str))
    missing = [str(p) for p in params if p not in subs]
    if missing:
        raise ModelError(f"missing value(s) for {', '.join(missing)}. Fix: pass a number for every parameter.")
    f = _compiled(M, tuple(momenta) + params)
    values = [float(subs[p]) for p in params]
    n_rows, n_cols = M.shape

    def F(*k):
        shape = np.broadcast(*k).shape
        out = np.empty((math.prod(shape), n_rows * n_cols), dtype=complex)
        for j, v in enumerate(f(*k, *values)):
            v = np.asarray(v)
            out[:, j] = v if v.ndim == 0 else np.broadcast_to(v, shape).reshape(-1)
        return out.reshape((*shape, n_rows, n_cols))

    return F


@dataclass
class BlockTerms:
    """Transformed operators at a batch of k points, as terms by order.

    Attributes
    ----------
    terms : dict name → list of ndarray (K, N, N)
        ``"H"``: the terms ``H_eff,n`` of ``U†HU`` (block-diagonal, every block:
        ``(U†HU)_AA``, ``(U†HU)_BB``, ...), n = 0..order; every other name: the
        terms of ``U†OU`` in full (all blocks, off-diagonal ones included).
    derivatives : dict direction → list of ndarray (K, N, N)
        ``∂H_eff,n/∂k_i`` for the requested directions (empty otherwise).
    order : int
    """

    terms: dict
    derivatives: dict = field(default_factory=dict)
    order: int = 0

    def total(self, name="H", order=None):
        """``Σ_{n ≤ order}`` of the terms of ``name`` (default: all computed orders)."""
        order = self.order if order is None else order
        return sum(self.terms[name][1 : order + 1], self.terms[name][0].copy())

    def total_derivative(self, direction, order=None):
        """``∂(U†HU)/∂k_i`` summed to ``order``."""
        order = self.order if order is None else order
        dH = self.derivatives[direction]
        return sum(dH[1 : order + 1], dH[0].copy())


class NumericBlocks:
    """Every block of ``U†HU`` and ``U†OU`` to a given order, at batches of k points.

    The same recursion as :func:`~.effective.effective_numeric` (Appendix D,
    :mod:`.series`) at given parameter values, vectorised over k; each operator
    keeps its grading (``O = Σ_l O_l``, ``O_l`` of order l in the perturbation)
    and the blocks are those of ``model``, all eliminated (the first one is the
    essential block A, the others together form B).

    Parameters
    ----------
    model : Model
    values : mapping
        A number for every parameter (symbols or names; checked by :func:`numeric_values`).
    order : int
        Highest power of the perturbation kept (≥ 1).
    operators : mapping name → Operator, optional
        Graded operators to transform (e.g. :func:`~symbolic_sw.operators.velocity`).
    derivatives : sequence of str
        Directions (``"x"``, ``"y"``, ...) along which ``∂(U†HU)/∂k`` is carried
        (dual numbers), e.g. for the textbook velocity ``∂H_eff/ħ∂k``.
    chunk : int
        Largest number of k points per pass of the series (memory bound).
    """

    def __init__(self, model: Model, values, order: int, operators=None, derivatives=(), chunk=2048):
        if not isinstance(model, Model):
            raise ModelError(f"NumericBlocks takes a symbolic_sw Model, got {type(model).__name__}.")
        if getattr(model, "commutators", None):
            # float matrices commute; the star product of issue 16 has no numeric series here
            raise ModelError(
                "this model declares non-commuting symbols (commutators=...), which the numeric block series "
                "would multiply as if they commuted. Fix: use ssw.effective(model, order) (exact, Weyl star "
                "products) and evaluate its closed forms."
            )
        if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
            raise ModelError(f"order must be an integer ≥ 1, got {order!r}. Fix: pass e.g. order=2.")
        self.model, self.order, self.chunk = model, int(order), int(chunk)
        self.operators = dict(operators or {})
        for name, op in self.operators.items():
            if not isinstance(op, ops.Operator):
                raise ModelError(f"operator {name!r} must be a symbolic_sw Operator, got {type(op).__name__}.")
        self.directions = tuple(derivatives)
        ks = [ops._momentum(model, d) for d in self.directions]
        extra = [e for op in self.operators.values() for p in op.parts for e in p]
        self.values = numeric_values(model, values, extra)
        mom = tuple(model.momenta)

        def parts(matrices):
            """One lambdified function per part and channel: value, then ∂/∂k per direction."""
            return [
                [numeric_matrix(M, self.values, mom)] + [numeric_matrix(ops._diff(M, k), self.values, mom) for k in ks]
                for M in matrices
            ]

        self._H = parts([model.H0, model.H1])
        self._blocks = list(model.block_slices)
        self._ops = {name: parts(op.parts) for name, op in self.operators.items()}
        self.n_points = 0

    @staticmethod
    def _channels(funcs, k, n_channels):
        return np.stack([f(*k) for f in funcs[:n_channels]])

    def _series(self, k, n_channels):
        K = np.broadcast(*k).shape[0]
        alg = BatchedAlgebra(self.model.block_of, K, n_channels - 1)
        H0 = self._channels(self._H[0], k, n_channels)
        H1 = alg.matrix(self._channels(self._H[1], k, n_channels))
        series = CanonicalSeries(alg, H0, H1, BatchedSylvester(H0, self.model.block_of, self._blocks))
        series.extend(self.order)
        return alg, series

    def _flat(self, k):
        if len(k) != len(self.model.momenta):
            raise ModelError(
                f"give one array per momentum {', '.join(map(str, self.model.momenta))}; got {len(k)} arrays."
            )
        k = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in k))
        return [x.reshape(-1) for x in k], k[0].shape

    def __call__(self, *k, operators=True, derivatives=True) -> BlockTerms:
        """The terms of ``U†HU`` (and of the operators) at the points ``k`` (arrays of any shape).

        Returns
        -------
        BlockTerms
            Arrays of shape ``k.shape + (N, N)``; with ``operators=False`` only ``"H"``,
            with ``derivatives=False`` no derivatives (cheaper).
        """
        flat, shape = self._flat(k)
        directions = self.directions if derivatives else ()
        size, N, C = flat[0].size, self.model.dim, 1 + len(directions)
        names = ["H"] + (list(self._ops) if operators else [])
        out = {name: np.zeros((self.order + 1, C if name == "H" else 1, size, N, N), complex) for name in names}
        everything = range(N)
        for s in range(0, size, self.chunk):
            kk = [x[s : s + self.chunk] for x in flat]
            K = kk[0].size
            alg, series = self._series(kk, C)
            for n, t in enumerate(series.H_eff[: self.order + 1]):
                if t is not None:
                    out["H"][n, :, s : s + K] = t
            for name in names[1:]:
                op_parts = [alg.matrix(self._channels(fs, kk, C)) for fs in self._ops[name]]
                for n, t in enumerate(series.transform(op_parts, self.order, everything, everything)):
                    if t is not None:
                        out[name][n, :, s : s + K] = t[:1]
            self.n_points += K
        terms = {name: [t[0].reshape((*shape, N, N)) for t in arr] for name, arr in out.items()}
        deriv = {d: [t[1 + j].reshape((*shape, N, N)) for t in out["H"]] for j, d in enumerate(directions)}
        return BlockTerms(terms, deriv, self.order)

    def energies(self, *k):
        """Eigenvalues of every block of ``U†HU`` at the points ``k``: ``k.shape + (N,)``, block by block.

        Within a block the eigenvalues are ascending; the blocks follow the model's order.
        """
        H = self(*k, operators=False, derivatives=False).total("H")
        return np.concatenate(
            [np.linalg.eigvalsh(H[..., s, s]) for s in self.model.block_slices],
            axis=-1,
        )
