"""The model: a Hermitian k·p matrix, its block partition and its perturbation."""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from .errors import ModelError
from .pauli import SIGMA, kron
from .symbols import MOMENTA, hbar as _hbar

__all__ = ["Model", "ModelError"]


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
    perturbative : sequence of sympy.Symbol, optional
        Parameters whose terms *inside* the diagonal blocks also count as first
        order (e.g. ``[b]`` to expand in b as pymablock would, instead of keeping
        it exactly).  Combine with ``effective(..., truncate=...)`` for a double
        expansion.
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
                 perturbative=(), spin: bool = True, time_reversal: bool = False, hbar=_hbar,
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
        H1 = H1.applyfunc(sympy.expand)
        perturbative = tuple(perturbative or ())
        if perturbative:
            params = set(H.free_symbols) - set(self.momenta)
            unknown = [str(s) for s in perturbative if s not in params]
            if unknown:
                raise ModelError(
                    f"perturbative: {', '.join(unknown)} not among the model's parameters "
                    f"({', '.join(sorted(map(str, params)))}). Fix: pass symbols of H.")
            moved = H0 - H0.subs({s: 0 for s in perturbative}).applyfunc(sympy.expand)
            H0, H1 = (H0 - moved).applyfunc(sympy.expand), (H1 + moved).applyfunc(sympy.expand)
        self.perturbative = perturbative
        self.H0 = H0
        self.H1 = H1
        #: original basis index of each basis state (set by :meth:`grouped`)
        self.basis_order = None
        #: per block: ``((fine block, slice inside this block), ...)`` (set by :meth:`grouped`)
        self.fine_blocks = tuple(((a, slice(0, n)),) for a, n in enumerate(self.blocks))

        if time_reversal:
            self.check_time_reversal()

    @classmethod
    def from_string(cls, text: str, blocks: Sequence[int], *, basis=None, symbols=None, momenta=None,
                    perturbation=None, spin: bool = True, time_reversal: bool = False, hbar=None,
                    name: str | None = None, **options) -> "Model":
        """A model from a Hamiltonian written as a string, kwant-continuum style.

        The string is parsed by :mod:`symbolic_sw.parsing` against a whitelist
        and built by walking its syntax tree: nothing is evaluated or executed,
        and anything outside the grammar raises :class:`ModelError` (a
        ``ValueError``) naming it.

        Parameters
        ----------
        text : str
            E.g. ``"(epsilon_1 + hbar**2*(k_x**2 + k_y**2)/(2*m)) * kron(proj(1, 3), sigma_0) + ..."``.
            Names: ``k_x, k_y, k_z``, ``hbar`` and the other symbols of
            :mod:`symbolic_sw.symbols` (the same SymPy objects as the built-in
            models), ``I``, ``pi``, ``sigma_0/x/y/z`` (spin), ``tau_0/x/y/z``
            (orbital), ``lambda_1 … lambda_8`` (Gell-Mann). Functions: ``kron``,
            ``Matrix``, ``block``, ``diag``, ``eye``, ``zeros``, ``proj(i, n)``,
            ``ketbra(i, j, n)`` (1-based), ``dagger``, ``transpose``, ``conjugate``,
            ``sqrt, exp, cos, sin, cosh, sinh``. Scalars added to a matrix mean
            scalar × identity; decimals become exact rationals.
        blocks : sequence of int
            As for :class:`Model`.
        basis : sequence of str, optional
            One label per basis state (e.g. ``["Γ1↑", "Γ1↓", ...]``), stored as
            ``model.basis`` (``None`` if not given).
        symbols : iterable of str or sympy.Symbol, or mapping, optional
            Names beyond the built-in ones: ``"x"`` becomes a real symbol, a SymPy
            symbol is used as is, ``{name: expr_or_matrix}`` binds names.
            Unknown names in ``text`` are an error naming them.
        momenta : sequence of str or sympy.Symbol, optional
            Default: as for :class:`Model` (``k_x, k_y``, plus ``k_z`` if present).
        perturbation : str or sympy.Matrix, optional
            The first-order part, as a string in the same syntax or a matrix.
        spin, time_reversal, name, **options
            Passed to :class:`Model`.
        hbar : sympy.Symbol, optional
            Default: the symbol the string calls ``hbar``.

        Returns
        -------
        Model
            With ``model.basis`` and ``model.source`` (the string) set.
        """
        from .parsing import model_from_string

        return model_from_string(cls, text, blocks, basis=basis, symbols=symbols, momenta=momenta,
                                 perturbation=perturbation, spin=spin, time_reversal=time_reversal,
                                 hbar=hbar, name=name, **options)

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
        new = Model(self.H, self.blocks, momenta=self.momenta, perturbation=self.H1,
                    perturbative=tuple(self.perturbative) + tuple(symbols),
                    spin=self.spin, hbar=self.hbar, name=self.name)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in new.__dict__})
        return new

    def grouped(self, groups) -> "Model":
        """The same Hamiltonian with blocks merged into coarser blocks.

        Couplings *inside* a group are kept in the effective operators of that
        group (to the order they enter), couplings *between* groups are
        eliminated: selective elimination, e.g. fold a remote orbital into both
        Γ1 and Γ5 while keeping the Γ1–Γ5 coupling, ``grouped([[0, 1], [2]])``.
        The perturbation is unchanged.

        Parameters
        ----------
        groups : sequence of sequences of int
            A partition of the block indices; the first group is the essential
            one.  Blocks of a group need not be adjacent: the basis is permuted
            (recorded in ``basis_order``) and user matrices given to
            :meth:`Effective.transform` are permuted to match.
        """
        n = len(self.blocks)
        try:
            groups = [[int(a) for a in g] for g in groups]
        except TypeError as exc:
            raise ModelError(f"groups must be a list of lists of block indices, got {groups!r}.") from exc
        flat = sorted(a for g in groups for a in g)
        if flat != list(range(n)) or any(not g for g in groups):
            raise ModelError(
                f"groups {groups} must use every block index 0..{n - 1} exactly once, in "
                f"non-empty groups. Fix: e.g. {[list(range(n - 1)), [n - 1]]}.")
        base = self.basis_order or tuple(range(self.dim))
        perm, fine, sizes = [], [], []
        for g in groups:
            start, parts = 0, []
            for a in g:
                sl = self.block_slices[a]
                perm.extend(range(sl.start, sl.stop))
                parts.append((a, slice(start, start + self.blocks[a])))
                start += self.blocks[a]
            fine.append(tuple(parts))
            sizes.append(start)
        H = self.H.extract(perm, perm)
        new = Model(H, sizes, momenta=self.momenta, perturbation=self.H1.extract(perm, perm),
                    spin=self.spin, hbar=self.hbar, name=self.name)
        new.perturbative = self.perturbative
        new.basis_order = None if perm == list(range(self.dim)) else tuple(base[i] for i in perm)
        new.fine_blocks = tuple(fine)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in new.__dict__})
        return new

    def groups_eliminating(self, pairs):
        """The coarsest grouping in which exactly the block ``pairs`` are eliminated.

        Blocks joined by a coupling that is *not* eliminated form one group; this
        is a canonical transformation only if the kept couplings are transitive
        (keeping 0–1 and 1–2 but eliminating 0–2 is not), which is checked.
        """
        n = len(self.blocks)
        pairs = {tuple(sorted((int(a), int(b)))) for a, b in pairs}
        bad = [p for p in pairs if p[0] == p[1] or not (0 <= p[0] < n and 0 <= p[1] < n)]
        if bad:
            raise ModelError(f"cannot eliminate block pair(s) {sorted(bad)}: pairs must join two "
                             f"different blocks among 0..{n - 1}.")
        group = list(range(n))
        for a in range(n):
            for b in range(a + 1, n):
                if (a, b) not in pairs:
                    old, new = group[b], group[a]
                    group = [new if g == old else g for g in group]
        for a, b in sorted(pairs):
            if group[a] == group[b]:
                raise ModelError(
                    f"eliminating blocks {a}–{b} is inconsistent with keeping the couplings "
                    f"that link them through other blocks; kept couplings must group blocks "
                    f"transitively. Fix: also eliminate the pairs linking {a} and {b}, or keep {a}–{b}.")
        labels = sorted(set(group), key=group.index)
        return [[a for a in range(n) if group[a] == lab] for lab in labels]

    def block(self, M, a=0, b=None):
        """The (a, b) block of a matrix in this model's partition."""
        b = a if b is None else b
        return sympy.Matrix(M)[self.block_slices[a], self.block_slices[b]]

    def __repr__(self):
        return (f"Model({self.name!r}, dim={self.dim}, blocks={list(self.blocks)}, "
                f"momenta={self.momenta}, parameters={self.parameters})")
