r"""Intrinsic spin-Hall conductivity (Kubo), from the full model or from consistently transformed operators.

The formula (e = 1, carriers of charge −e; spin current ``J^μ_i = ½{v_i, σ_μ}``
with ``σ_μ = 1 ⊗ σ_μ`` the Pauli matrices of Eqs. 7-8; velocity ``v = ∂H/ħ∂k``):

.. math::

    \sigma^{\mu}_{ij} = -\hbar \sum_{n\neq m} \int\frac{d^2k}{(2\pi)^2}\,
        (f_n - f_m)\,
        \frac{\operatorname{Im}\bigl[\langle n|J^{\mu}_i|m\rangle\langle m|v_j|n\rangle\bigr]}
             {(E_n - E_m)^2}

the spin current ``μ`` flowing along ``i`` in response to a field along ``j``.
For the Rashba model (Eq. C1) with both subbands occupied it gives
``σ^z_xy = −1/(4πħ)`` and ``σ^z_yx = +1/(4πħ)`` for every α (Sinova's universal
``e/8π`` for the spin ``ħσ/2``, with these signs).

Three methods, each split as ``total = intra + remote`` (identically, as floats):

``"exact"``
    The full microscopic model, diagonalised at every k. ``intra``: the pairs
    (n, m) of two essential-derived (A) bands, ``remote``: every other pair (A with
    a remote-derived band B, and B with B). At every k the A-derived bands are the
    ``dim A`` eigenvectors of largest weight in block A — the bands the exact
    block-diagonalising rotation maps onto block A (exact as long as the blocks'
    spectra stay separated, as in the paper's regime).
``"effective"``
    The same sum in the basis rotated by the order-``order`` ``U = exp(iQ)``
    (Appendix D): the eigenstates of ``H̃ = U†HU`` (block-diagonal) are those of
    ``H_eff = H̃_AA`` and of ``H̃_BB``. ``intra``: Kubo inside the effective
    model with the *consistent* operators ``H_eff``, ``(U†vU)_AA``, ``(U†JU)_AA``.
    ``remote``: the pairs (a, b) of an effective state ``a`` and a state ``b`` of
    ``H̃_BB``, and (b, b'). For empty B bands (the paper's regime) it is the
    expectation value of an effective operator over occupied effective states,

    .. math::

        \sigma^{\rm remote} = -2\hbar \sum_a \int\frac{d^2k}{(2\pi)^2} f_a\,
            \operatorname{Im}\,\langle a|\,\tilde J_{AB}\,(E_a - \tilde H_{BB})^{-2}\,
            \tilde v_{BA}\,|a\rangle ,

    ``J̃ = U†JU``, ``ṽ = U†vU``: the (a, b) and (b, a) terms of the Kubo sum are
    equal, ``Σ_b |b⟩⟨b|/(E_a − E_b)² = (E_a − H̃_BB)^{-2}``. Since ``J̃_AB`` and
    ``ṽ_BA`` start at first order, the product is expanded consistently: the terms
    ``J̃_AB,p ṽ_BA,q`` with ``p + q ≤ order`` are kept; ``H̃_BB`` and ``H_eff`` are
    summed to ``order``. With the exact rotation, ``intra`` and ``remote`` equal
    those of ``"exact"``.
``"standard"``
    The textbook effective model: ``H_eff`` of order ``order``, ``v = ∂H_eff/ħ∂k``
    (exact derivative of the order-``order`` series) and ``J = ½{v, σ_μ}`` (Eq. 2);
    ``remote = 0``.

The transformed operators of ``"effective"`` are the closed forms of the
order-``order`` blocks (:meth:`~symbolic_sw.transformation.effective.Effective.block_terms`),
compiled once per model, order and components in a process (``source="closed"``);
``source="series"`` evaluates the same recursion in floats at batches of k points
(:class:`~symbolic_sw.transformation.blocks.NumericBlocks`), for comparison.

Quadrature: polar coordinates. Radially, adaptive Gauss–Legendre panels whose
initial breakpoints are the Fermi momenta of every band along each direction
(at ``T > 0`` also the momenta where ``ξ − μ = ±3T, ±8T, ±20T``, up to ``40T``),
so that no panel straddles a step of ``f``; each panel is halved until its
halving difference is below its share of the tolerance. In the angle: the
periodic trapezoidal rule, doubled (8, 16, 32, ... directions) until two
successive rules agree. ``error`` adds the radial halving differences, the
angular difference and the round-off of the pair sum.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy

from .. import models as _models
from .. import operators as ops
from ..errors import ModelError
from ..model import Model
from ..symbols import k_x, k_y
from ..transformation.blocks import NumericBlocks, numeric_matrix, numeric_values
from ..transformation.effective import check_order, effective
from .numeric import fermi

__all__ = ["METHODS", "SpinHallResult", "register_model_resolver", "spin_hall_conductivity"]

#: the methods of :func:`spin_hall_conductivity`
METHODS = ("exact", "effective", "standard")
_SPINS = ("x", "y", "z")
#: how ``"effective"`` evaluates the transformed operators
_SOURCES = ("closed", "series")
_DIRECTIONS = ("x", "y")
#: shipped model factories that take no argument
_FACTORIES = tuple(name for name in _models.FACTORIES if name != "from_symmetry")
#: f < 1e-17 beyond (ξ − μ)/T = 40
_TAIL = 40.0
_T_LEVELS = (-20.0, -8.0, -3.0, 0.0, 3.0, 8.0, 20.0)
#: probe momenta for the radial cutoff: 2^(j/4), j = −120 .. 120
_PROBES = 2.0 ** (np.arange(-120, 121) / 4)
#: probes above threshold in a row that end the occupied region (a factor 4 in k)
_CLEAR = 8
_EPS = np.finfo(float).eps
#: k points per evaluation of the integrand (memory bound)
_CHUNK = 8192


@dataclass(frozen=True)
class SpinHallResult:
    """Spin-Hall conductivity ``σ^μ_ij`` and its split (``total = intra + remote`` exactly).

    Attributes
    ----------
    total, intra, remote : float
        ``total = intra + remote``; ``intra``: pairs of essential-derived (A) bands,
        ``remote``: the rest (A–B and B–B pairs); ``remote = 0`` for ``"standard"``.
    error, intra_error, remote_error : float
        Estimated absolute errors (radial halving + angular doubling + round-off).
    method : str
    order : int or None
        Order of the transformation (``None`` for ``"exact"``).
    spin, current, field : str
        μ, i, j of ``σ^μ_ij``.
    mu, T : float
        Chemical potential (from ``band_bottom``) and temperature.
    band_bottom : float
        ``E(k=0)`` of the model evaluated (full model or ``H_eff``).
    k_max : float
        Radial cutoff of the integral.
    n_phi : int
        Directions of the final angular rule.
    n_points : int
        k points at which the model (or the series) was evaluated.
    seconds : float
        Wall time of the evaluation.
    """

    total: float
    intra: float
    remote: float
    error: float
    intra_error: float
    remote_error: float
    method: str
    order: int | None
    spin: str
    current: str
    field: str
    mu: float
    T: float
    band_bottom: float
    k_max: float
    n_phi: int
    n_points: int
    seconds: float

    def __float__(self):
        """The total conductivity."""
        return float(self.total)


# ----------------------------------------------------------------------------- the Kubo pair sum


def _kubo(E, Psi, J_terms, v_terms, f, is_A, hbar, order=None):
    """``−ħ Σ_{n≠m} (f_n − f_m) Im[J_nm v_mn] / (E_n − E_m)²`` per k: (intra, remote) and size.

    ``Psi`` (K, N, N) eigenvectors (columns) of energies ``E`` (K, N); ``J_terms``,
    ``v_terms`` lists of (K, N, N) terms by order (one term: no expansion);
    ``is_A`` (K, N) the essential-derived states. With several terms, the pairs of
    an A and a B state keep ``Σ_{p+q ≤ order} J_p,nm v_q,mn`` only.
    """
    Pd = np.conj(np.swapaxes(Psi, -1, -2))
    Jb = [Pd @ J @ Psi for J in J_terms]
    vb = [Pd @ v @ Psi for v in v_terms]
    P = sum(Jb) * np.swapaxes(sum(vb), -1, -2)  # P_nm = J_nm v_mn
    pair_A = is_A[:, :, None] & is_A[:, None, :]
    if len(Jb) > 1:
        trunc = sum(
            Jb[p] * np.swapaxes(vb[q], -1, -2) for p in range(len(Jb)) for q in range(len(vb)) if p + q <= order
        )
        mixed = is_A[:, :, None] ^ is_A[:, None, :]
        P = np.where(mixed, trunc, P)
    D = E[:, :, None] - E[:, None, :]
    W = f[:, :, None] - f[:, None, :]
    scale = np.max(np.abs(E), axis=-1)[:, None, None] + np.finfo(float).tiny
    valid = (W != 0) & (np.abs(D) > 1e-13 * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        X = np.where(valid, -hbar * W * P.imag / np.where(valid, D, 1.0) ** 2, 0.0)
        # the size of each term, |J_nm v_mn| ≤ ‖J‖ ‖v‖: the scale of its round-off, even where
        # the term vanishes by symmetry (e.g. σ^x_xy)
        norms = np.linalg.norm(sum(Jb), axis=(-1, -2)) * np.linalg.norm(sum(vb), axis=(-1, -2))
        size = np.where(valid, hbar * np.abs(W) / np.where(valid, D, 1.0) ** 2, 0.0) * norms[:, None, None]
    intra = np.sum(np.where(pair_A, X, 0.0), axis=(-1, -2))
    remote = np.sum(np.where(pair_A, 0.0, X), axis=(-1, -2))
    return np.stack([intra, remote], axis=-1), np.sum(size, axis=(-1, -2))


def _block_eigh(H, slices):
    """Eigenvalues and block-diagonal eigenvectors of a block-diagonal stack, block by block."""
    E = np.empty(H.shape[:-1])
    Psi = np.zeros_like(H)
    for s in slices:
        e, u = np.linalg.eigh(H[..., s, s])
        E[..., s], Psi[..., s, s] = e, u
    return E, Psi


class _Exact:
    """The full model: eigenvectors per k; A-derived = largest weight in block A."""

    def __init__(self, model, given, mu_comp, i, j):
        mom = (k_x, k_y)
        self.hbar = given[model.hbar]
        self.H = numeric_matrix(model.H, given, mom)
        self.J = numeric_matrix(ops.spin_current(model, mu_comp, i).matrix, given, mom)
        self.v = numeric_matrix(ops.velocity(model, j).matrix, given, mom)
        self.A = model.block_slices[0]
        self.n_A = self.A.stop - self.A.start
        self.n_points = 0

    def energies(self, kx, ky):
        self.n_points += np.size(kx)
        return np.linalg.eigvalsh(self.H(kx, ky))

    def band_bottom(self):
        return float(self.energies(np.zeros(1), np.zeros(1))[0, 0])

    def integrand(self, kx, ky, level, T):
        self.n_points += np.size(kx)
        E, Psi = np.linalg.eigh(self.H(kx, ky))
        weight = np.sum(np.abs(Psi[:, self.A, :]) ** 2, axis=1)  # (K, N)
        top = np.argsort(-weight, axis=-1, kind="stable")[:, : self.n_A]
        is_A = np.zeros(E.shape, dtype=bool)
        np.put_along_axis(is_A, top, True, axis=-1)
        return _kubo(E, Psi, [self.J(kx, ky)], [self.v(kx, ky)], fermi(E, level, T), is_A, self.hbar)


class _Effective:
    """The rotated basis of the order-``order`` series: H_eff, H̃_BB and every block of J̃, ṽ."""

    def __init__(self, model, given, mu_comp, i, j, order):
        self.hbar, self.order = given[model.hbar], order
        self.blocks = NumericBlocks(
            model,
            given,
            order,
            operators={"J": ops.spin_current(model, mu_comp, i), "v": ops.velocity(model, j)},
        )
        self.slices = model.block_slices
        self.is_A = np.zeros(model.dim, dtype=bool)
        self.is_A[model.block_slices[0]] = True

    @property
    def n_points(self):
        return self.blocks.n_points

    def energies(self, kx, ky):
        return self.blocks.energies(kx, ky)

    def band_bottom(self):
        H = self.blocks(np.zeros(1), np.zeros(1), operators=False, derivatives=False).total("H")
        return float(np.linalg.eigvalsh(H[:, self.slices[0], self.slices[0]])[0, 0])

    def integrand(self, kx, ky, level, T):
        t = self.blocks(kx, ky)
        E, Psi = _block_eigh(t.total("H"), self.slices)
        is_A = np.broadcast_to(self.is_A, E.shape)
        return _kubo(E, Psi, t.terms["J"], t.terms["v"], fermi(E, level, T), is_A, self.hbar, self.order)


#: compiled closed forms per (model, order, spin, current, field): a sweep derives and compiles once
_CLOSED = {}
_CLOSED_SIZE = 16


def _model_key(model):
    """What the closed forms of a model depend on (models are rebuilt per call, so not their identity)."""
    return (
        getattr(model, "name", None),
        sympy.ImmutableMatrix(model.H0),
        sympy.ImmutableMatrix(model.H1),
        tuple(model.block_of),
        model.hbar,
        tuple(model.momenta),
        tuple(sorted((str(g), str(d)) for g, d in model.gaps.items())),
    )


class _ClosedForms:
    """The order-``order`` closed forms the effective method needs, compiled to one vectorised NumPy function.

    From :meth:`~symbolic_sw.transformation.effective.Effective.block_terms`
    (exact algebra, Eqs. 18, 20, D6): ``H̃ = H_eff ⊕ H̃_BB`` summed to ``order``;
    for ``J̃`` and ``ṽ`` the diagonal blocks summed to ``order`` (term 0) and the
    off-diagonal block ``AB`` order by order (term ``p``, with ``BA = AB†``: every
    order of ``U†OU`` is Hermitian), which is all :func:`_kubo` reads of the
    per-order terms. The expressions come from the engine, never from user text,
    so ``lambdify`` (common subexpressions shared) is safe; the parameters are
    arguments, so one compilation serves every parameter point.
    """

    def __init__(self, model, order, mu_comp, i, j):
        if getattr(model, "commutators", None):
            # NumPy would multiply the non-commuting symbols of the closed forms as numbers
            raise ModelError(
                f"model {model.name!r} declares non-commuting symbols (commutators=...): its closed forms are Weyl "
                f"symbols, not matrices to evaluate pointwise. Fix: set them to numbers in H first."
            )
        start = time.perf_counter()
        try:
            eff = effective(model, order)
        except ModelError as exc:
            raise ModelError(
                f"{exc} Alternatively: source='series' evaluates the recursion in floats, without closed forms."
            ) from None
        names = {"J": f"J_{mu_comp}_{i}", "v": f"v_{j}"}
        A, N = model.block_slices[0], model.dim
        self.A = np.arange(A.start, A.stop)
        self.B = np.array([n for n in range(N) if not A.start <= n < A.stop], dtype=int)
        self.dim, self.order = N, order
        # (target, rows, cols, expression matrix): target "H" or (name, term)
        pieces = [("H", self.A, self.A, sum(eff.block_terms("H", "A", "A"), sympy.zeros(len(self.A))))]
        if self.B.size:
            pieces.append(("H", self.B, self.B, sum(eff.block_terms("H", "B", "B"), sympy.zeros(len(self.B)))))
        for key, name in names.items():
            pieces.append(((key, 0), self.A, self.A, sum(eff.block_terms(name, "A", "A"), sympy.zeros(len(self.A)))))
            if self.B.size:
                pieces.append(
                    ((key, 0), self.B, self.B, sum(eff.block_terms(name, "B", "B"), sympy.zeros(len(self.B))))
                )
                for p, M in enumerate(eff.block_terms(name, "A", "B")):
                    pieces.append(((key, p), self.A, self.B, M))
        self.derive_seconds = time.perf_counter() - start
        start = time.perf_counter()
        self.entries, exprs = [], []
        for target, rows, cols, M in pieces:
            for r, row in enumerate(rows):
                for c, col in enumerate(cols):
                    e = M[r, c]
                    if e != 0:
                        self.entries.append((target, row, col, len(exprs), target != "H" and rows is not cols))
                        exprs.append(e)
        momenta = tuple(model.momenta)
        self.params = tuple(sorted(set().union(*(e.free_symbols for e in exprs)) - set(momenta), key=str))
        self._f = sympy.lambdify(momenta + self.params, exprs, modules="numpy", cse=True)
        # H alone for the energies (cut-off probes, Fermi momenta): most evaluations need no operator
        self._H_entries = [e for e in self.entries if e[0] == "H"]
        self._f_H = sympy.lambdify(
            momenta + self.params, [exprs[e[3]] for e in self._H_entries], modules="numpy", cse=True
        )
        self.compile_seconds = time.perf_counter() - start

    @classmethod
    def get(cls, model, order, mu_comp, i, j):
        """The cached instance (derived and compiled on first use in the process)."""
        key = (_model_key(model), order, mu_comp, i, j)
        if key not in _CLOSED:
            if len(_CLOSED) >= _CLOSED_SIZE:
                _CLOSED.pop(next(iter(_CLOSED)))
            _CLOSED[key] = cls(model, order, mu_comp, i, j)
        return _CLOSED[key]

    def __call__(self, kx, ky, given, operators=True):
        """``H̃`` (K, N, N) and the terms of ``J̃``, ``ṽ`` (lists of (K, N, N); empty without ``operators``)."""
        K, N = np.size(kx), self.dim
        params = [given[p] for p in self.params]
        H = np.zeros((K, N, N), complex)
        if not operators:
            with np.errstate(all="ignore"):
                values = self._f_H(kx, ky, *params)
            for (_, row, col, _, _), value in zip(self._H_entries, values):
                H[:, row, col] = value
            return H, {}
        with np.errstate(all="ignore"):
            values = self._f(kx, ky, *params)
        terms = {key: [np.zeros((K, N, N), complex) for _ in range(self.order + 1)] for key in ("J", "v")}
        for target, row, col, n, mirror in self.entries:
            if target == "H":
                H[:, row, col] = values[n]
                continue
            out = terms[target[0]][target[1]]
            out[:, row, col] = values[n]
            if mirror:  # the BA block: Õ_p is Hermitian order by order
                out[:, col, row] = np.conj(values[n])
        return H, terms


class _EffectiveClosed:
    """The effective method from the closed forms of the order-``order`` operators (every block needed)."""

    def __init__(self, model, given, mu_comp, i, j, order):
        self.hbar, self.order, self.given = given[model.hbar], order, given
        self.forms = _ClosedForms.get(model, order, mu_comp, i, j)
        self.slices = model.block_slices
        self.is_A = np.zeros(model.dim, dtype=bool)
        self.is_A[model.block_slices[0]] = True
        self.n_points = 0

    def energies(self, kx, ky):
        shape = np.broadcast(kx, ky).shape
        kx, ky = (np.broadcast_to(np.asarray(x, float), shape).reshape(-1) for x in (kx, ky))
        self.n_points += kx.size
        H, _ = self.forms(kx, ky, self.given, operators=False)
        E = np.concatenate([np.linalg.eigvalsh(H[:, s, s]) for s in self.slices], axis=-1)
        return E.reshape((*shape, -1))

    def band_bottom(self):
        self.n_points += 1
        H, _ = self.forms(np.zeros(1), np.zeros(1), self.given, operators=False)
        return float(np.linalg.eigvalsh(H[:, self.slices[0], self.slices[0]])[0, 0])

    def integrand(self, kx, ky, level, T):
        self.n_points += np.size(kx)
        H, terms = self.forms(kx, ky, self.given)
        E, Psi = _block_eigh(H, self.slices)
        is_A = np.broadcast_to(self.is_A, E.shape)
        return _kubo(E, Psi, terms["J"], terms["v"], fermi(E, level, T), is_A, self.hbar, self.order)


class _Standard:
    """The textbook effective model: H_eff, v = ∂H_eff/ħ∂k, J = ½{v, σ_μ} (Eq. 2)."""

    def __init__(self, model, given, mu_comp, i, j, order):
        self.hbar, self.i, self.j = given[model.hbar], i, j
        self.blocks = NumericBlocks(model, given, order, derivatives=tuple(dict.fromkeys((i, j))))
        self.A = model.block_slices[0]
        S = np.array(ops.spin(model, mu_comp).matrix, dtype=complex)
        self.S = S[self.A, self.A]

    @property
    def n_points(self):
        return self.blocks.n_points

    def energies(self, kx, ky):
        H = self.blocks(kx, ky, operators=False, derivatives=False).total("H")
        return np.linalg.eigvalsh(H[..., self.A, self.A])

    def band_bottom(self):
        return float(self.energies(np.zeros(1), np.zeros(1))[0, 0])

    def integrand(self, kx, ky, level, T):
        t = self.blocks(kx, ky, operators=False)
        A = self.A
        H = t.total("H")[..., A, A]
        v_i = t.total_derivative(self.i)[..., A, A] / self.hbar
        v_j = t.total_derivative(self.j)[..., A, A] / self.hbar
        J = 0.5 * (v_i @ self.S + self.S @ v_i)
        E, Psi = np.linalg.eigh(H)
        is_A = np.ones(E.shape, dtype=bool)
        return _kubo(E, Psi, [J], [v_j], fermi(E, level, T), is_A, self.hbar)


# ----------------------------------------------------------------------------- quadrature


def _k_max(backend, threshold, cos, sin):
    """First probe momentum beyond the occupied region: every band above ``threshold`` for a factor 4 in k.

    The probes ``2^(j/4)`` are visited upwards in batches and the scan stops there,
    so that a truncated series is never evaluated far outside its range (where
    its numbers lose all meaning). ``None`` if nothing is occupied on the probes
    reached (a band above ``threshold`` everywhere, or the model not finite beyond).
    """
    below, entered = [], None
    batch = 4 * _CLEAR
    for start in range(0, len(_PROBES), batch):
        k = _PROBES[start : start + batch]
        try:
            with np.errstate(all="ignore"):
                E = backend.energies(k[:, None] * cos[None, :], k[:, None] * sin[None, :])
        except np.linalg.LinAlgError:
            E = np.full((k.size, cos.size, 1), np.nan)
        finite = np.all(np.isfinite(E), axis=(1, 2))
        if not finite.all():
            k, E = k[: np.argmin(finite)], E[: np.argmin(finite)]
        below.extend(np.any(E < threshold, axis=(1, 2)).tolist())
        if entered is None and any(below):
            entered = below.index(True)
        if entered is not None:
            for j in range(entered + 1, len(below) - _CLEAR + 1):
                if not any(below[j : j + _CLEAR]):
                    return float(_PROBES[j])
        if not finite.all():
            break
    if entered is None:
        return None
    raise ModelError(
        f"a band stays below the occupation threshold up to |k| = {_PROBES[len(below) - 1]:.3g}: the occupied "
        f"region is unbounded (or the band bends down). Fix: pass k_max=<cutoff> explicitly."
    )


def _illinois(g, a, b, ga, gb, max_iter=100):
    """Roots of ``g`` bracketed by ``[a, b]`` (``g(a) < 0 ≤ g(b)`` or the reverse), vectorised.

    The Illinois variant of regula falsi: the bracket is kept, and the end point
    that stays put has its value halved, so convergence is superlinear; it stops
    when the estimates move by less than a few ulp (or a bracket collapses).
    """
    c = 0.5 * (a + b)
    side = np.zeros(a.shape, dtype=int)
    for _ in range(max_iter):
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(gb != ga, b - gb * (b - a) / (gb - ga), 0.5 * (a + b))
        new = np.where((new >= np.minimum(a, b)) & (new <= np.maximum(a, b)), new, 0.5 * (a + b))
        done = np.abs(new - c) <= 4 * _EPS * np.maximum(np.abs(new), 1e-300)
        c = new
        if np.all(done):
            break
        gc = g(c)
        left = np.sign(gc) == np.sign(ga)  # root in [c, b]: c replaces a
        a, ga = np.where(left, c, a), np.where(left, gc, ga)
        b, gb = np.where(left, b, c), np.where(left, gb, gc)
        # Illinois: halve the value at the end that stayed twice in a row
        gb = np.where(left & (side == 1), 0.5 * gb, gb)
        ga = np.where(~left & (side == -1), 0.5 * ga, ga)
        side = np.where(left, 1, -1)
        exact = gc == 0
        a, b = np.where(exact, c, a), np.where(exact, c, b)
    return c


def _breakpoints(backend, levels, k_max, cos, sin, n_scan=256):
    """Per direction, the sorted momenta in (0, k_max) where some band crosses one of ``levels``.

    Sign changes of ``ξ_n − L`` are bracketed on a scan grid (uniform, plus
    geometric towards k = 0) and all of them, every level at once, are refined
    to machine precision by :func:`_illinois`.
    """
    grid = np.unique(np.concatenate([np.linspace(0.0, k_max, n_scan), k_max * 2.0 ** -np.arange(1, 41)]))
    E = backend.energies(grid[:, None] * cos[None, :], grid[:, None] * sin[None, :])  # (G, P, N)
    brackets = []
    for L in levels:
        j, p, n = np.nonzero((E[:-1] < L) != (E[1:] < L))
        brackets.append((grid[j], grid[j + 1], E[j, p, n] - L, E[j + 1, p, n] - L, p, n, np.full(j.size, L)))
    a, b, fa, fb, p, n, L = (np.concatenate(column) for column in zip(*brackets))
    found = [[] for _ in cos]
    if a.size:
        rows = np.arange(a.size)
        roots = _illinois(lambda x: backend.energies(x * cos[p], x * sin[p])[rows, n] - L, a, b, fa, fb)
        for pi, r in zip(p, roots):
            found[pi].append(r)
    return [np.unique(np.array(f)) for f in found]


class _Radial:
    """Adaptive Gauss–Legendre panels along given directions: ``R_p = ∫ k F(k, φ_p) dk``."""

    def __init__(self, backend, level, T, k_max, n_gauss, max_rounds, max_segments):
        self.backend, self.level, self.T, self.k_max = backend, level, T, k_max
        self.x, self.w = np.polynomial.legendre.leggauss(n_gauss)
        self.max_rounds, self.max_segments = max_rounds, max_segments
        self.levels = [level] if T == 0.0 else [level + c * T for c in _T_LEVELS] + [level + _TAIL * T]

    def rule(self, cos, sin, a, b):
        """Gauss–Legendre on [a, b] along (cos, sin): (S, 2) integrals and (S,) magnitudes."""
        k = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * self.x[None, :]
        kx, ky = (k * cos[:, None]).ravel(), (k * sin[:, None]).ravel()
        g, mag = np.empty((kx.size, 2)), np.empty(kx.size)
        for s in range(0, kx.size, _CHUNK):  # bounded memory: the operators are (points, N, N) stacks by order
            g[s : s + _CHUNK], mag[s : s + _CHUNK] = self.backend.integrand(
                kx[s : s + _CHUNK], ky[s : s + _CHUNK], self.level, self.T
            )
        g, mag = g.reshape((*k.shape, 2)), mag.reshape(k.shape)
        h = 0.5 * (b - a)
        return np.einsum("sgo,g->so", g * k[..., None], self.w) * h[:, None], (mag * k) @ self.w * h

    def __call__(self, phi, tol=None, rtol=1e-10):
        """``R`` (P, 2), its error (P, 2) and magnitude (P,) for directions ``phi``; the tolerance used.

        ``tol`` is the absolute tolerance on each ``R_p``, shared by its panels in
        proportion to their length; ``None``: ``rtol`` times the mean of ``|R_p|``
        (summed over intra and remote) from a first pass.
        """
        cos, sin = np.cos(phi), np.sin(phi)
        breaks = _breakpoints(self.backend, self.levels, self.k_max, cos, sin)
        P, A, B = [], [], []
        for p in range(phi.size):
            inner = breaks[p][(breaks[p] > 0) & (breaks[p] < self.k_max)]
            pts = np.unique(np.concatenate([[0.0], inner, [self.k_max]]))
            P.extend([p] * (pts.size - 1))
            A.extend(pts[:-1])
            B.extend(pts[1:])
        P, A, B = np.array(P), np.array(A), np.array(B)
        whole, size = self.rule(cos[P], sin[P], A, B)
        if tol is None:
            per_direction = np.zeros((phi.size, 2))
            np.add.at(per_direction, P, whole)
            floor = 64 * _EPS * size.sum() / phi.size
            tol = max(rtol * np.abs(per_direction).sum(axis=1).mean(), floor)
        n = phi.size
        R, err, mag = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros(n)
        for _ in range(self.max_rounds):
            if P.size == 0:
                break
            mid = 0.5 * (A + B)
            (left, m_l), (right, m_r) = self.rule(cos[P], sin[P], A, mid), self.rule(cos[P], sin[P], mid, B)
            fine = left + right
            diff = np.abs(fine - whole)
            allowed = np.maximum(tol * (B - A) / self.k_max, 256 * _EPS * (m_l + m_r))
            done = (diff.sum(axis=1) <= allowed) | (B - A <= 1e-13 * self.k_max)
            if 2 * (~done).sum() > self.max_segments:
                warnings.warn(
                    f"spin-Hall radial quadrature stopped at {self.max_segments} panels; the error "
                    f"estimate includes the unconverged part.",
                    RuntimeWarning,
                    stacklevel=4,
                )
                done[:] = True
            np.add.at(R, P[done], fine[done])
            np.add.at(err, P[done], diff[done])
            np.add.at(mag, P[done], (m_l + m_r)[done])
            keep = ~done
            P = np.concatenate([P[keep], P[keep]])
            A, B = np.concatenate([A[keep], mid[keep]]), np.concatenate([mid[keep], B[keep]])
            whole = np.concatenate([left[keep], right[keep]])
        if P.size:
            warnings.warn(
                f"spin-Hall radial quadrature not converged after {self.max_rounds} halvings on {P.size} "
                f"panel(s); the error estimate includes them.",
                RuntimeWarning,
                stacklevel=4,
            )
            np.add.at(R, P, whole)
            np.add.at(err, P, np.abs(whole))
        return R, err, mag, tol


def _integrate(backend, level, T, k_max, *, rtol, n_gauss, n_phi, max_phi, max_rounds, max_segments):
    """``∫ d²k/(2π)² (intra, remote)``: values (2,), errors (2,), k_max, number of directions."""
    phi0 = 2 * np.pi * np.arange(n_phi) / n_phi
    if k_max is None:
        k_max = _k_max(backend, level + _TAIL * T, np.cos(phi0), np.sin(phi0))
        if k_max is None:  # nothing occupied: every f_n − f_m vanishes
            return np.zeros(2), np.zeros(2), 0.0, n_phi
    radial = _Radial(backend, level, T, k_max, n_gauss, max_rounds, max_segments)
    R, err, mag, tol = radial(phi0, rtol=rtol)
    phi, n = phi0, n_phi
    value = R.sum(axis=0) / (2 * np.pi * n)
    while True:
        new = phi[:n] + np.pi / n  # the odd nodes of the doubled rule
        R2, err2, mag2, _ = radial(new, tol)
        R, err, mag = np.concatenate([R, R2]), np.concatenate([err, err2]), np.concatenate([mag, mag2])
        phi, n = np.concatenate([phi, new]), 2 * n
        finer = R.sum(axis=0) / (2 * np.pi * n)
        ang, value = np.abs(finer - value), finer
        # on the scale of the directions' own integrals (a sum that cancels by symmetry,
        # e.g. σ^x_xy, must not ask for an unreachable relative accuracy)
        allowed = (rtol * np.abs(R).sum(axis=1).mean() + 256 * _EPS * mag.mean()) / (2 * np.pi)
        if ang.sum() <= allowed:
            break
        if n >= max_phi:
            warnings.warn(
                f"spin-Hall angular quadrature not converged with {n} directions (difference {ang.sum():.3g}); "
                f"the error estimate includes it.",
                RuntimeWarning,
                stacklevel=3,
            )
            break
    error = err.sum(axis=0) / (2 * np.pi * n) + ang + 64 * _EPS * mag.sum() / (2 * np.pi * n)
    return value, error, k_max, n


# ----------------------------------------------------------------------------- front end


def _real(x, name, fix):
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise ModelError(f"{name} must be a real number, got {x!r} ({type(x).__name__}). Fix: {fix}.")
    x = float(x)
    if not math.isfinite(x):
        raise ModelError(f"{name} must be finite, got {x!r}. Fix: {fix}.")
    return x


#: resolvers of derivations (a name, a spec path, a Derivation) to ``(Model, default values)`` or ``None``:
#: the derivation layer lies above this one, so the pipeline registers its resolver here on import
#: (:mod:`symbolic_sw.pipeline.sweep`; importing any part of symbolic_sw imports it)
_RESOLVERS = []


def register_model_resolver(resolver):
    """Let :func:`spin_hall_conductivity` accept derivations: ``resolver(source) -> (Model, values) | None``."""
    if resolver not in _RESOLVERS:
        _RESOLVERS.append(resolver)


def _resolve_model(model):
    """``(Model, default values)``: a Model as is; a derivation (name, spec path, Derivation) with its VALUES."""
    if isinstance(model, Model):
        return model, {}
    for resolver in _RESOLVERS:
        found = resolver(model)
        if found is not None:
            return found
    if isinstance(model, str):
        if model not in _FACTORIES:
            raise ModelError(
                f"unknown model name {model!r}: neither a derivation (symbolic-sw list) nor a shipped model factory "
                f"({', '.join(_FACTORIES)}). Fix: pass one of them, a spec path (.py) or a symbolic_sw Model."
            )
        return getattr(_models, model)(), {}
    raise ModelError(
        f"model must be a symbolic_sw Model, a derivation (name, spec path or Derivation) or the name of a shipped "
        f'model ({", ".join(_FACTORIES)}), got {type(model).__name__}. Fix: pass e.g. "samokhin_c4v".'
    )


def _count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ModelError(f"{name} must be an integer ≥ {minimum}, got {value!r}. Fix: pass {name}={max(minimum, 8)}.")
    return int(value)


def _choice(value, allowed, what, fix):
    if not isinstance(value, str) or value not in allowed:
        raise ModelError(f"unknown {what} {value!r}; use one of {', '.join(map(repr, allowed))}. Fix: {fix}.")
    return value


def spin_hall_conductivity(
    model,
    mu,
    T=0.0,
    spin="z",
    current="x",
    field="y",
    method="effective",
    order=4,
    values=None,
    *,
    rtol=1e-10,
    k_max=None,
    n_gauss=12,
    n_phi=8,
    max_phi=256,
    max_rounds=40,
    max_segments=20000,
    source="closed",
):
    r"""Intrinsic spin-Hall conductivity ``σ^μ_ij`` (Kubo), split into intra and remote-band parts.

    .. math::

        \sigma^{\mu}_{ij} = -\hbar \sum_{n\neq m} \int\frac{d^2k}{(2\pi)^2}\,(f_n - f_m)\,
            \frac{\operatorname{Im}[\langle n|J^{\mu}_i|m\rangle\langle m|v_j|n\rangle]}{(E_n - E_m)^2},
        \qquad J^{\mu}_i = \tfrac12\{v_i, \sigma_\mu\},\quad v = \frac{\partial H}{\hbar\,\partial k},

    with e = 1 (carriers of charge −e), ``σ_μ = 1 ⊗ σ_μ`` the Pauli matrices of
    Eqs. (7)-(8) and ``f`` the Fermi function. Rashba model (Eq. C1), both
    subbands occupied: ``σ^z_xy = −1/(4πħ)``, ``σ^z_yx = +1/(4πħ)`` for every α.
    The methods and the remote-band term are described in the module docstring
    (:mod:`symbolic_sw.observables.spin_hall`).

    Parameters
    ----------
    model : Model, str, path or Derivation
        A 2-D spinful model (momenta ``k_x, k_y``; block 0 is the essential block A,
        the others are eliminated); or a derivation: a shipped one's name
        (``"samokhin_c4v"``, ``"samokhin_c4v_order4"``, ...), a spec file (``.py``) or a
        :class:`~symbolic_sw.derivation.Derivation`, whose model is used and whose
        ``VALUES`` fill in the parameters ``values`` leaves out; or the name of a
        model factory (``"rashba_toy"``, ``"isolated_gamma5"``).
    mu : float
        Chemical potential counted from the band bottom ``E(k=0)``, the lowest
        eigenvalue at k = 0 of the model evaluated: the full model for ``"exact"``,
        ``H_eff`` for ``"effective"`` and ``"standard"`` (ERRATA 3).
    T : float
        Temperature (k_B = 1), ``≥ 0``.
    spin : {"x", "y", "z"}
        μ, the spin component of the current.
    current, field : {"x", "y"}
        i, the direction of the spin current, and j, that of the electric field.
    method : {"exact", "effective", "standard"}
    order : int
        Order of the transformation (``"effective"``, ``"standard"``); ignored by ``"exact"``.
    values : mapping
        A number for every parameter of the model, ħ included (symbols or names);
        for a derivation, those not given take the spec's ``VALUES``.
    rtol : float
        Relative tolerance of the adaptive quadrature.
    k_max : float, optional
        Radial cutoff; by default the first momentum beyond which every band
        stays above ``μ + 40T`` (probed up to a factor 4 further).
    n_gauss, n_phi, max_phi, max_rounds, max_segments : int
        Gauss nodes per radial panel; initial and largest number of directions;
        limits of the radial refinement.
    source : {"closed", "series"}
        How ``"effective"`` evaluates the transformed operators: ``"closed"`` (default)
        compiles the closed forms of the order-``order`` blocks it needs
        (``H_eff``, ``H̃_BB``, the blocks of ``J̃`` and ``ṽ`` with ``J̃_AB``, ``ṽ_AB``
        order by order), once per model, order and components in a process;
        ``"series"`` runs the recursion in floats at every k point. The same sum
        either way (to round-off); other methods ignore it.

    Returns
    -------
    SpinHallResult
        ``total``, ``intra``, ``remote`` (``total = intra + remote``), ``error``, ...

    Raises
    ------
    ModelError
        Unknown method, spin component or direction; non-finite μ or T; ``T < 0``;
        missing or unknown parameter values; a model that is not 2-D or not spinful.

    Examples
    --------
    >>> r = spin_hall_conductivity("rashba_toy", 0.3, values={"alpha_0": 0.1, "hbar": 1.0, "m": 1.0})
    >>> round(r.total * 4 * math.pi, 9), r.remote                  # −1/(4πħ), one block
    (-1.0, 0.0)
    >>> r = spin_hall_conductivity("samokhin_c4v", 0.2, method="effective", order=4, values={
    ...     "hbar": 1, "m": 1, "epsilon_1": 0, "epsilon_2": 1, "b": 0.1, "a_tilde": 0.15, "b_tilde": 0.05})
    >>> r.total == r.intra + r.remote, f"{r.intra:.6f} {r.remote:.3e}"
    (True, '-0.078290 -5.057e-04')
    """
    start = time.perf_counter()
    method = _choice(method, METHODS, "method", 'method="exact", "effective" or "standard"')
    spin = _choice(spin, _SPINS, "spin component", 'spin="z" (the μ of σ^μ_ij)')
    current = _choice(current, _DIRECTIONS, "current direction", 'current="x" (the i of σ^μ_ij)')
    field = _choice(field, _DIRECTIONS, "field direction", 'field="y" (the j of σ^μ_ij)')
    mu = _real(mu, "mu", "pass the chemical potential counted from E(k=0) as a float")
    T = _real(T, "T", "pass k_B·T in energy units, T = 0 for the ground state")
    if T < 0:
        raise ModelError(f"temperature T = {T} is negative. Fix: pass T ≥ 0 (k_B·T in energy units).")
    order = check_order(order)
    source = _choice(source, _SOURCES, "source", 'source="closed" (compiled closed forms) or "series" (floats)')
    if k_max is not None:
        k_max = _real(k_max, "k_max", "pass a positive cutoff or None")
        if k_max <= 0:
            raise ModelError(f"k_max must be positive, got {k_max}. Fix: pass a positive cutoff or None.")
    options = {
        "rtol": _real(rtol, "rtol", "pass e.g. rtol=1e-10"),
        "n_gauss": _count(n_gauss, "n_gauss", 2),
        "n_phi": _count(n_phi, "n_phi", 2),
        "max_phi": _count(max_phi, "max_phi", 4),
        "max_rounds": _count(max_rounds, "max_rounds", 1),
        "max_segments": _count(max_segments, "max_segments", 1),
    }
    if not 0 < options["rtol"] < 1:
        raise ModelError(f"rtol must lie in (0, 1), got {rtol!r}. Fix: pass e.g. rtol=1e-10.")
    model, defaults = _resolve_model(model)
    if defaults and (values is None or isinstance(values, Mapping)):
        # a derivation's VALUES fill in what ``values`` leaves out
        values = {**defaults, **{str(k): v for k, v in (values or {}).items()}}
    if tuple(model.momenta) != (k_x, k_y):
        raise ModelError(
            f"the spin-Hall conductivity is computed for 2-D models with momenta (k_x, k_y); model "
            f"{model.name!r} has {', '.join(map(str, model.momenta))}. Fix: set k_z to a number in H first."
        )
    if not model.spin:
        raise ModelError(f"model {model.name!r} is spinless: there is no spin current. Fix: Model(..., spin=True).")
    extra = list(ops.spin_current(model, spin, current).matrix) + list(ops.velocity(model, field).matrix)
    given = numeric_values(model, values, extra)
    if given[model.hbar] == 0:
        raise ModelError("ħ = 0: velocities are ∂H/ħ∂k. Fix: pass hbar=1 (or its value in your units).")
    if method == "exact":
        backend = _Exact(model, given, spin, current, field)
    elif method == "effective" and source == "closed":
        backend = _EffectiveClosed(model, given, spin, current, field, order)
    elif method == "effective":
        backend = _Effective(model, given, spin, current, field, order)
    else:
        backend = _Standard(model, given, spin, current, field, order)
    bottom = backend.band_bottom()
    value, error, k_max, n = _integrate(backend, bottom + mu, T, k_max, **options)
    intra, remote = float(value[0]), float(value[1])
    if method == "standard":
        remote = 0.0
    return SpinHallResult(
        total=intra + remote,
        intra=intra,
        remote=remote,
        error=float(error.sum()),
        intra_error=float(error[0]),
        remote_error=float(error[1]),
        method=method,
        order=None if method == "exact" else order,
        spin=spin,
        current=current,
        field=field,
        mu=mu,
        T=T,
        band_bottom=bottom,
        k_max=float(k_max),
        n_phi=n,
        n_points=int(backend.n_points),
        seconds=time.perf_counter() - start,
    )
