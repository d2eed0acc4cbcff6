"""Microscopic operators, Eqs. (7)-(10), graded by order in the perturbation.

An operator derived from H inherits H's split ``H = H0 + H1``: its order-0 part
comes from ``H0`` and its order-1 part from ``H1``, so that the canonical
transformation counts orders consistently.  A user matrix is order 0.
"""

from __future__ import annotations

import functools
import random
import weakref

import sympy

from .errors import ModelError
from .model import Model
from .pauli import SIGMA, kron

__all__ = ["Operator", "operator", "of_hamiltonian", "spin", "spin_current", "spin_torque",
           "velocity", "charge_current", "SPIN_COMPONENTS"]

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
        total = self.parts[0]
        for p in self.parts[1:]:
            total = total + p
        return total

    @property
    def shape(self):
        return self.parts[0].shape

    def __repr__(self):
        return f"Operator({self.name!r}, shape={self.shape}, orders={len(self.parts)})"


def _spin_label(mu):
    if mu not in SPIN_COMPONENTS:
        raise ModelError(f"unknown spin component {mu!r}; use one of 'x', 'y', 'z'.")
    return mu


def _momentum(model: Model, i):
    names = {str(k).removeprefix("k_"): k for k in model.momenta}
    if i not in names:
        raise ModelError(f"unknown direction {i!r}; this model's momenta are "
                         f"{', '.join(repr(n) for n in names)}.")
    return names[i]


_NOT_POLYNOMIAL = ("operator function {name!r} is not a polynomial in H (e.g. it inverts H); "
                   "only sums, products, powers and derivatives of H are supported.")


def _polynomial_at_a_point(model: Model, f, zeta) -> bool:
    """``f(H0 + ζ H1)`` at one rational parameter point: is it a polynomial in ζ?

    A cheap probe before the symbolic evaluation, which for a function that is
    not a polynomial in H (an inverse, a square root) can take minutes before it
    is rejected.  A polynomial in H stays one at every point; an exception here
    is inconclusive and left to the symbolic evaluation to report.
    """
    rng = random.Random(0x5EED)
    point = {s: sympy.Rational(rng.randint(1, 97), rng.randint(98, 199))
             for s in sorted(model.H.free_symbols, key=str)}
    try:
        P = sympy.Matrix(f(model.H0.xreplace(point) + zeta * model.H1.xreplace(point)))
        return all(sympy.cancel(e).is_polynomial(zeta) for e in P)
    except Exception:  # noqa: BLE001 - inconclusive, see above
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
    except Exception as exc:  # noqa: BLE001 - re-raised with the reason
        raise ModelError(f"operator function {name!r} failed on the model's H: {exc}. It must "
                         f"take the SymPy matrix H and return a matrix.") from exc
    if M.shape != model.H.shape:
        raise ModelError(f"operator function {name!r} returned shape {M.shape}; the model is "
                         f"{model.dim}x{model.dim}.")
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
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"operator must be a SymPy matrix, got {type(O).__name__}.") from exc
    if parts[0].shape != model.H.shape:
        raise ModelError(f"operator has shape {parts[0].shape} but the model is "
                         f"{model.dim}x{model.dim}; give the full (microscopic) matrix.")
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
    return Operator([(d * S + S * d) / (2 * model.hbar) for d in parts], f"J_{mu}{i}",
                    time_reversal=+1)


def spin_torque(model: Model, mu: str) -> Operator:
    """Spin torque ``T_μ = (i/ħ)[H, S_μ]`` (Eq. 9); TR-even."""
    S = spin(model, mu).matrix
    op = _split(model, lambda H: sympy.I * (H * S - S * H) / model.hbar)
    op.name, op.time_reversal = f"T_{mu}", +1
    return op
