"""Microscopic operators, Eqs. (7)-(10), graded by order in the perturbation.

An operator derived from H inherits H's split ``H = H0 + H1``: its order-0 part
comes from ``H0`` and its order-1 part from ``H1``, so that the canonical
transformation counts orders consistently.  A user matrix is order 0.
"""

from __future__ import annotations

import functools
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import sympy

from .errors import ModelError
from .model import Model
from .pauli import SIGMA, kron

__all__ = [
    "BUILTIN_KINDS",
    "KINDS",
    "SPIN_COMPONENTS",
    "Operator",
    "OperatorKind",
    "charge_current",
    "default_kinds",
    "kind_of",
    "of_hamiltonian",
    "operator",
    "operator_names",
    "register",
    "spin",
    "spin_current",
    "spin_torque",
    "unregister",
    "velocity",
]

SPIN_COMPONENTS = ("x", "y", "z")


class Operator:
    """A matrix operator split by order in the perturbation: ``O = Σ_p parts[p]``."""

    def __init__(self, parts, name="O", time_reversal=None):
        self.parts = tuple(sympy.Matrix(p).applyfunc(sympy.expand) for p in parts)
        self.name = name
        #: +1 for TR-even, -1 for TR-odd, None if unknown (Eq. 31).
        self.time_reversal = time_reversal

    @property
    def matrix(self) -> sympy.Matrix:
        """The whole operator, ``Σ_p parts[p]`` summed over all orders in the perturbation."""
        total = self.parts[0]
        for p in self.parts[1:]:
            total = total + p
        return total

    @property
    def shape(self):
        """The matrix shape, that of the model's Hamiltonian."""
        return self.parts[0].shape

    def __repr__(self):
        """Name, shape and number of orders, e.g. ``Operator('J_xy', shape=(4, 4), orders=2)``."""
        return f"Operator({self.name!r}, shape={self.shape}, orders={len(self.parts)})"


def _spin_label(mu):
    if mu not in SPIN_COMPONENTS:
        raise ModelError(f"unknown spin component {mu!r}; use one of 'x', 'y', 'z'.")
    return mu


def _momentum(model: Model, i):
    names = {str(k).removeprefix("k_"): k for k in model.momenta}
    if i not in names:
        raise ModelError(f"unknown direction {i!r}; this model's momenta are {', '.join(repr(n) for n in names)}.")
    return names[i]


_NOT_POLYNOMIAL = (
    "operator function {name!r} is not a polynomial in H (e.g. it inverts H); "
    "only sums, products, powers and derivatives of H are supported."
)


def _polynomial_at_a_point(model: Model, f, zeta) -> bool:
    """Whether ``f(H0 + ζ H1)`` at one rational parameter point is a polynomial in ζ.

    A cheap probe before the symbolic evaluation, which for a function that is
    not a polynomial in H (an inverse, a square root) can take minutes before it
    is rejected.  A polynomial in H stays one at every point; an exception here
    is inconclusive and left to the symbolic evaluation to report.
    """
    rng = random.Random(0x5EED)
    point = {s: sympy.Rational(rng.randint(1, 97), rng.randint(98, 199)) for s in sorted(model.H.free_symbols, key=str)}
    try:
        P = sympy.Matrix(f(model.H0.xreplace(point) + zeta * model.H1.xreplace(point)))
        return all(sympy.cancel(e).is_polynomial(zeta) for e in P)
    except Exception:  # inconclusive, see above
        return True


def of_hamiltonian(model: Model, f, name="O", time_reversal=None) -> Operator:
    """An operator built from the Hamiltonian, graded like it.

    ``f(H)`` must be a polynomial in the matrix ``H`` (derivatives in k,
    commutators and products with fixed matrices, powers): it is evaluated on
    ``H0 + ζ H1`` and split by powers of ``ζ``, so that e.g. ``H²`` gets the
    parts ``H0²``, ``H0 H1 + H1 H0``, ``H1²`` of orders 0, 1, 2.
    """
    zeta = sympy.Dummy("zeta", real=True)
    if not _polynomial_at_a_point(model, f, zeta):
        raise ModelError(_NOT_POLYNOMIAL.format(name=name))
    try:
        M = sympy.Matrix(f(model.H0 + zeta * model.H1))
    except Exception as exc:  # re-raised with the reason
        raise ModelError(
            f"operator function {name!r} failed on the model's H: {exc}. It must "
            f"take the SymPy matrix H and return a matrix."
        ) from exc
    if M.shape != model.H.shape:
        raise ModelError(f"operator function {name!r} returned shape {M.shape}; the model is {model.dim}x{model.dim}.")
    M = M.applyfunc(sympy.expand)
    if not all(e.is_polynomial(zeta) for e in M):
        raise ModelError(_NOT_POLYNOMIAL.format(name=name))
    top = max((sympy.degree(e, zeta) for e in M if e != 0), default=0)
    parts = [M.applyfunc(lambda e, p=p: e.coeff(zeta, p)) for p in range(top + 1)]
    return Operator(parts, name, time_reversal)


def operator(model: Model, O, name="O", time_reversal=None) -> Operator:
    """Wrap a user operator: a matrix (order 0), a graded :class:`Operator`, or ``f(H)``.

    A callable is passed to :func:`of_hamiltonian`.
    """
    if callable(O) and not isinstance(O, (Operator, sympy.MatrixBase)):
        return of_hamiltonian(model, O, name, time_reversal)
    if isinstance(O, Operator):
        parts = O.parts
    else:
        try:
            parts = (sympy.Matrix(O),)
        except Exception as exc:  # anything SymPy cannot make a matrix of
            raise ModelError(f"operator must be a SymPy matrix, got {type(O).__name__}.") from exc
    if parts[0].shape != model.H.shape:
        raise ModelError(
            f"operator has shape {parts[0].shape} but the model is "
            f"{model.dim}x{model.dim}; give the full (microscopic) matrix."
        )
    return O if isinstance(O, Operator) else Operator(parts, name, time_reversal)


@functools.lru_cache(maxsize=None)
def _spin_matrix(n_orbitals: int, label: str) -> sympy.ImmutableMatrix:
    return sympy.ImmutableMatrix(kron(sympy.eye(n_orbitals), SIGMA[label]))


def spin(model: Model, mu: str) -> Operator:
    """Spin ``S_μ = 1 ⊗ σ_μ`` (Eq. 7); TR-odd."""
    model._require_spin("the spin operator")
    S = sympy.Matrix(_spin_matrix(model.n_orbitals, _spin_label(mu)))
    return Operator((S,), f"S_{mu}", time_reversal=-1)


def _split(model: Model, f):
    return Operator((f(model.H0), f(model.H1)))


def _diff(M, k):
    """``∂M/∂k`` entrywise (``Matrix.diff`` goes through ``ArrayDerivative``: ~50× slower)."""
    return M.applyfunc(lambda e: e.diff(k))


# ∂H0/∂k and ∂H1/∂k per model, shared by the velocity and the three spin currents of a
# direction (weak keys: a model's cache goes with it; derived models are new keys)
_DERIVATIVES = weakref.WeakKeyDictionary()


def _derivative_parts(model: Model, k):
    """``(∂H0/∂k, ∂H1/∂k)``, computed once per model and momentum (do not mutate)."""
    cache = _DERIVATIVES.setdefault(model, {})
    if k not in cache:
        cache[k] = (_diff(model.H0, k), _diff(model.H1, k))
    return cache[k]


def velocity(model: Model, i: str) -> Operator:
    """Velocity ``(1/ħ) ∂H/∂k_i``; the charge current of Eq. (10) is ``-e`` times it."""
    parts = _derivative_parts(model, _momentum(model, i))
    return Operator([d / model.hbar for d in parts], f"v_{i}", time_reversal=-1)


def charge_current(model: Model, i: str, e=None) -> Operator:
    """Charge current ``-e v_i`` (Eq. 10); ``e`` defaults to a positive symbol ``e``."""
    e = sympy.Symbol("e", positive=True) if e is None else e
    v = velocity(model, i)
    return Operator([-e * p for p in v.parts], f"j_{i}", time_reversal=-1)


def spin_current(model: Model, mu: str, i: str) -> Operator:
    """Spin current ``J_{μ,i} = ½{(1/ħ)∂H/∂k_i, S_μ}`` (Eq. 8); TR-even."""
    parts = _derivative_parts(model, _momentum(model, i))
    S = spin(model, mu).matrix
    return Operator([(d * S + S * d) / (2 * model.hbar) for d in parts], f"J_{mu}{i}", time_reversal=+1)


def spin_torque(model: Model, mu: str) -> Operator:
    """Spin torque ``T_μ = (i/ħ)[H, S_μ]`` (Eq. 9); TR-even."""
    S = spin(model, mu).matrix
    op = _split(model, lambda H: sympy.I * (H * S - S * H) / model.hbar)
    op.name, op.time_reversal = f"T_{mu}", +1
    return op


# -- the operator kinds, described once ---------------------------------------------------
#
# Everything that loops over operators (Effective, derivation specs, derive, certify,
# kernels, LaTeX and README templates) reads this table: adding a kind is one
# ``register(OperatorKind(...))``.

#: key axes: "spin" (x, y, z of a spinful model), "direction" (the model's momenta), or a
#: tuple of literal labels
_AXES = ("spin", "direction")


@dataclass(frozen=True)
class OperatorKind:
    """One kind of operator: its keys, how it is built and how it is written.

    Parameters
    ----------
    symbol : str
        Kernel-name prefix (``"J"`` → ``J_x_y``) and the spec's ``OPERATORS`` entry.
    axes : tuple
        One entry per index of the key: ``"spin"`` (x, y, z; none for a spinless
        model), ``"direction"`` (the model's momenta, ``k_x`` → ``"x"``) or a tuple
        of labels (``("z",)``).
    build : callable, optional
        ``build(model, *key) -> Operator``: the microscopic operator, graded like H.
        None for ``dJ``, which is defined from another kind (``beyond_standard``).
    latex : str
        The symbol of the effective operator in LaTeX (the paper's calligraphic letters).
    title : str
        Heading of its section in ``operators.tex``.
    doc : str
        One-line description, formatted with the key as ``{0}``, ``{1}``.
    attribute : str, optional
        Name of its mapping on :class:`~symbolic_sw.Effective` (default ``symbol``).
    algebra : callable, optional
        ``algebra(ctx, *key) -> parts``: the same parts built directly in the exact
        algebra (faster than converting ``build``'s SymPy matrices); ``ctx`` is the
        transformation's :class:`~symbolic_sw.transformation.effective.BuildContext`.
    hamiltonian : bool
        The Hamiltonian itself: its effective form is ``H_eff`` of the series (Eq. 18).
    beyond_standard : str, optional
        ``"J"`` for δJ (Eq. 27): the effective operator of that kind minus the standard
        ``½{(1/ħ)∂H_eff/∂k_i, 1⊗σ_μ}`` (key ``(μ, i)``).
    default : bool
        Part of a spec's default ``OPERATORS``.
    time_reversal : int, optional
        +1 TR-even, −1 TR-odd (Eq. 31).
    """

    symbol: str
    axes: tuple
    build: Callable | None
    latex: str
    title: str
    doc: str
    attribute: str | None = None
    algebra: Callable | None = None
    hamiltonian: bool = False
    beyond_standard: str | None = None
    default: bool = False
    time_reversal: int | None = None

    def __post_init__(self):
        """Check the symbol (an identifier without ``_``) and the axes; ModelError if not."""
        if not self.symbol.isidentifier() or "_" in self.symbol:
            raise ModelError(
                f"operator kind symbol {self.symbol!r} must be an identifier without '_' "
                f"(kernel names join it to its key with '_')."
            )
        for axis in self.axes:
            if axis not in _AXES and not (
                isinstance(axis, tuple) and axis and all(isinstance(a, str) and a.isidentifier() for a in axis)
            ):
                raise ModelError(
                    f"axis {axis!r} of operator kind {self.symbol!r} must be 'spin', "
                    f"'direction' or a tuple of identifier labels."
                )

    @property
    def name(self):
        """The attribute of :class:`~symbolic_sw.Effective` holding this kind."""
        return self.attribute or self.symbol

    def keys(self, model: Model) -> list:
        """Every key of this kind for ``model``, in contract order (tuples)."""
        spins = SPIN_COMPONENTS if model.spin else ()
        dirs = tuple(_direction(k) for k in model.momenta)
        keys = [()]
        for axis in self.axes:
            values = spins if axis == "spin" else dirs if axis == "direction" else axis
            keys = [(*key, v) for key in keys for v in values]
        return keys

    def kernel_name(self, key) -> str:
        """``("x", "y")`` → ``"J_x_y"``; the Hamiltonian is ``"H"``."""
        return "_".join((self.symbol, *key))

    def describe(self, key) -> str:
        """The one-line description of the operator with this key (``doc`` formatted with it)."""
        return self.doc.format(*key)

    def latex_symbol(self, key) -> str:
        """The LaTeX symbol of the effective operator with this key: ``latex`` with subscript ``x,y``."""
        return self.latex + ("_{" + ",".join(key) + "}" if key else "")

    def microscopic(self, model: Model, *key) -> Operator:
        """The microscopic operator (for δJ: that of the kind it is defined from)."""
        if self.beyond_standard:
            return KINDS[self.beyond_standard].microscopic(model, *key)
        return self.build(model, *key)


def _direction(k) -> str:
    return str(k).removeprefix("k_")


#: the registered kinds, in contract order (kernel and section order)
KINDS: dict = {}


def register(kind: OperatorKind, replace: bool = False) -> OperatorKind:
    """Add an operator kind to every layer at once (Effective, specs, kernels, LaTeX, READMEs)."""
    if not isinstance(kind, OperatorKind):
        raise ModelError(f"register() takes an OperatorKind, got {type(kind).__name__}.")
    if kind.symbol in KINDS and not replace:
        raise ModelError(f"operator kind {kind.symbol!r} is already registered; pass replace=True to redefine it.")
    taken = {k.name for s, k in KINDS.items() if s != kind.symbol}
    if kind.name in taken:
        raise ModelError(f"Effective attribute {kind.name!r} is already used by another kind.")
    KINDS[kind.symbol] = kind
    return kind


def unregister(symbol: str) -> None:
    """Remove a kind added by :func:`register` (the built-in ones stay)."""
    if symbol in _BUILTIN:
        raise ModelError(f"{symbol!r} is a built-in operator kind and cannot be removed.")
    KINDS.pop(symbol, None)


def kind_of(name: str):
    """``"dJ_x_y"`` → ``(KINDS["dJ"], ("x", "y"))``; ModelError for an unknown kind."""
    symbol, *key = str(name).split("_")
    if symbol not in KINDS:
        raise ModelError(f"no operator kind {symbol!r} (from {name!r}); kinds: {', '.join(KINDS)}.")
    return KINDS[symbol], tuple(key)


def default_kinds() -> tuple:
    """The kinds a derivation spec reduces when it gives no ``OPERATORS``."""
    return tuple(s for s, k in KINDS.items() if k.default)


def operator_names(kinds, model: Model) -> list:
    """Kernel names of ``kinds`` for ``model`` in contract order: H, S_μ, T_μ, J_μ_i, dJ_μ_i, ..."""
    return [kind.kernel_name(key) for symbol, kind in KINDS.items() if symbol in kinds for key in kind.keys(model)]


# recipes in the exact algebra: the same parts as converting the SymPy operators, without
# building and expanding them as SymPy matrices first (a test checks they agree)


def _velocity_algebra(ctx, i):
    return [ctx.times(ctx.derivative(Hp, i), 1 / ctx.hbar) for Hp in ctx.H]


def _torque_algebra(ctx, mu):
    S = ctx.spin(mu)
    return [ctx.times(ctx.times(ctx.commutator(Hp, S), sympy.I), 1 / ctx.hbar) for Hp in ctx.H]


def _spin_current_algebra(ctx, mu, i):
    S = ctx.spin(mu)
    return [ctx.times(ctx.anticommutator(dH, S), sympy.Rational(1, 2)) for dH in _velocity_algebra(ctx, i)]


def _hamiltonian(model: Model) -> Operator:
    return Operator((model.H0, model.H1), "H", time_reversal=+1)


_BUILTIN = (
    OperatorKind(
        "H",
        (),
        _hamiltonian,
        r"\hat{\mathcal{H}}",
        "Effective Hamiltonian",
        "Effective Hamiltonian H_eff(k), Eq. (18).",
        hamiltonian=True,
        default=True,
        time_reversal=+1,
    ),
    OperatorKind(
        "S",
        ("spin",),
        spin,
        r"\hat{\mathcal{S}}",
        "Effective spin, Eq. (22)",
        "Effective spin S_eff^{0}, Eq. (22).",
        algebra=lambda ctx, mu: [ctx.spin(mu)],
        default=True,
        time_reversal=-1,
    ),
    OperatorKind(
        "T",
        ("spin",),
        spin_torque,
        r"\hat{\mathcal{T}}",
        "Effective spin torque, Eq. (21)",
        "Effective spin torque T_eff^{0} = (i/ħ)[H_eff, S_eff^{0}], Eq. (21).",
        algebra=_torque_algebra,
        default=True,
        time_reversal=+1,
    ),
    OperatorKind(
        "J",
        ("spin", "direction"),
        spin_current,
        r"\hat{\mathcal{J}}",
        "Effective spin current, Eq. (20)",
        "Effective spin current J_eff_{{{0},{1}}}, Eq. (20).",
        algebra=_spin_current_algebra,
        default=True,
        time_reversal=+1,
    ),
    OperatorKind(
        "dJ",
        ("spin", "direction"),
        None,
        r"\delta\hat{\mathcal{J}}",
        "Beyond the standard definition: delta J, Eq. (27)",
        "δJ_{{{0},{1}}} = J_eff_{{{0},{1}}} − ½{{(1/ħ)∂H_eff/∂k_{1}, σ_{0}}}: the part beyond "
        "the standard definition, Eq. (27).",
        beyond_standard="J",
        default=True,
        time_reversal=+1,
    ),
    OperatorKind(
        "v",
        ("direction",),
        velocity,
        r"\hat{\mathcal{v}}",
        "Effective velocity",
        "Effective velocity v_eff^{0} = U†(1/ħ)∂H/∂k_{0}U.",
        attribute="velocity",
        algebra=_velocity_algebra,
        time_reversal=-1,
    ),
)
for _kind in _BUILTIN:
    register(_kind)
_BUILTIN = {k.symbol: k for k in _BUILTIN}
#: the kinds the package defines (read-only view)
BUILTIN_KINDS = tuple(_BUILTIN)
