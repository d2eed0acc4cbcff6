r"""Equilibrium spin currents by numerical integration over k (Eqs. 3, 14-15, 29, 49-52).

The uniform equilibrium average of a band-diagonal observable is (Eqs. 3, 15, 29)

.. math::

    \langle j_{\mu,i}\rangle = \sum_n \int \frac{d^2k}{(2\pi)^2}\,
        f(\xi_n(\mathbf k))\,\bigl(U^\dagger J_{\mu,i} U\bigr)_{nn},

with ``U`` the eigenvectors of the Hamiltonian at ``k`` and ``f`` the Fermi
function. Everything here is plain floating point (numpy); the symbolic models
enter only through :func:`lambdify_matrix`.

Conventions
-----------
* **Energy zero.** The chemical potential ``mu`` is counted from the band
  bottom ``E(k=0)``, the lowest eigenvalue of the model at k = 0 (ERRATA item 3:
  Sec. V counts μ from the renormalised band bottom ``ε1 − 2b̃²/(E_g − b)``, not
  from ε1). Each model is referred to *its own* ``E(k=0)``: the exact 6×6 model
  and its effective 2×2 model have band bottoms that differ at O(b̃⁴).
  For Rashba-split bands the true minimum lies below ``E(k=0)`` (at
  ``k = m α/ħ²``); the paper's results (4), (C6), (G6), (52) assume μ ≥ 0 in
  this convention, and so do these functions at T = 0.
* **Temperature** ``T`` is in energy units (k_B = 1).
* **Spin** is the dimensionless σ (footnote 17), so ``j`` has units of
  velocity × density.

Quadrature
----------
Polar coordinates. In the angle: the periodic trapezoidal rule with ``n_phi``
equidistant nodes, which is *exact* for a trigonometric polynomial of degree
< ``n_phi`` (for the isotropic models of the paper the angular dependence of
``Σ_n f (U†JU)_nn`` is ``1, cos 2φ, sin 2φ``); Gauss–Legendre in φ would only be
asymptotically exact. In ``|k|``: adaptive piecewise Gauss–Legendre whose
initial breakpoints are the Fermi momenta of every band along every direction
(found by bracketing ``ξ_n(k) − E(0) − μ`` on a scan grid and bisecting to
machine precision), so at T = 0 no rule straddles the step of ``f`` and the
result converges to ~1e-12 relative. At T > 0 the breakpoints are the momenta
where ``ξ_n − μ = 0, ±3T, ±8T, ±20T`` and the integral runs to where
``f < 1e-17`` for all bands (``ξ − μ > 40 T``).

Error estimate: ``|I(segments) − I(halved segments)|`` summed over the radial
segments (a conservative bound for the finer rule), plus
``|I(n_phi) − I(n_phi/2)|`` for the angle, plus ``64 ε ∫ Σ_n f ‖O_n·‖`` (row
norms of the operator in the band basis) for the round-off of the band sum,
which the two rules share. A result much smaller
than the individual band contributions (e.g. the O(α³) current of Eq. 4 at
small α) is limited by that round-off, and its error says so.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import sympy

from .. import operators as _ops
from ..errors import ModelError
from ..model import Model
from ..symbols import k_x as _k_x
from ..symbols import k_y as _k_y
from ..transformation.numeric import real_number

__all__ = [
    "BandTerms",
    "SpinCurrentResult",
    "band_bottom",
    "band_terms",
    "effective_spin_current",
    "fermi",
    "lambdify_matrix",
    "microscopic_spin_current",
    "spin_current_numeric",
]

SPIN_COMPONENTS = ("x", "y", "z")
DIRECTIONS = ("x", "y")

#: ``f(ξ) < 1e-17`` for ``(ξ − μ)/T > 39.1``; integrate out to ``ξ − μ = 40 T``.
_TAIL = 40.0
#: Extra radial breakpoints at T > 0, in units of T around μ, where f changes fastest.
_T_LEVELS = (-20.0, -8.0, -3.0, 0.0, 3.0, 8.0, 20.0)
#: Probe momenta used to bound the occupied region when ``k_max`` is not given.
_PROBES = 2.0 ** np.arange(-40, 41)
#: Round-off floor of a segment's halving difference, relative to ∫ Σ_n f ‖O_n·‖
#: (row norms of the operator in the band basis: the size of what cancels in the sum).
_ROUNDOFF = 256 * np.finfo(float).eps
#: Round-off of the band sum added to the error estimate, relative to ∫ Σ_n f ‖O_n·‖.
_EIG_ROUNDOFF = 64 * np.finfo(float).eps
#: Largest number of k points evaluated in one batched call (memory bound).
_CHUNK = 20000


# ----------------------------------------------------------------------------- basics


def _real_number(x, name):
    """A finite real float, or a :class:`ModelError` (a ValueError) naming the argument.

    Numbers only (never parsed, so a string cannot run code); NaN and ±inf are
    refused, so no quadrature ever starts on them (a NaN μ would never converge).
    """
    return real_number(x, name)


def _check_T(T):
    T = _real_number(T, "T")
    if T < 0:
        raise ModelError(
            f"temperature T = {T} is negative; T is k_B·T in energy units and "
            f"must be >= 0 (T = 0 for the ground state)."
        )
    return T


def fermi(xi, mu, T):
    r"""Fermi function :math:`f(\xi) = [e^{(\xi-\mu)/T} + 1]^{-1}` (Eq. 3).

    Parameters
    ----------
    xi : array_like
        Energies.
    mu : float
        Chemical potential, on the same energy scale as ``xi``.
    T : float
        Temperature in energy units (k_B = 1), ``T >= 0``.

    Returns
    -------
    numpy.ndarray
        ``f`` with the shape of ``xi``. At ``T = 0`` the step
        ``θ(μ − ξ)`` (with ``1/2`` at ``ξ = μ``). At ``T > 0`` computed as
        ``e^{-|x|}/(1 + e^{-|x|})`` or ``1/(1 + e^{-|x|})``, ``x = (ξ − μ)/T``,
        so that no exponential overflows for any ``x``.

    Raises
    ------
    ModelError
        (a ValueError) If ``T < 0`` or ``mu``, ``T`` are not finite real numbers.
    """
    T = _check_T(T)
    mu = _real_number(mu, "mu")
    xi = np.asarray(xi, dtype=float)
    if T == 0.0:
        return np.where(xi < mu, 1.0, np.where(xi > mu, 0.0, 0.5))
    x = (xi - mu) / T
    with np.errstate(under="ignore"):  # e^{-|x|} → 0 deep in the tail is the right answer
        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        return np.where(x > 0, e / (1.0 + e), 1.0 / (1.0 + e))


# ----------------------------------------------------------------------------- sympy → numpy


def _symbol_map(values, allowed, what):
    """``values`` keyed by Symbol or name → {Symbol: float}; unknown names are errors."""
    if values is None:
        values = {}
    if not hasattr(values, "items"):
        raise ModelError(f"values must be a mapping {{symbol or name: number}}, got {type(values).__name__}.")
    by_name = {str(s): s for s in allowed}
    out, unknown = {}, []
    for key, val in values.items():
        sym = key if isinstance(key, sympy.Symbol) else by_name.get(str(key))
        if sym is None or sym not in allowed:
            unknown.append(str(key))
            continue
        out[sym] = _real_number(val, f"value of {sym}")
    if unknown:
        names = ", ".join(sorted(map(str, allowed))) or "(none)"
        hint = ""
        if "E_g" in unknown and "epsilon_2" in by_name:
            hint = " (E_g = ε2 − ε1 is not a symbol of this model: give epsilon_1 and epsilon_2)"
        raise ModelError(
            f"unknown parameter(s) {', '.join(unknown)} for {what}{hint}; its "
            f"parameters are {names}. Fix: remove them or use these names."
        )
    return out


def _missing(needed, given, what):
    missing = sorted(str(s) for s in needed if s not in given)
    if missing:
        raise ModelError(
            f"missing value(s) for {', '.join(missing)} in {what}. Fix: pass "
            f"values={{..., {missing[0]!r}: number}} for every parameter "
            f"(momenta excluded)."
        )


def lambdify_matrix(matrix, values, momenta=(_k_x, _k_y)):
    """Turn a SymPy matrix into a vectorised numeric callable ``(kx, ky) -> (..., N, N)``.

    Parameters
    ----------
    matrix : sympy.Matrix
        An ``N×N`` matrix in the momenta and parameters (e.g. ``Model.H``, the
        sum of ``operators.spin_current(model, mu, i).parts``, or the 2×2
        ``ssw.effective(...).H`` / ``.J[mu, i]``).
    values : mapping
        A number for every parameter (keys: SymPy symbols or their names).
        Keys that are not symbols of ``matrix`` are ignored here (they may
        belong to a companion matrix); missing ones are an error.
    momenta : (Symbol, Symbol)
        The momentum symbols ``(k_x, k_y)``.

    Returns
    -------
    callable
        ``F(kx, ky)``; ``kx``, ``ky`` broadcastable arrays; returns a complex
        array of shape ``broadcast(kx, ky).shape + (N, N)``.

    Raises
    ------
    ModelError
        (a ValueError) If a parameter value is missing or not a finite real number.
    """
    M = sympy.Matrix(matrix)
    kx_s, ky_s = momenta
    params = M.free_symbols - {kx_s, ky_s}
    given = {}
    for key, val in (values or {}).items():
        sym = key if isinstance(key, sympy.Symbol) else next((s for s in params if str(s) == str(key)), None)
        if sym in params:
            given[sym] = _real_number(val, f"value of {sym}")
    _missing(params, given, "lambdify_matrix")
    numeric = M.subs(given)
    n_rows, n_cols = M.shape
    # One function returning the flat list of entries: constant entries come back as
    # scalars, so each is broadcast to the k-grid before stacking.
    f = sympy.lambdify((kx_s, ky_s), list(numeric), modules="numpy")

    def F(kx, ky):
        kx, ky = np.broadcast_arrays(np.asarray(kx, dtype=float), np.asarray(ky, dtype=float))
        shape = kx.shape
        entries = [np.broadcast_to(np.asarray(v, dtype=complex), shape) for v in f(kx, ky)]
        return np.stack(entries, axis=-1).reshape((*shape, n_rows, n_cols))

    F.shape = (n_rows, n_cols)
    F.matrix = M
    return F


def _as_callable(M, values, momenta, what):
    if callable(M):
        return M
    if isinstance(M, (sympy.MatrixBase, list)):
        return lambdify_matrix(M, values, momenta)
    raise ModelError(
        f"{what} must be a SymPy matrix or a callable (kx, ky) -> (..., N, N) array, got {type(M).__name__}."
    )


# ----------------------------------------------------------------------------- band basis


def band_bottom(H, values=None, momenta=(_k_x, _k_y)):
    """The band bottom ``E(k=0)``: the lowest eigenvalue of the Hamiltonian at k = 0.

    This is the zero of the chemical potential used throughout this module
    (ERRATA item 3: in Sec. V μ is counted from the renormalised band bottom
    ``ε1 − 2b̃²/(E_g − b)`` of Eq. F7, not from ε1).

    Parameters
    ----------
    H : callable or sympy.Matrix or Model
        ``H(kx, ky) -> (..., N, N)``, or a symbolic matrix / model together with
        ``values``.
    values : mapping, optional
        Parameter values (required for a symbolic ``H``).
    momenta : (Symbol, Symbol)
        Momentum symbols of a symbolic ``H``.

    Returns
    -------
    float
    """
    if isinstance(H, Model):
        momenta, H = H.momenta[:2], H.H
    Hf = _as_callable(H, values, momenta, "H")
    H0 = np.asarray(Hf(np.zeros(1), np.zeros(1)))
    return float(np.linalg.eigvalsh(H0)[0, 0])


@dataclass(frozen=True)
class BandTerms:
    """Band-basis pieces of the spin current at a set of k points (Eqs. 12-14).

    Attributes
    ----------
    xi : ndarray (..., N)
        Band energies ``ξ_n``, ascending.
    U : ndarray (..., N, N)
        Eigenvectors (columns), ``U = W`` of Eq. (11).
    J_diag : ndarray (..., N)
        ``(U† J U)_nn``, with ``J = ½{(1/ħ)∂H/∂k_i, S_μ}`` (Eq. 8) unless given.
    trivial : ndarray (..., N)
        ``v_{n,i} S_μ^{nn}``, first term of Eq. (14), ``v_n = (U†∂_iH U)_nn/ħ``.
    topological : ndarray (..., N)
        Second term of Eq. (14),
        ``(i/2ħ) Σ_{m≠n} (ξ_m − ξ_n)(Ω_nm S_mn − Ω_mn S_nm)``.
    Omega : ndarray (..., N, N)
        Berry connection ``Ω^i_nm = −i⟨n|∂_i m⟩ = −i (U†∂_iH U)_nm / (ξ_m − ξ_n)``
        (the definition under Eq. 12, ``Ω = −i W⁻¹∇W``). NaN on the diagonal and
        for degenerate pairs, where it is gauge dependent; such pairs contribute
        nothing to Eq. (14) because of the factor ``ξ_m − ξ_n`` (inside a
        degenerate subspace that persists in k, ``P ∂H P = ∂ξ P``).
    """

    xi: np.ndarray
    U: np.ndarray
    J_diag: np.ndarray
    trivial: np.ndarray
    topological: np.ndarray
    Omega: np.ndarray

    @property
    def residual(self):
        """``J_diag − (trivial + topological)``: zero when Eq. (14) holds."""
        return self.J_diag - self.trivial - self.topological


def _diag(U, O):
    """``(U† O U)_nn`` for stacked U and O (or a single O)."""
    return np.einsum("...an,...ab,...bn->...n", U.conj(), O, U)


def _band_diag_and_size(U, O):
    """``(U†OU)_nn`` as (n, 1, N) and the row norms ``sqrt(Σ_m |(U†OU)_nm|²)`` as (n, N)."""
    Ob = np.conj(np.swapaxes(U, -1, -2)) @ O @ U
    return (np.einsum("...nn->...n", Ob).real[:, None, :], np.sqrt(np.einsum("...nm,...nm->...n", Ob, Ob.conj()).real))


def _eq14(xi, U, dH, S, hbar, degeneracy_tol=1e-10):
    """Trivial and topological terms of Eq. (14), and Ω, from an eigen-decomposition."""
    Ub = np.conj(np.swapaxes(U, -1, -2))
    dHb = Ub @ dH @ U  # (U† ∂_i H U)_nm
    Sb = Ub @ S @ U  # S_μ in the band basis
    trivial = (np.einsum("...nn->...n", dHb) / hbar * np.einsum("...nn->...n", Sb)).real
    D = xi[..., None, :] - xi[..., :, None]  # D_nm = ξ_m − ξ_n
    scale = np.max(np.abs(xi), axis=-1)[..., None, None] + np.finfo(float).tiny
    nondeg = np.abs(D) > degeneracy_tol * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        Omega = np.where(nondeg, -1j * dHb / np.where(nondeg, D, 1.0), np.nan)
    # A_nm = (ξ_m − ξ_n) Ω_nm computed from Ω itself (not from the shortcut −i ∂H_nm),
    # zero for degenerate pairs; then term = (i/2ħ) Σ_m (A_nm S_mn + A_mn S_nm),
    # using (ξ_m − ξ_n) Ω_mn = −A_mn.
    A = np.where(nondeg, D * np.nan_to_num(Omega), 0.0)
    top = (1j / (2 * hbar)) * (np.einsum("...nm,...mn->...n", A, Sb) + np.einsum("...mn,...nm->...n", A, Sb))
    return trivial, top.real, Omega


def band_terms(H, dH, S, hbar=1.0, J=None, *, degeneracy_tol=1e-10):
    r"""Eq. (14) term by term at given k points, from the eigenvectors of ``H``.

    Parameters
    ----------
    H : array_like (..., N, N)
        Hamiltonian at the k points.
    dH : array_like (..., N, N)
        ``∂H/∂k_i`` at the same points.
    S : array_like (N, N) or (..., N, N)
        Spin operator ``S_μ`` (Eq. 7).
    hbar : float
        ħ.
    J : array_like (..., N, N), optional
        The spin-current operator; default ``½{(1/ħ)∂H/∂k_i, S_μ}`` (Eq. 8).
    degeneracy_tol : float
        Pairs with ``|ξ_m − ξ_n| <= degeneracy_tol · max|ξ|`` count as degenerate.

    Returns
    -------
    BandTerms
        ``xi, U, J_diag, trivial, topological, Omega``; Eq. (14) states
        ``J_diag = trivial + topological`` (see ``BandTerms.residual``).
    """
    H = np.asarray(H, dtype=complex)
    dH = np.asarray(dH, dtype=complex)
    S = np.asarray(S, dtype=complex)
    hbar = _real_number(hbar, "hbar")
    xi, U = np.linalg.eigh(H)
    if J is None:
        J = (dH @ S + S @ dH) / (2 * hbar)
    J_diag = _diag(U, np.asarray(J, dtype=complex)).real
    trivial, top, Omega = _eq14(xi, U, dH, S, hbar, degeneracy_tol)
    return BandTerms(xi, U, J_diag, trivial, top, Omega)


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class SpinCurrentResult:
    """Equilibrium average ``⟨j_{μ,i}⟩`` (Eq. 15 / 29) with its error estimate.

    Attributes
    ----------
    value : float
        The integral.
    error : float
        Estimated absolute error (radial halving + angular halving; conservative).
    mu : float
        Chemical potential counted from ``energy_zero``.
    T : float
        Temperature.
    energy_zero : float
        Absolute energy μ is counted from (by default the band bottom ``E(k=0)``).
    band_bottom : float
        ``E(k=0)``, lowest eigenvalue at k = 0.
    k_max : float
        Upper limit of the |k| integration.
    fermi_momenta : tuple of float
        Radial breakpoints along the k_x axis (φ = 0): at T = 0 the Fermi
        momenta of all bands, sorted.
    trivial, topological : float or None
        With ``split=True``: the two terms of Eq. (14) integrated (Eq. 15).
    trivial_error, topological_error : float or None
        Their error estimates.
    identity_residual : float or None
        With ``split=True``: ``max |J_nn − trivial_n − topological_n|`` over all
        quadrature points and bands, relative to ``max |J_nn|`` (Eq. 14 check).
    n_points : int
        Number of k points at which the Hamiltonian was diagonalised.
    """

    value: float
    error: float
    mu: float
    T: float
    energy_zero: float
    band_bottom: float
    k_max: float
    fermi_momenta: tuple
    trivial: float | None = None
    topological: float | None = None
    trivial_error: float | None = None
    topological_error: float | None = None
    identity_residual: float | None = None
    n_points: int = 0

    def __float__(self):
        """The spin current ``value``, so that the result can be used as a number."""
        return float(self.value)


# ----------------------------------------------------------------------------- integrator


class _Evaluator:
    """Evaluates ``H`` (and derived band-diagonal quantities) on batches of k points."""

    def __init__(self, H_func, diag_func, n_obs):
        self.H_func, self.diag_func, self.n_obs = H_func, diag_func, n_obs
        self.n_points = 0
        probe = np.asarray(H_func(np.zeros(2), np.zeros(2)))
        if probe.ndim != 3 or probe.shape[0] != 2 or probe.shape[1] != probe.shape[2]:
            raise ModelError(
                f"H_func(kx, ky) must return an array of shape kx.shape + (N, N); "
                f"for kx of shape (2,) it returned shape {probe.shape}. Fix: "
                f"vectorise it (e.g. with lambdify_matrix)."
            )
        self.N = probe.shape[-1]

    def H(self, kx, ky):
        H = np.asarray(self.H_func(kx, ky), dtype=complex)
        if H.shape != (*np.shape(kx), self.N, self.N):
            raise ModelError(
                f"H_func returned shape {H.shape} for k of shape {np.shape(kx)}; "
                f"expected {(*np.shape(kx), self.N, self.N)}."
            )
        return H

    def eigvalsh(self, kx, ky):
        self.n_points += np.size(kx)
        return np.linalg.eigvalsh(self.H(kx, ky))

    def integrand(self, kx, ky, level, T):
        """``Σ_n f(ξ_n) d_pn(k)`` for every observable p, and ``Σ_n f(ξ_n) ‖O_n·‖``.

        ``diag_func`` returns the band-diagonal values ``d_pn`` and a size per band,
        the norm of the row n of the operator in the band basis. The second array
        (the size of the cancelling band contributions, even where the diagonal
        vanishes, e.g. ⟨σ_z⟩ in Rashba bands) sets the round-off floor of the
        adaptive quadrature. Both have shape ``k.shape + (n_obs,)``.
        """
        out = np.empty((*np.shape(kx), self.n_obs))
        mag = np.empty_like(out)
        flat_x, flat_y = kx.reshape(-1), ky.reshape(-1)
        flat_o, flat_m = out.reshape(-1, self.n_obs), mag.reshape(-1, self.n_obs)
        for s in range(0, flat_x.size, _CHUNK):
            x, y = flat_x[s : s + _CHUNK], flat_y[s : s + _CHUNK]
            H = self.H(x, y)
            xi, U = np.linalg.eigh(H)
            d, size = self.diag_func(x, y, H, xi, U)  # (n, n_obs, N), (n, N)
            f = fermi(xi, level, T)
            flat_o[s : s + _CHUNK] = np.einsum("kpn,kn->kp", d, f)
            flat_m[s : s + _CHUNK] = np.einsum("kn,kn->k", size, f)[:, None]
        self.n_points += flat_x.size
        if not (np.all(np.isfinite(out)) and np.all(np.isfinite(mag))):
            j = int(np.nonzero(~np.isfinite(out).all(axis=-1).reshape(-1))[0][0]) if not np.all(np.isfinite(out)) else 0
            raise ModelError(
                f"the integrand is not finite at k = ({flat_x[j]:.6g}, "
                f"{flat_y[j]:.6g}); check that H_func and J_func return finite "
                f"numbers there (parameter values, divisions by zero)."
            )
        return out, mag


def _find_k_max(ev, threshold):
    """Smallest probe momentum beyond which every band lies above ``threshold``."""
    below = (ev.min(axis=-1) < threshold).any(axis=1)  # (n_probe,)
    if below[-1]:
        raise ModelError(
            f"a band stays below the occupation threshold up to |k| = "
            f"{_PROBES[-1]:.3g}: the occupied region is unbounded (or the band "
            f"bends down). Fix: pass k_max=<cutoff> explicitly."
        )
    idx = np.nonzero(below)[0]
    return float(_PROBES[0] if idx.size == 0 else _PROBES[idx[-1] + 1])


def _breakpoints(ev_fn, levels, k_max, cos, sin, n_scan):
    """Momenta along each direction where some band crosses one of ``levels``.

    Brackets sign changes of ``ξ_n(k) − L`` on a scan grid (uniform plus
    geometric towards k = 0) and bisects each to machine precision.
    Returns a list (one per direction) of sorted arrays.
    """
    grid = np.unique(np.concatenate([np.linspace(0.0, k_max, n_scan), k_max * 2.0 ** -np.arange(1, 41)]))
    ev = ev_fn(grid[:, None] * cos[None, :], grid[:, None] * sin[None, :])  # (G, P, N)
    found = [[] for _ in cos]
    for L in levels:
        neg = ev < L
        j, p, n = np.nonzero(neg[:-1] != neg[1:])  # bracket [j, j+1]
        if j.size == 0:
            continue
        a, b = grid[j].copy(), grid[j + 1].copy()
        neg_a = neg[j, p, n]
        for _ in range(200):
            if np.all(b - a <= 4 * np.finfo(float).eps * np.maximum(b, 1e-300)):
                break
            mid = 0.5 * (a + b)
            vals = ev_fn(mid * cos[p], mid * sin[p])[np.arange(mid.size), n]
            same = (vals < L) == neg_a
            a, b = np.where(same, mid, a), np.where(same, b, mid)
        for pi, r in zip(p, 0.5 * (a + b)):
            found[pi].append(r)
    return [np.unique(np.array(f)) for f in found]


def _band_integral(
    ev,
    n_obs,
    mu,
    T,
    *,
    energy_zero=None,
    k_max=None,
    n_phi=16,
    n_gauss=16,
    rtol=1e-11,
    atol=0.0,
    n_scan=256,
    max_rounds=40,
    max_segments=20000,
):
    """Core: ``∫ d²k/(2π)² Σ_n f(ξ_n − E0 − μ) d_pn(k)`` for p = 0..n_obs-1.

    Returns (values, errors, info) with values/errors arrays of length n_obs.
    """
    T = _check_T(T)
    mu = _real_number(mu, "mu")
    rtol = _real_number(rtol, "rtol")
    atol = _real_number(atol, "atol")
    if isinstance(n_phi, bool) or not isinstance(n_phi, numbers.Integral) or n_phi < 4 or n_phi % 2:
        raise ModelError(
            f"n_phi must be an even integer >= 4 (the error estimate compares n_phi with n_phi/2 nodes), got {n_phi!r}."
        )
    if isinstance(n_gauss, bool) or not isinstance(n_gauss, numbers.Integral) or n_gauss < 2:
        raise ModelError(f"n_gauss must be an integer >= 2, got {n_gauss!r}.")
    if rtol < 0 or atol < 0:
        raise ModelError(f"rtol and atol must be >= 0, got rtol={rtol!r}, atol={atol!r}.")
    for name, value, least in (("n_scan", n_scan, 2), ("max_rounds", max_rounds, 1), ("max_segments", max_segments, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise ModelError(f"{name} must be an integer >= {least}, got {value!r}.")

    E_b = float(ev.eigvalsh(np.zeros(1), np.zeros(1))[0, 0])
    E0 = E_b if energy_zero is None else _real_number(energy_zero, "energy_zero")
    level = E0 + mu
    if T == 0.0 and level < E_b:
        raise ModelError(
            f"at T = 0 the chemical potential mu = {mu:g} lies below the band bottom E(k=0) = "
            f"{E_b:g} (mu is counted from {'E(k=0)' if energy_zero is None else f'{E0:g}'}; "
            f"ERRATA 3); the paper's formulas need mu >= 0 measured from E(k=0). Fix: pass "
            f"mu >= {E_b - E0:g}, or use T > 0."
        )

    phi = 2 * np.pi * np.arange(n_phi) / n_phi
    cos, sin = np.cos(phi), np.sin(phi)
    threshold = level + _TAIL * T
    if k_max is None:
        probe = ev.eigvalsh(_PROBES[:, None] * cos[None, :], _PROBES[:, None] * sin[None, :])
        k_max = _find_k_max(probe, threshold)
    else:
        k_max = _real_number(k_max, "k_max")
        if k_max <= 0:
            raise ModelError(f"k_max must be positive, got {k_max}.")
    levels = [level] if T == 0.0 else [level + c * T for c in _T_LEVELS] + [threshold]
    breaks = _breakpoints(ev.eigvalsh, levels, k_max, cos, sin, n_scan)

    # initial segments: every direction, between consecutive breakpoints
    P, A, B = [], [], []
    for p in range(n_phi):
        pts = np.unique(np.concatenate([[0.0], breaks[p][(breaks[p] > 0) & (breaks[p] < k_max)], [k_max]]))
        P.extend([p] * (pts.size - 1))
        A.extend(pts[:-1])
        B.extend(pts[1:])
    P, A, B = np.array(P), np.array(A), np.array(B)

    x, w = np.polynomial.legendre.leggauss(int(n_gauss))

    def rule(p, a, b):
        """n_gauss-point Gauss–Legendre on [a, b] along direction p: integral and magnitude."""
        k = 0.5 * (a + b)[:, None] + 0.5 * (b - a)[:, None] * x[None, :]
        g, mag = ev.integrand(k * cos[p][:, None], k * sin[p][:, None], level, T)  # (S, G, n_obs)
        h = (0.5 * (b - a))[:, None]
        return (np.einsum("sgo,g->so", g * k[..., None], w) * h, np.einsum("sgo,g->so", mag * k[..., None], w) * h)

    # I = Σ_p c R_p with c = (2π/n_phi)/(2π)² (trapezoid weight over the (2π)² of Eq. 15)
    c = 1.0 / (2 * np.pi * n_phi)
    whole, _ = rule(P, A, B)
    I0 = c * whole.sum(axis=0)
    I_abs0 = c * np.abs(whole).sum(axis=0)
    # absolute tolerance per observable; the floor keeps components that vanish by
    # symmetry (e.g. j_{x,x}) from demanding an unreachable relative accuracy
    tol = rtol * np.maximum(np.abs(I0), 1e-3 * I_abs0) + atol
    R = np.zeros((n_phi, n_obs))
    err_rad = np.zeros(n_obs)
    mag_total = np.zeros(n_obs)
    for _ in range(max_rounds):
        if P.size == 0:
            break
        mid = 0.5 * (A + B)
        (left, m_left), (right, m_right) = rule(P, A, mid), rule(P, mid, B)
        fine = left + right
        diff = np.abs(fine - whole)
        # each segment may use its share (b − a)/(n_phi k_max) of the tolerance, but
        # need not go below round-off in its cancelling band contributions (else a
        # tiny result such as the O(α³) of Eq. 4 would be refined forever)
        allowed = np.maximum(tol[None, :] * ((B - A) / (n_phi * k_max))[:, None] / c, _ROUNDOFF * (m_left + m_right))
        done = np.all(diff <= allowed, axis=1) | (B - A <= 1e-13 * k_max)
        np.add.at(R, P[done], fine[done])
        err_rad += c * diff[done].sum(axis=0)
        mag_total += c * (m_left + m_right)[done].sum(axis=0)
        keep = ~done
        if 2 * keep.sum() > max_segments:
            # out of budget: take the finer estimate everywhere, report its difference
            np.add.at(R, P[keep], fine[keep])
            err_rad += c * diff[keep].sum(axis=0)
            mag_total += c * (m_left + m_right)[keep].sum(axis=0)
            warnings.warn(
                f"radial quadrature stopped at {max_segments} segments without "
                f"reaching rtol = {rtol:g}; the error estimate includes the "
                f"unconverged part.",
                RuntimeWarning,
                stacklevel=3,
            )
            P = P[:0]
            break
        P = np.concatenate([P[keep], P[keep]])
        A, B = np.concatenate([A[keep], mid[keep]]), np.concatenate([mid[keep], B[keep]])
        whole = np.concatenate([left[keep], right[keep]])
    if P.size:
        warnings.warn(
            f"radial quadrature not converged after {max_rounds} halvings on "
            f"{P.size} segment(s); the error estimate includes them.",
            RuntimeWarning,
            stacklevel=3,
        )
        mid = 0.5 * (A + B)
        (left, m_left), (right, m_right) = rule(P, A, mid), rule(P, mid, B)
        fine = left + right
        np.add.at(R, P, fine)
        err_rad += c * np.abs(fine - whole).sum(axis=0)
        mag_total += c * (m_left + m_right).sum(axis=0)

    value = c * R.sum(axis=0)
    half = 2 * c * R[::2].sum(axis=0)  # trapezoid with every other direction
    # round-off of the eigen-decomposition is systematic (the two rules share it), so
    # add its size: a few ulp of the cancelling band contributions ∫ Σ_n f ‖O_n·‖
    error = err_rad + np.abs(value - half) + _EIG_ROUNDOFF * mag_total
    info = dict(
        energy_zero=E0, band_bottom=E_b, k_max=k_max, mu=mu, T=T, fermi_momenta=tuple(float(v) for v in breaks[0])
    )
    return value, error, info


def spin_current_numeric(
    H_func,
    J_func,
    mu,
    T=0.0,
    *,
    k_max=None,
    n_phi=16,
    n_gauss=16,
    rtol=1e-11,
    atol=0.0,
    energy_zero=None,
    n_scan=256,
    max_rounds=40,
    max_segments=20000,
):
    r"""Equilibrium spin current ``⟨j_{μ,i}⟩`` of a band model (Eqs. 3, 15, 29).

    .. math::

        \langle j\rangle = \sum_n \int \frac{d^2k}{(2\pi)^2}\,
            f\bigl(\xi_n(\mathbf k) - E(0) - \mu\bigr)\,(U^\dagger J U)_{nn}

    Works for any Hermitian ``N×N`` model (microscopic, e.g. Eq. 33, or
    effective, e.g. Eq. 37) and any operator ``J`` (spin current, spin, torque).

    Parameters
    ----------
    H_func : callable
        ``H_func(kx, ky) -> (..., N, N)`` complex Hermitian, vectorised over
        broadcastable ``kx``, ``ky`` (see :func:`lambdify_matrix`).
    J_func : callable
        ``J_func(kx, ky) -> (..., N, N)``: the operator whose band-diagonal
        elements are averaged.
    mu : float
        Chemical potential **counted from the band bottom** ``E(k=0)`` (lowest
        eigenvalue of ``H_func`` at k = 0; ERRATA 3), unless ``energy_zero`` is given.
    T : float
        Temperature (k_B = 1), ``>= 0``.
    k_max : float, optional
        Radial cutoff. Default: found by probing ``|k| = 2^j`` (j = −40..40) for
        the last momentum at which a band lies below ``E(0) + μ + 40 T``; all
        bands must be above it beyond (bands that grow at large k).
    n_phi : int
        Even number of equidistant directions (trapezoidal rule in φ, exact for
        trigonometric polynomials of degree < n_phi).
    n_gauss : int
        Gauss–Legendre nodes per radial sub-segment.
    rtol, atol : float
        Target relative / absolute accuracy of the radial adaptive quadrature.
    energy_zero : float, optional
        Absolute energy from which ``mu`` is counted instead of ``E(k=0)``
        (e.g. ε1, to see the effect described in ERRATA 3).
    n_scan : int
        Points of the uniform scan grid used to bracket the Fermi momenta.
    max_rounds : int
        Maximum number of adaptive halvings.
    max_segments : int
        Maximum number of radial segments refined at once (bounds time and memory;
        beyond it the result is returned with a RuntimeWarning and its error).

    Returns
    -------
    SpinCurrentResult
        ``.value``, ``.error`` and the conventions used (``.band_bottom``,
        ``.energy_zero``, ``.k_max``, ``.fermi_momenta``).

    Raises
    ------
    ModelError
        (a ValueError) ``T < 0``; at ``T = 0``, ``mu`` below the band bottom; non-finite
        numbers; callables returning arrays of the wrong shape.
    """

    def diag(kx, ky, H, _xi, U):
        J = np.asarray(J_func(kx, ky), dtype=complex)
        if J.shape != H.shape:
            raise ModelError(
                f"J_func returned shape {J.shape} but H_func {H.shape}; both must be kx.shape + (N, N) with the same N."
            )
        return _band_diag_and_size(U, J)

    ev = _Evaluator(H_func, diag, 1)
    value, error, info = _band_integral(
        ev,
        1,
        mu,
        T,
        energy_zero=energy_zero,
        k_max=k_max,
        n_phi=n_phi,
        n_gauss=n_gauss,
        rtol=rtol,
        atol=atol,
        n_scan=n_scan,
        max_rounds=max_rounds,
        max_segments=max_segments,
    )
    return SpinCurrentResult(float(value[0]), float(error[0]), n_points=ev.n_points, **info)


# ----------------------------------------------------------------------------- front ends


def _check_labels(mu_comp, i):
    if mu_comp not in SPIN_COMPONENTS:
        raise ModelError(f"unknown spin component {mu_comp!r}; use one of 'x', 'y', 'z' (the μ of j_{{μ,i}}).")
    if i not in DIRECTIONS:
        raise ModelError(f"unknown current direction {i!r}; use 'x' or 'y' (the models are 2-D, the i of j_{{μ,i}}).")


def microscopic_spin_current(model, mu, T, mu_comp, i, values, split=False, **options):
    r"""Exact equilibrium spin current of a full microscopic model (Eqs. 8, 14, 15).

    Lambdifies ``model.H`` and the microscopic ``J_{μ,i} = ½{(1/ħ)∂H/∂k_i, 1⊗σ_μ}``
    (Eq. 8; the sum of the parts of :func:`symbolic_sw.operators.spin_current`)
    and integrates with :func:`spin_current_numeric`. No effective model is
    involved: for Eq. (33) this is the exact 6×6 answer to which Eq. (52) is an
    approximation.

    Parameters
    ----------
    model : Model
        E.g. ``ssw.models.samokhin_c4v()`` (Eq. 33), ``rashba_toy()`` (Eq. C1),
        ``isolated_gamma5()`` (Eq. G2).
    mu : float
        Chemical potential counted from the model's band bottom ``E(k=0)`` (ERRATA 3).
    T : float
        Temperature (k_B = 1).
    mu_comp : {"x", "y", "z"}
        Spin component μ.
    i : {"x", "y"}
        Current direction.
    values : mapping
        A number for every parameter of the model (SymPy symbols or names);
        unknown names are an error.
    split : bool
        Also integrate the two terms of Eq. (14) separately: the "trivial"
        ``v_{n,i} S_μ^{nn}`` and the "topological" interband Berry-connection term
        (Appendix C), computed from the eigenvectors with
        ``Ω^i_nm = −i (U†∂_iH U)_nm/(ξ_m − ξ_n)``. Their sum is checked against
        ``(U†JU)_nn`` at every quadrature point (``identity_residual``).
    **options
        Passed to :func:`spin_current_numeric` (``k_max``, ``n_phi``, ``rtol``, ...).

    Returns
    -------
    SpinCurrentResult
        With ``trivial``, ``topological`` (and their errors, ``identity_residual``)
        when ``split=True``.

    Raises
    ------
    ModelError
        (a ValueError) Bad ``mu_comp`` / ``i``, missing or unknown parameter values, ``T < 0``,
        ``mu < 0`` at T = 0.
    """
    if not isinstance(model, Model):
        raise ModelError(f"model must be a symbolic_sw Model, got {type(model).__name__}.")
    _check_labels(mu_comp, i)
    T = _check_T(T)
    kx_s, ky_s = model.momenta[:2]
    J = _ops.spin_current(model, mu_comp, i).matrix
    # J adds ħ even when H does not contain it
    params = (model.H.free_symbols | J.free_symbols) - set(model.momenta)
    given = _symbol_map(values, params, f"model {model.name!r}")
    _missing(params, given, f"model {model.name!r}")
    Hf = lambdify_matrix(model.H, given, (kx_s, ky_s))
    Jf = lambdify_matrix(J, given, (kx_s, ky_s))
    if not split:
        return spin_current_numeric(Hf, Jf, mu, T, **options)

    k_i = {"x": kx_s, "y": ky_s}[i]
    hbar = given[model.hbar] if model.hbar in given else 1.0
    dHf = lambdify_matrix(model.H.diff(k_i), given, (kx_s, ky_s))
    S = np.array(_ops.spin(model, mu_comp).matrix, dtype=complex)
    resid = [0.0, 0.0]  # max |J_nn − tr − top|, max |J_nn|

    def diag(kx, ky, _H, xi, U):
        Jd, size = _band_diag_and_size(U, Jf(kx, ky))
        Jd = Jd[:, 0, :]
        tr, top, _ = _eq14(xi, U, dHf(kx, ky), S, hbar)
        resid[0] = max(resid[0], float(np.max(np.abs(Jd - tr - top), initial=0.0)))
        resid[1] = max(resid[1], float(np.max(np.abs(Jd), initial=0.0)))
        return np.stack([Jd, tr, top], axis=1), size

    ev = _Evaluator(Hf, diag, 3)
    value, error, info = _band_integral(ev, 3, mu, T, **options)
    return SpinCurrentResult(
        float(value[0]),
        float(error[0]),
        trivial=float(value[1]),
        topological=float(value[2]),
        trivial_error=float(error[1]),
        topological_error=float(error[2]),
        identity_residual=resid[0] / max(resid[1], np.finfo(float).tiny),
        n_points=ev.n_points,
        **info,
    )


def effective_spin_current(H_eff, J_eff, mu, T=0.0, values=None, *, momenta=(_k_x, _k_y), **options):
    r"""Equilibrium spin current from an effective model (Eqs. 29, 49-51).

    Parameters
    ----------
    H_eff, J_eff : sympy.Matrix or callable
        Effective Hamiltonian and spin-current operator of the essential block,
        e.g. ``eff.H`` and ``eff.J[mu, i]`` (Eq. 20; exact in b for Eq. 33) or
        ``eff.J_standard[mu, i]`` (the standard definition, Eq. 2) from
        ``eff = ssw.effective(ssw.models.samokhin_c4v(), 2)``; or numeric
        callables ``(kx, ky) -> (..., N, N)``.
    mu : float
        Chemical potential counted from the band bottom ``E(k=0)`` of ``H_eff``
        (ERRATA 3: for Eq. 37 this is ``ε1 − 2b̃²/(E_g − b)``, Eq. F7).
    T : float
        Temperature (k_B = 1).
    values : mapping, optional
        Parameter values for symbolic matrices (keys: symbols or names);
        unknown names are an error.
    momenta : (Symbol, Symbol)
        Momentum symbols of symbolic matrices.
    **options
        Passed to :func:`spin_current_numeric`.

    Returns
    -------
    SpinCurrentResult
    """
    symbolic = [M for M in (H_eff, J_eff) if isinstance(M, sympy.MatrixBase)]
    if symbolic:
        params = set().union(*(M.free_symbols for M in symbolic)) - set(momenta)
        given = _symbol_map(values, params, "the effective operators")
        _missing(params, given, "the effective operators")
        values = given
    Hf = _as_callable(H_eff, values, momenta, "H_eff")
    Jf = _as_callable(J_eff, values, momenta, "J_eff")
    return spin_current_numeric(Hf, Jf, mu, T, **options)
