"""The model: a Hermitian k·p matrix, its block partition and its perturbation."""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from .pauli import SIGMA, kron
from .symbols import MOMENTA, hbar as _hbar

__all__ = ["Model", "ModelError"]


class ModelError(ValueError):
    """A model, operator or request that cannot be given a correct answer."""


def _is_zero(expr) -> bool:
    return sympy.expand(expr) == 0


def _as_matrix(H, what="H") -> sympy.Matrix:
    try:
        H = sympy.Matrix(H)
    except Exception as exc:  # noqa: BLE001 - re-raised with a clear message
        raise ModelError(f"{what} must be a square SymPy matrix; got {type(H).__name__}.") from exc
    if H.rows != H.cols:
        raise ModelError(f"{what} must be square; got shape {H.shape}.")
    return H


class Model:
    """A k·p Hamiltonian split into blocks, ready for the canonical transformation.

    Parameters
    ----------
    H : sympy.Matrix
        Hermitian Hamiltonian matrix. For spinful models (the default) the basis
        is orbital ⊗ spin-½, spin being the fastest index, as in Eq. (33).
    blocks : sequence of int
        Sizes of the diagonal blocks; the first block is the essential one
        (the subspace the effective operators act in).
    momenta : sequence of sympy.Symbol, optional
        Momentum components. Default: those of ``k_x, k_y, k_z`` present in ``H``
        (at least ``k_x, k_y``).
    perturbation : sympy.Matrix, optional
        The part of ``H`` counted as first order. Default: all inter-block
        couplings; everything inside the diagonal blocks is kept exactly.
        ``H - perturbation`` must be block-diagonal.
    spin : bool
        Whether the basis is orbital ⊗ spin-½ (needed for spin operators).
    time_reversal : bool
        Check Eq. (E3), ``D⁻¹ H(k) D = H*(-k)`` with ``D = 1 ⊗ (-iσ_y)``.
    hbar : sympy.Symbol
        The symbol used for ħ in velocities and currents.
    name : str, optional
        A label used in printing and generated files.
    """

    def __init__(self, H, blocks: Sequence[int], *, momenta=None, perturbation=None,
                 spin: bool = True, time_reversal: bool = False, hbar=_hbar,
                 name: str | None = None):
        H = _as_matrix(H)
        self.H = H
        self.dim = H.rows
        self.name = name or "model"
        self.hbar = hbar
        self.spin = bool(spin)

        nonreal = sorted((s for s in H.free_symbols if not s.is_real), key=str)
        if nonreal:
            names = ", ".join(map(str, nonreal))
            raise ModelError(
                f"symbols {names} are not declared real; a Hermiticity check needs real "
                f"parameters. Fix: create them with sympy.Symbol(name, real=True)."
            )
        bad = [(i, j) for i in range(self.dim) for j in range(i, self.dim)
               if not _is_zero(H[i, j] - sympy.conjugate(H[j, i]))]
        if bad:
            i, j = bad[0]
            raise ModelError(
                f"H is not Hermitian: H[{i},{j}] = {H[i, j]} but conj(H[{j},{i}]) = "
                f"{sympy.conjugate(H[j, i])} ({len(bad)} such pair(s)). Fix: make "
                f"H[j,i] the complex conjugate of H[i,j]."
            )

        try:
            blocks = tuple(int(n) for n in blocks)
        except TypeError as exc:
            raise ModelError(f"blocks must be a sequence of block sizes, got {blocks!r}.") from exc
        if not blocks or any(n < 1 for n in blocks):
            raise ModelError(f"block sizes must be positive integers, got {list(blocks)}.")
        if sum(blocks) != self.dim:
            raise ModelError(
                f"block sizes {list(blocks)} add up to {sum(blocks)}, but H is "
                f"{self.dim}x{self.dim}. Fix: give sizes that add up to {self.dim}."
            )
        if self.spin and any(n % 2 for n in blocks):
            raise ModelError(
                f"block sizes {list(blocks)} split a spin doublet; in a spinful model "
                f"(orbital ⊗ spin-½ basis) every block size must be even. Fix: use even "
                f"sizes, or pass spin=False for a model without spin."
            )
        self.blocks = blocks
        starts = [sum(blocks[:i]) for i in range(len(blocks))]
        self.block_slices = tuple(slice(s, s + n) for s, n in zip(starts, blocks))
        self.block_of = tuple(i for i, n in enumerate(blocks) for _ in range(n))

        if momenta is None:
            present = [k for k in MOMENTA if k in H.free_symbols]
            momenta = [k for k in MOMENTA[:2]] + [k for k in present if k not in MOMENTA[:2]]
        self.momenta = tuple(momenta)
        for k in self.momenta:
            if not isinstance(k, sympy.Symbol):
                raise ModelError(f"momenta must be SymPy symbols, got {k!r}.")

        if perturbation is None:
            H1 = sympy.zeros(self.dim)
            for i in range(self.dim):
                for j in range(self.dim):
                    if self.block_of[i] != self.block_of[j]:
                        H1[i, j] = H[i, j]
        else:
            H1 = _as_matrix(perturbation, "perturbation")
            if H1.shape != H.shape:
                raise ModelError(f"perturbation has shape {H1.shape}, H has {H.shape}.")
            if not all(_is_zero(H1[i, j] - sympy.conjugate(H1[j, i]))
                       for i in range(self.dim) for j in range(i, self.dim)):
                raise ModelError("the perturbation must be Hermitian.")
        H0 = (H - H1).applyfunc(sympy.expand)
        off = [(i, j) for i in range(self.dim) for j in range(self.dim)
               if self.block_of[i] != self.block_of[j] and H0[i, j] != 0]
        if off:
            i, j = off[0]
            raise ModelError(
                f"H - perturbation couples blocks {self.block_of[i]} and {self.block_of[j]} "
                f"(entry [{i},{j}] = {H0[i, j]}); the unperturbed part must be block-"
                f"diagonal. Fix: include all inter-block couplings in the perturbation."
            )
        self.H0 = H0
        self.H1 = H1.applyfunc(sympy.expand)

        if time_reversal:
            self.check_time_reversal()

    # -- derived data --------------------------------------------------------

    @property
    def parameters(self) -> tuple:
        """Free symbols of ``H`` other than the momenta, sorted by name."""
        return tuple(sorted(self.H.free_symbols - set(self.momenta), key=str))

    @property
    def n_orbitals(self) -> int:
        return self.dim // 2 if self.spin else self.dim

    def time_reversal_matrix(self) -> sympy.Matrix:
        """``D(K) = 1 ⊗ (-iσ_y)``, Eq. (E1)."""
        self._require_spin("time reversal")
        return kron(sympy.eye(self.n_orbitals), -sympy.I * SIGMA["y"])

    def check_time_reversal(self, O=None, sign=+1):
        """Check ``D⁻¹ O(k) D = ±O*(-k)`` (Eqs. E3, E4); raise ModelError otherwise."""
        O = self.H if O is None else O
        D = self.time_reversal_matrix()
        flip = {k: -k for k in self.momenta}
        lhs = D.inv() * O * D
        rhs = sign * O.conjugate().subs(flip, simultaneous=True)
        if not all(_is_zero(e) for e in (lhs - rhs)):
            raise ModelError(
                "H is not time-reversal symmetric: D⁻¹H(k)D ≠ H*(-k) with D = 1⊗(-iσ_y). "
                "Fix: check the signs of the k-linear and spin-dependent terms, or pass "
                "time_reversal=False."
            )

    def _require_spin(self, what):
        if not self.spin:
            raise ModelError(f"{what} needs a spinful model (orbital ⊗ spin-½ basis); "
                             f"this model was built with spin=False.")

    def with_perturbative(self, symbols) -> "Model":
        """A copy in which every term of ``H`` containing ``symbols`` counts as perturbation.

        For a double expansion, e.g. Eq. (A19) to first order in the intrinsic SOC
        γ1, γ2 (whose terms lie inside the diagonal blocks) on top of the
        inter-orbital coupling; combine with ``effective(..., truncate=...)``.
        """
        symbols = tuple(symbols)
        unknown = [str(s) for s in symbols if s not in self.parameters]
        if unknown:
            raise ModelError(f"{', '.join(unknown)} not among the model's parameters "
                             f"({', '.join(map(str, self.parameters))}).")
        H0 = self.H0.applyfunc(sympy.expand)
        moved = H0 - H0.subs({s: 0 for s in symbols})
        new = Model(self.H, self.blocks, momenta=self.momenta, perturbation=self.H1 + moved,
                    spin=self.spin, hbar=self.hbar, name=self.name)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in new.__dict__})
        return new

    def block(self, M, a=0, b=None):
        """The (a, b) block of a matrix in this model's partition."""
        b = a if b is None else b
        return sympy.Matrix(M)[self.block_slices[a], self.block_slices[b]]

    def __repr__(self):
        return (f"Model({self.name!r}, dim={self.dim}, blocks={list(self.blocks)}, "
                f"momenta={self.momenta}, parameters={self.parameters})")
