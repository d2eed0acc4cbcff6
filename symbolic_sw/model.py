"""The model: a Hermitian k·p matrix, its block partition and its perturbation."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping, Sequence

import sympy

from .errors import ModelError
from .pauli import SIGMA, kron
from .symbols import MOMENTA, E_g, epsilon_1, epsilon_2
from .symbols import hbar as _hbar

__all__ = ["Model", "ModelError"]


def _is_zero(expr) -> bool:
    return sympy.expand(expr) == 0


def _as_matrix(H, what="H") -> sympy.Matrix:
    try:
        H = sympy.Matrix(H)
    except Exception as exc:
        raise ModelError(f"{what} must be a square SymPy matrix; got {type(H).__name__}.") from exc
    if H.rows != H.cols:
        raise ModelError(f"{what} must be square; got shape {H.shape}.")
    return H


def _non_hermitian_pairs(H) -> list:
    """The index pairs ``i <= j`` with ``H[i, j] != conj(H[j, i])``."""
    return [(i, j) for i in range(H.rows) for j in range(i, H.rows) if not _is_zero(H[i, j] - sympy.conjugate(H[j, i]))]


def _check_real(H):
    # the conjugate of a symbol of unknown reality stays unevaluated, so Hermiticity could not be decided
    nonreal = sorted((s for s in H.free_symbols if not s.is_real), key=str)
    if nonreal:
        names = ", ".join(map(str, nonreal))
        raise ModelError(
            f"symbols {names} are not declared real; a Hermiticity check needs real "
            f"parameters. Fix: create them with sympy.Symbol(name, real=True)."
        )


def _check_finite(H):
    """Every entry finite: ``oo``, ``zoo`` or ``nan`` in H is named (not reported as non-Hermiticity)."""
    singular = (sympy.S.Infinity, sympy.S.NegativeInfinity, sympy.S.ComplexInfinity, sympy.S.NaN)
    for i in range(H.rows):
        for j in range(H.cols):
            if H[i, j].has(*singular):
                raise ModelError(
                    f"H[{i},{j}] = {H[i, j]} is not finite (oo, zoo or nan). Fix: replace the "
                    f"singular value by a symbol, or remove the division by zero that produced it."
                )


def _undecided_conjugates(expr):
    """Subexpressions whose complex conjugate SymPy leaves unevaluated (it cannot tell they are real)."""
    return sorted({c.args[0] for c in sympy.conjugate(expr).atoms(sympy.conjugate)}, key=sympy.default_sort_key)


def _check_hermitian(H):
    bad = _non_hermitian_pairs(H)
    if bad:
        i, j = bad[0]
        undecided = _undecided_conjugates(H[j, i])
        if undecided:
            raise ModelError(
                f"H is not Hermitian as far as SymPy can tell: H[{i},{j}] = {H[i, j]}, and the "
                f"complex conjugate of {undecided[0]} in H[{j},{i}] stays unevaluated (SymPy cannot "
                f"tell that it is real). Fix: declare the symbols inside it positive (sympy.Symbol(name, "
                f"positive=True)) where that makes it real, write it with functions SymPy knows to be "
                f"real on real arguments (cos, sin, exp, sqrt of a positive expression), or use "
                f"sympy.Function(name, real=True)."
            )
        raise ModelError(
            f"H is not Hermitian: H[{i},{j}] = {H[i, j]} but conj(H[{j},{i}]) = "
            f"{sympy.conjugate(H[j, i])} ({len(bad)} such pair(s)). Fix: make "
            f"H[j,i] the complex conjugate of H[i,j]."
        )


def _partition(blocks) -> tuple:
    """``(block_slices, block_of)`` of a block partition."""
    starts = [sum(blocks[:i]) for i in range(len(blocks))]
    slices = tuple(slice(s, s + n) for s, n in zip(starts, blocks))
    return slices, tuple(i for i, n in enumerate(blocks) for _ in range(n))


def _check_momenta(H, momenta) -> tuple:
    """The momenta as a tuple of symbols; default ``k_x, k_y`` and ``k_z`` if ``H`` has it."""
    if momenta is None:
        present = [k for k in MOMENTA if k in H.free_symbols]
        momenta = list(MOMENTA[:2]) + [k for k in present if k not in MOMENTA[:2]]
    momenta = tuple(momenta)
    for k in momenta:
        if not isinstance(k, sympy.Symbol):
            raise ModelError(f"momenta must be SymPy symbols, got {k!r}.")
    return momenta


def _term(difference, coefficient):
    """The symbol with ``coefficient`` (±1) in a declared gap ``p - q``."""
    return next(s for s, c in difference.as_coefficients_dict().items() if c == coefficient)


def _check_commutators(H, commutators) -> tuple:
    """``(commutators, non-commuting symbols)``: ``{(a, b): c}`` checked (issue 16), zero values dropped.

    ``[a, b] = c`` with distinct real symbols ``a, b`` and a central, imaginary ``c``
    (the commutator of two Hermitian operators is anti-Hermitian); the non-commuting
    symbols must enter ``H`` polynomially (the Moyal product of Weyl symbols is exact
    for polynomials only).
    """
    if commutators is None:
        return {}, ()
    if not isinstance(commutators, Mapping):
        raise ModelError(
            f"commutators must be a mapping {{(a, b): c}} meaning [a, b] = c, got {type(commutators).__name__}. "
            f"Fix: e.g. commutators={{(k_x, k_y): -sympy.I * e * B_z / hbar}}."
        )
    out = {}
    for key, value in commutators.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(s, sympy.Symbol) for s in key)):
            raise ModelError(f"a commutators key must be a pair of SymPy symbols (a, b), got {key!r}.")
        a, b = key
        if a == b:
            raise ModelError(
                f"commutators: [{a}, {a}] is the commutator of {a} with itself, which is always 0. Fix: list "
                f"pairs of different symbols only."
            )
        if isinstance(value, bool) or not isinstance(value, (sympy.Basic, numbers.Number)):
            raise ModelError(
                f"commutators: the value of [{a}, {b}] must be a SymPy expression or a number, got {value!r} "
                f"({type(value).__name__}); strings are never evaluated."
            )
        value = sympy.expand(sympy.sympify(value))  # a SymPy object or a number: no parsing
        previous = out.get((b, a))
        if previous is not None and sympy.expand(previous + value) != 0:
            raise ModelError(
                f"commutators: [{a}, {b}] = {value} contradicts [{b}, {a}] = {previous} (need [b, a] = -[a, b]). "
                f"Fix: list each pair once."
            )
        if value != 0 and previous is None:
            out[a, b] = value
    noncommuting = tuple(dict.fromkeys(s for pair in out for s in pair))
    if not noncommuting:
        return {}, ()
    for (a, b), c in out.items():
        inside = sorted((s for s in c.free_symbols if s in noncommuting), key=str)
        if inside:
            raise ModelError(
                f"commutators: [{a}, {b}] = {c} is not central: it contains {inside[0]}, which does not commute "
                f"with everything. Fix: commutator values must be numbers or expressions in commuting symbols."
            )
        nonreal = sorted((s for s in c.free_symbols | {a, b} if not s.is_real), key=str)
        if nonreal:
            raise ModelError(
                f"commutators: {', '.join(map(str, nonreal))} in [{a}, {b}] = {c} not declared real. Fix: "
                f"create them with sympy.Symbol(name, real=True)."
            )
        if sympy.expand(c + sympy.conjugate(c)) != 0:
            raise ModelError(
                f"commutators: [{a}, {b}] = {c} is not imaginary, but the commutator of two Hermitian operators "
                f"is anti-Hermitian. Fix: e.g. [k_x, k_y] = -sympy.I * e * B_z / hbar, [z, k_z] = sympy.I."
            )
    for i in range(H.rows):
        for j in range(H.cols):
            if H[i, j] != 0 and not sympy.expand(H[i, j]).is_polynomial(*noncommuting):
                raise ModelError(
                    f"H[{i},{j}] = {H[i, j]} is not a polynomial in the non-commuting symbols "
                    f"{', '.join(map(str, noncommuting))}: such a term cannot be moved into the perturbation and "
                    f"multiplied exactly (the Moyal product of Weyl symbols needs polynomials). Fix: expand the "
                    f"function in a series by hand, or drop the commutator."
                )
    return out, noncommuting


def _move_noncommuting(H0, H1, noncommuting) -> tuple:
    """``(H0, H1)`` with every term of ``H0`` that holds a non-commuting symbol moved into ``H1``.

    The energy denominators (Eq. 19) must be central; these terms (e E_z z, ħ²k²/2m
    in a field) count towards the order instead.
    """
    if not noncommuting:
        return H0, H1
    nc = set(noncommuting)
    moved = H0.applyfunc(lambda e: sympy.Add(*[t for t in sympy.Add.make_args(sympy.expand(e)) if t.free_symbols & nc]))
    return (H0 - moved).applyfunc(sympy.expand), (H1 + moved).applyfunc(sympy.expand)


# the descriptive fields: set by the constructors of symbolic_sw.parsing, .symmetry and .models,
# and carried over unchanged to the models derived by with_perturbative and grouped
_DESCRIPTIVE = ("basis", "source", "family", "equation", "gaps")


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
    commutators : dict, optional
        ``{(a, b): c}`` means ``[a, b] = c`` (so ``[b, a] = -c``); unlisted pairs
        commute; every ``c`` must be central (a number or an expression in commuting
        symbols), e.g. ``{(k_x, k_y): -I*e*B_z/hbar}`` for kinetic momenta in a field
        ``B_z``, ``{(z, k_z): I}`` for a position operator.  Entries of ``H`` and of
        every result are **Weyl symbols**: a monomial stands for the Weyl-symmetrised
        operator (``k_x k_y → (k_x k_y + k_y k_x)/2``).  Terms of the diagonal blocks
        that hold a non-commuting symbol move into the perturbation of the
        transformation (the energy denominators must be central) and count towards
        the order (:meth:`central_split`, :mod:`symbolic_sw.transformation.weyl`).
    spin : bool
        Whether the basis is orbital ⊗ spin-½ (needed for spin operators).
    time_reversal : bool
        Check Eq. (E3), ``D⁻¹ H(k) D = H*(-k)`` with ``D = 1 ⊗ (-iσ_y)``.
    hbar : sympy.Symbol
        The symbol used for ħ in velocities and currents.
    name : str, optional
        A label used in printing and generated files.
    basis : sequence of str, optional
        One label per basis state (e.g. ``["Γ1↑", "Γ1↓", ...]``).
    source : str, optional
        The text the model was parsed from (:meth:`from_string`).
    family : SymmetryFamily, optional
        The symmetry-allowed terms the model was generated from
        (:func:`symbolic_sw.symmetry.from_symmetry`).
    equation : str or None
        The paper's equation number of a built-in model (e.g. ``"33"``).
    gaps : mapping, optional
        Gap parameters, ``{gap symbol: p - q}`` with ``p``, ``q`` parameters of ``H``
        (e.g. ``{E_g: epsilon_2 - epsilon_1}``, the paper's 𝓔_g of Eq. 33). The
        transformation runs in the gap variables (``p → q + gap`` on ``H``), so the
        closed forms are built from ``(𝓔_g ∓ b)`` and ``q`` survives only as the energy
        offset of ``H_eff``; the results are returned in ``p``, ``q`` again. Default:
        ``{E_g: epsilon_2 - epsilon_1}`` when ``H`` has both ``epsilon_1`` and
        ``epsilon_2`` (and no ``E_g``), else none; ``{}`` switches it off.

    Attributes
    ----------
    H, H0, H1 : sympy.Matrix
        The Hamiltonian, its unperturbed (block-diagonal) part and the perturbation.
    dim : int
        Size of ``H``.
    blocks : tuple of int
        The block sizes.
    block_slices : tuple of slice
        The rows (columns) of each block.
    block_of : tuple of int
        The block of each basis state.
    momenta : tuple of sympy.Symbol
    perturbative : tuple of sympy.Symbol
    commutators : dict
        The checked ``{(a, b): [a, b]}`` (nonzero values only).
    noncommuting : tuple of sympy.Symbol
        The symbols of the commutators (not central).
    spin : bool
    hbar : sympy.Symbol
    name : str
        ``"model"`` if not given.
    basis : tuple of str or None
        ``None`` if not given.
    source : str or None
        ``None`` unless built by :meth:`from_string`.
    family : SymmetryFamily or None
        ``None`` unless built by :func:`~symbolic_sw.symmetry.from_symmetry`.
    equation : str or None
        ``""`` unless set by a model of :mod:`symbolic_sw.models` (``None`` for
        symmetry-generated models).
    gaps : dict
        ``{gap symbol: p - q}`` (see Parameters); ``{}`` if none.
    basis_order : tuple of int or None
        Original basis index of each basis state (set by :meth:`grouped`).
    fine_blocks : tuple
        Per block: ``((fine block, slice inside this block), ...)`` (set by :meth:`grouped`).
    """

    H: sympy.Matrix
    H0: sympy.Matrix
    H1: sympy.Matrix
    dim: int
    blocks: tuple
    block_slices: tuple
    block_of: tuple
    momenta: tuple
    perturbative: tuple
    commutators: dict
    noncommuting: tuple
    spin: bool
    hbar: sympy.Symbol
    name: str
    basis: tuple | None
    source: str | None
    family: object | None
    equation: str | None
    gaps: dict
    basis_order: tuple | None
    fine_blocks: tuple

    def __init__(
        self,
        H,
        blocks: Sequence[int],
        *,
        momenta=None,
        perturbation=None,
        perturbative=(),
        commutators=None,
        spin: bool = True,
        time_reversal: bool = False,
        hbar=_hbar,
        name: str | None = None,
        basis=None,
        source: str | None = None,
        family=None,
        equation: str | None = "",
        gaps=None,
    ):
        self.H = H = _as_matrix(H)
        self.dim = H.rows
        self.name = name or "model"
        self.hbar = hbar
        self.spin = bool(spin)
        _check_real(H)
        _check_finite(H)
        _check_hermitian(H)
        self.blocks = self._check_blocks(blocks)
        self.block_slices, self.block_of = _partition(self.blocks)
        self.momenta = _check_momenta(H, momenta)
        self.H0, self.H1, self.perturbative = self._split_perturbation(perturbation, perturbative)
        self.commutators, self.noncommuting = _check_commutators(H, commutators)
        self.basis_order = None
        self.fine_blocks = tuple(((a, slice(0, n)),) for a, n in enumerate(self.blocks))
        self.basis = self._check_basis(basis)
        self.source = source
        self.family = family
        self.equation = equation
        self.gaps = self._check_gaps(gaps)
        if time_reversal:
            self.check_time_reversal()

    # -- validation (each raises ModelError with the fix) ----------------------

    def _check_blocks(self, blocks) -> tuple:
        """The block sizes as a tuple: positive, adding up to ``dim``, even if spinful."""
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
        return blocks

    def _split_perturbation(self, perturbation, perturbative) -> tuple:
        """``(H0, H1, perturbative)``: the block-diagonal part, the first-order part, the parameters moved."""
        H1 = self._check_perturbation(perturbation)
        H0 = (self.H - H1).applyfunc(sympy.expand)
        self._check_block_diagonal(H0)
        H1 = H1.applyfunc(sympy.expand)
        perturbative = tuple(perturbative or ())
        if perturbative:
            self._check_perturbative(perturbative)
            # terms with these parameters inside the diagonal blocks move from H0 to H1
            moved = H0 - H0.subs({s: 0 for s in perturbative}).applyfunc(sympy.expand)
            H0, H1 = (H0 - moved).applyfunc(sympy.expand), (H1 + moved).applyfunc(sympy.expand)
        return H0, H1, perturbative

    def _check_perturbation(self, perturbation) -> sympy.Matrix:
        """The perturbation as a Hermitian matrix of the shape of ``H``; default the inter-block couplings."""
        if perturbation is None:
            return sympy.Matrix(
                self.dim, self.dim, lambda i, j: self.H[i, j] if self.block_of[i] != self.block_of[j] else 0
            )
        H1 = _as_matrix(perturbation, "perturbation")
        if H1.shape != self.H.shape:
            raise ModelError(f"perturbation has shape {H1.shape}, H has {self.H.shape}.")
        if _non_hermitian_pairs(H1):
            raise ModelError("the perturbation must be Hermitian.")
        return H1

    def _check_block_diagonal(self, H0):
        off = [
            (i, j)
            for i in range(self.dim)
            for j in range(self.dim)
            if self.block_of[i] != self.block_of[j] and H0[i, j] != 0
        ]
        if off:
            i, j = off[0]
            raise ModelError(
                f"H - perturbation couples blocks {self.block_of[i]} and {self.block_of[j]} "
                f"(entry [{i},{j}] = {H0[i, j]}); the unperturbed part must be block-"
                f"diagonal. Fix: include all inter-block couplings in the perturbation."
            )

    def _check_perturbative(self, perturbative):
        params = set(self.H.free_symbols) - set(self.momenta)
        unknown = [str(s) for s in perturbative if s not in params]
        if unknown:
            raise ModelError(
                f"perturbative: {', '.join(unknown)} not among the model's parameters "
                f"({', '.join(sorted(map(str, params)))}). Fix: pass symbols of H."
            )

    def _check_basis(self, basis):
        if basis is None:
            return None
        basis = tuple(basis)
        if len(basis) != self.dim:
            raise ModelError(
                f"basis has {len(basis)} labels but H is {self.dim}x{self.dim}. Fix: give one label per basis state."
            )
        return basis

    def _check_gaps(self, gaps) -> dict:
        """The gap declarations as ``{gap symbol: p - q}``, each a difference of two parameters of ``H``."""
        params = set(self.H.free_symbols) - set(self.momenta)
        if gaps is None:  # the paper's convention, 𝓔_g = ε2 - ε1 (Eq. 33)
            default = {epsilon_1, epsilon_2} <= params and E_g not in params
            return {E_g: epsilon_2 - epsilon_1} if default else {}
        if not isinstance(gaps, dict):
            raise ModelError(
                f"gaps must be a dict {{gap symbol: p - q}}, got {type(gaps).__name__}. "
                f"Fix: e.g. gaps={{E_g: epsilon_2 - epsilon_1}}."
            )
        out, solved, references = {}, set(), set()
        for gap, difference in gaps.items():
            terms = sympy.sympify(difference).as_coefficients_dict() if isinstance(difference, sympy.Basic) else {}
            p = next((s for s, c in terms.items() if c == 1), None)
            q = next((s for s, c in terms.items() if c == -1), None)
            valid = isinstance(gap, sympy.Symbol) and gap.is_real and gap not in params and len(terms) == 2
            if not (valid and p in params and q in params):
                raise ModelError(
                    f"gaps: {gap!r}: {difference!r} is not a new real gap symbol equal to the difference "
                    f"p - q of two parameters of H ({', '.join(sorted(map(str, params)))}). Fix: e.g. "
                    f"gaps={{E_g: epsilon_2 - epsilon_1}} with E_g = sympy.Symbol('E_g', positive=True)."
                )
            out[gap] = p - q
            solved.add(p)
            references.add(q)
        if solved & references or len(solved) < len(out):
            raise ModelError(
                f"gaps {out} chain or repeat parameters. Fix: measure every gap from one reference "
                f"parameter (e.g. epsilon_2 - epsilon_1 and epsilon_3 - epsilon_1)."
            )
        return out

    @property
    def gap_substitution(self) -> dict:
        """``{p: q + gap}``: the change of variables into the declared gaps."""
        return {_term(d, 1): _term(d, -1) + g for g, d in self.gaps.items()}

    def in_gap_variables(self) -> "Model":
        """The model with ``p → q + gap`` for every declared gap (``gaps={}`` on the result).

        Block partition, perturbation, ``basis_order`` and ``fine_blocks`` are kept, so
        the transformation of the result is that of this model in the gap variables.
        """
        if not self.gaps:
            return self
        forward = self.gap_substitution
        new = self._replace(
            self.H.xreplace(forward),
            perturbation=self.H1.xreplace(forward),
            perturbative=tuple(self.perturbative),
            gaps={},
        )
        new.basis_order, new.fine_blocks = self.basis_order, self.fine_blocks
        return new

    @classmethod
    def from_string(
        cls,
        text: str,
        blocks: Sequence[int],
        *,
        basis=None,
        symbols=None,
        momenta=None,
        perturbation=None,
        spin: bool = True,
        time_reversal: bool = False,
        hbar=None,
        name: str | None = None,
        commutators=None,
        **options,
    ) -> "Model":
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
        commutators : mapping, optional
            Non-commuting symbols (issue 16): ``{"a, b": "c"}`` means ``[a, b] = c``, e.g.
            ``{"k_x, k_y": "-I*e*B_z/hbar", "z, k_z": "I"}``. A key names two symbols of the
            string's table (built-ins and ``symbols``) as ``"a, b"`` (or the tuple ``("a", "b")``);
            a value is a scalar string in the same grammar, parsed the same way (never
            evaluated), or a SymPy expression. Then as for :class:`Model` (``c`` central and
            imaginary; ``H`` in the Weyl convention).

        Returns
        -------
        Model
            With ``model.basis`` and ``model.source`` (the string) set.
        """
        from .parsing import model_from_string

        return model_from_string(
            cls,
            text,
            blocks,
            basis=basis,
            symbols=symbols,
            momenta=momenta,
            perturbation=perturbation,
            spin=spin,
            time_reversal=time_reversal,
            hbar=hbar,
            name=name,
            commutators=commutators,
            **options,
        )

    # -- derived data --------------------------------------------------------

    @property
    def parameters(self) -> tuple:
        """Free symbols of ``H`` other than the momenta, sorted by name."""
        return tuple(sorted(self.H.free_symbols - set(self.momenta), key=str))

    @property
    def n_orbitals(self) -> int:
        """Number of orbitals: the dimension, halved for a spinful model."""
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
            raise ModelError(
                f"{what} needs a spinful model (orbital ⊗ spin-½ basis); this model was built with spin=False."
            )

    def central_split(self) -> tuple:
        """``(H0, H1)`` of the transformation: the terms of ``H0`` with a non-commuting symbol moved into ``H1``.

        The energy denominators (Eq. 19) must be central, so with ``commutators``
        these terms (``e E_z z``; ``ħ²k²/2m`` in a field) count towards the order of
        the transformation; operators built from ``H`` keep the split ``H0, H1``
        (their kinetic terms stay of order 0).  Without commutators: ``(H0, H1)``.
        """
        return _move_noncommuting(self.H0, self.H1, self.noncommuting)

    def with_perturbative(self, symbols) -> "Model":
        """A copy in which every term of ``H`` containing ``symbols`` counts as perturbation.

        For a double expansion, e.g. Eq. (A19) to first order in the intrinsic SOC
        γ1, γ2 (whose terms lie inside the diagonal blocks) on top of the
        inter-orbital coupling; combine with ``effective(..., truncate=...)``.
        """
        return self._replace(perturbative=tuple(self.perturbative) + tuple(symbols))

    def _replace(self, H=None, blocks=None, **changes) -> "Model":
        """A new model with this one's settings, ``H`` and ``blocks`` and the constructor arguments ``changes``.

        The perturbation is this one's ``H1`` and the descriptive fields (basis,
        source, family, equation, gaps) are carried over; the time-reversal check is not
        repeated, and ``basis_order``, ``fine_blocks`` start afresh.
        """
        kwargs = dict(
            momenta=self.momenta,
            perturbation=self.H1,
            commutators=self.commutators,
            spin=self.spin,
            hbar=self.hbar,
            name=self.name,
            **{field: getattr(self, field) for field in _DESCRIPTIVE},
        )
        kwargs.update(changes)
        return Model(self.H if H is None else H, self.blocks if blocks is None else blocks, **kwargs)

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
        groups = self._check_groups(groups)
        perm, fine, sizes = [], [], []
        for g in groups:
            # the group's blocks, in the order given, become one block of the new basis
            perm.extend(i for a in g for i in range(self.block_slices[a].start, self.block_slices[a].stop))
            offsets = [sum(self.blocks[b] for b in g[:n]) for n in range(len(g) + 1)]
            fine.append(tuple((a, slice(offsets[n], offsets[n + 1])) for n, a in enumerate(g)))
            sizes.append(offsets[-1])
        new = self._replace(self.H.extract(perm, perm), sizes, perturbation=self.H1.extract(perm, perm))
        new.perturbative = self.perturbative
        base = self.basis_order or tuple(range(self.dim))
        new.basis_order = None if perm == list(range(self.dim)) else tuple(base[i] for i in perm)
        new.fine_blocks = tuple(fine)
        return new

    def _check_groups(self, groups) -> list:
        """``groups`` as lists of int, checked to partition the block indices into non-empty groups."""
        n = len(self.blocks)
        try:
            groups = [[int(a) for a in g] for g in groups]
        except TypeError as exc:
            raise ModelError(f"groups must be a list of lists of block indices, got {groups!r}.") from exc
        flat = sorted(a for g in groups for a in g)
        if flat != list(range(n)) or any(not g for g in groups):
            raise ModelError(
                f"groups {groups} must use every block index 0..{n - 1} exactly once, in "
                f"non-empty groups. Fix: e.g. {[list(range(n - 1)), [n - 1]]}."
            )
        return groups

    def groups_eliminating(self, pairs):
        """The coarsest grouping in which exactly the block ``pairs`` are eliminated.

        Blocks joined by a coupling that is *not* eliminated form one group; this
        is a canonical transformation only if the kept couplings are transitive
        (keeping 0–1 and 1–2 but eliminating 0–2 is not), which is checked.
        """
        n = len(self.blocks)
        pairs = self._check_pairs(pairs)
        group = list(range(n))
        for a, b in itertools.combinations(range(n), 2):
            if (a, b) not in pairs:
                old, new = group[b], group[a]
                group = [new if g == old else g for g in group]
        for a, b in sorted(pairs):
            if group[a] == group[b]:
                raise ModelError(
                    f"eliminating blocks {a}–{b} is inconsistent with keeping the couplings "
                    f"that link them through other blocks; kept couplings must group blocks "
                    f"transitively. Fix: also eliminate the pairs linking {a} and {b}, or keep {a}–{b}."
                )
        labels = sorted(set(group), key=group.index)
        return [[a for a in range(n) if group[a] == lab] for lab in labels]

    def _check_pairs(self, pairs) -> set:
        """The block pairs as a set of sorted tuples, each joining two different existing blocks."""
        n = len(self.blocks)
        pairs = {tuple(sorted((int(a), int(b)))) for a, b in pairs}
        bad = [p for p in pairs if p[0] == p[1] or not (0 <= p[0] < n and 0 <= p[1] < n)]
        if bad:
            raise ModelError(
                f"cannot eliminate block pair(s) {sorted(bad)}: pairs must join two different blocks among 0..{n - 1}."
            )
        return pairs

    def block(self, M, a=0, b=None):
        """The (a, b) block of a matrix in this model's partition."""
        b = a if b is None else b
        return sympy.Matrix(M)[self.block_slices[a], self.block_slices[b]]

    def __repr__(self):
        """Name, size, blocks, momenta and parameters."""
        return (
            f"Model({self.name!r}, dim={self.dim}, blocks={list(self.blocks)}, "
            f"momenta={self.momenta}, parameters={self.parameters})"
        )
