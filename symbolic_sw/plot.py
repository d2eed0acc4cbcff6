"""Figures (optional extra ``plot``: matplotlib): bands and equilibrium spin current.

``symbolic-sw plot NAME bands``: effective bands from the generated kernels against
the exact bands of the full model along k_x.  ``symbolic-sw plot NAME current``:
J_s(μ) from the closed form, the exact microscopic model and the standard
definition, on a log scale.  μ is counted from E(k = 0) (ERRATA 3).
"""

from __future__ import annotations

import warnings

import numpy as np
import sympy

from .certify import model_values
from .derivation import load_derivation, parameter_values
from .errors import ModelError
from .pipeline.observables import LargeCouplingWarning, coupling_warning, perturbative_values

__all__ = ["LargeCouplingWarning", "plot_bands", "plot_current"]


def _pyplot():
    """``matplotlib.pyplot`` (Agg backend), or a ModelError saying how to install it."""
    try:
        import matplotlib
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ModelError(
            f"plotting needs matplotlib, which cannot be imported ({exc}). "
            f"Fix: pip install 'symbolic-sw[plot]' (or pip install matplotlib)."
        ) from None
    matplotlib.use("Agg")
    return plt


def _params(derivation, params, perturbative=False):
    """The parameter values: the spec's VALUES overridden by ``params``.

    With ``perturbative``, the couplings not in ``params`` are scaled into the perturbative
    regime (:func:`~symbolic_sw.pipeline.observables.perturbative_values`), and couplings
    large compared with the gap are a :class:`LargeCouplingWarning`. Unknown names,
    missing ones, non-finite values and values against the symbols' assumptions are
    refused (:func:`~symbolic_sw.derivation.parameter_values`).
    """
    from .pipeline import build

    derived, _ = build(derivation)
    if not perturbative:
        return parameter_values(derivation, derived.parameters, params)
    values = perturbative_values(derived, params)
    warning = coupling_warning(derived, values)
    if warning:
        warnings.warn(warning, LargeCouplingWarning, stacklevel=3)
    return values


def _caption(fig, values, extra=""):
    """The parameters of a figure, as a line under it (every plot says where it was evaluated)."""
    text = ", ".join(f"{k} = {v:g}" for k, v in values.items()) + (f", {extra}" if extra else "")
    fig.text(0.5, 0.01, text, ha="center", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.04, 1, 1))


def plot_bands(name, out, params=None, k_max=0.8, n=201):
    """Effective (kernels) and exact (full model) bands along k_x; writes a PNG to ``out``."""
    from .pipeline import load_kernels

    plt = _pyplot()
    derivation = load_derivation(name)
    values = _params(derivation, params)
    K = load_kernels(name)
    k = np.linspace(-k_max, k_max, n)
    eff = np.linalg.eigvalsh(K.H(k, 0.0 * k, **values))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    model = derivation.model()
    if len(model.blocks) > 1:
        micro = model_values(derivation, values)
        syms = sorted(model.H.free_symbols, key=str)
        f = sympy.lambdify(syms, model.H, "numpy")
        exact = np.array(
            [
                np.linalg.eigvalsh(
                    np.array(
                        f(**{str(s): micro.get(str(s), kk if str(s) == "k_x" else 0.0) for s in syms}), dtype=complex
                    )
                )
                for kk in k
            ]
        )
        for j in range(exact.shape[1]):
            ax.plot(k, exact[:, j], color="0.6", lw=2.5, label="exact (full model)" if j == 0 else None)
    for j in range(eff.shape[1]):
        ax.plot(k, eff[:, j], "--", color="C0", lw=1.5, label=f"effective, order {K.ORDER}" if j == 0 else None)
    lo, hi = eff.min(), eff.max()
    ax.set_ylim(lo - 0.2 * (hi - lo + 1e-9), hi + 0.4 * (hi - lo + 1e-9))
    ax.set_xlabel("$k_x$")
    ax.set_ylabel("energy")
    ax.set_title(f"{name}: bands along $k_x$ ($k_y = 0$)")
    ax.legend(loc="upper center")
    _caption(fig, values)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_current(name, out, params=None, mus=None, T=0.0):
    """J_s(μ): closed form, exact microscopic (where a full model exists), standard; log scale.

    Parameters not in ``params`` are the spec's VALUES with the couplings scaled into the
    perturbative regime (:func:`~symbolic_sw.pipeline.observables.perturbative_values`);
    couplings large compared with the gap warn (:class:`LargeCouplingWarning`). The
    parameters are printed under the figure.
    """
    from .observables import microscopic_spin_current
    from .pipeline import load_kernels

    plt = _pyplot()
    derivation = load_derivation(name)
    if not derivation.observables:
        raise ModelError(f"{name!r} has no observables.py (spec field OBSERVABLES).")
    values = _params(derivation, params, perturbative=True)
    O = load_kernels(name, kind="observables")
    # from μ = 0.05: below it the expansion in |γ|/μ (Eq. 49) loses accuracy faster
    mus = np.geomspace(0.05, 0.6, 12) if mus is None else np.asarray(mus)
    closed = np.array([O.J_s(mu, T, **values) for mu in mus])
    standard = np.array([O.J_s_standard(mu, T, **values) for mu in mus])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    model = derivation.model()
    if len(model.blocks) > 1:
        names = {str(p) for p in model.parameters}
        micro = {k: v for k, v in model_values(derivation, values).items() if k in names}
        exact = np.array([microscopic_spin_current(model, mu, T, "x", "y", micro).value for mu in mus])
        ax.loglog(mus, np.abs(exact), "o", color="0.3", label=f"exact ({model.dim}×{model.dim})")
    ax.loglog(mus, np.abs(closed), "-", color="C0", label=f"closed form ({name})")
    ax.loglog(mus, np.abs(standard), "--", color="C3", label="standard definition, Eq. (2)")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"$\mu$ (from $E(k=0)$)")
    ax.set_ylabel(r"$|J_s| = |\langle j_{x,y}\rangle|$")
    ax.set_title(f"{name}: equilibrium spin current, T = {T:g}")
    ax.legend()
    _caption(fig, values, f"T = {T:g}")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
