r"""Parameter sweeps on Dask: a quantity of a derivation over a grid of parameter points, as an ``xarray.DataArray``.

>>> import numpy as np, symbolic_sw as ssw
>>> da = ssw.sweep("J_s", "samokhin_c4v", grid={"mu": np.linspace(0.05, 0.3, 26),
...                "b_tilde": np.linspace(0.01, 0.1, 10)}, fixed={"b": 0.1})  # doctest: +SKIP

Quantities (:data:`QUANTITIES`):

``"J_s"``
    The equilibrium spin current ``⟨j_{μ,i}⟩`` of a derivation in closed form
    (Eqs. 49-52, :func:`symbolic_sw.pipeline.equilibrium_spin_current`; the effective
    current of Eq. 20 with δJ, or ``definition="standard"``: Eq. 2). Each task
    evaluates it on a whole chunk of points at once: the closed form is turned into a
    NumPy function once per worker process, the Fermi–Dirac integrals
    ``Li_s(−e^{μ/T})`` evaluated by stable real formulas (``s = 1, 2``; mpmath
    otherwise) and the ``T = 0`` points by the closed form's ``T = 0`` limit.
``"sigma_sh"``, ``"sigma_sh_intra"``, ``"sigma_sh_remote"``
    The intrinsic spin-Hall conductivity ``σ^μ_ij`` (Kubo) of the derivation's model
    and its intra / remote-band parts (:func:`symbolic_sw.observables.spin_hall_conductivity`;
    options ``method``, ``order``, ``spin``, ``current``, ``field``), one adaptive
    integral per point.

Only names and numbers cross to the workers: a task is ``(quantity, derivation name or
spec path, options, fixed values, grid names, a block of points)``; each worker process
loads the spec and builds its evaluator itself (from the disk cache) and keeps it for
the next tasks. No expression is pickled, and no user text is evaluated.

Parameters: ``mu`` (counted from the band bottom ``E(k = 0)``, ERRATA 3), ``T`` (default
0) and the model's parameters, whose default values are the spec's ``VALUES``; ``fixed``
overrides them and ``grid`` spans the sweep.
"""

from __future__ import annotations

import functools
import itertools
import math
import numbers
import os
import sys
import time
from pathlib import Path

import numpy as np
import sympy

from ..derivation import DERIVATIONS, Derivation, list_derivations, load_derivation
from ..errors import ModelError
from ..observables.spin_hall import register_model_resolver

__all__ = ["QUANTITIES", "SWEEP_EXTRA", "evaluate_points", "sweep"]

#: the quantities a sweep computes
QUANTITIES = ("J_s", "sigma_sh", "sigma_sh_intra", "sigma_sh_remote")
#: how to install what a distributed sweep needs
SWEEP_EXTRA = "pip install 'symbolic-sw[sweep]'"
#: largest grid (per axis and in all): 10⁷ points are ~3 s of J_s and 80 MB of result
MAX_POINTS = 10**7
_PARTS = {"sigma_sh": "total", "sigma_sh_intra": "intra", "sigma_sh_remote": "remote"}
#: options of each quantity and their defaults (``spin``, ``current``: the μ, i of ⟨j_{μ,i}⟩ or σ^μ_ij)
_OPTIONS = {
    "J_s": {"definition": "full", "spin": "x", "current": "y"},
    "sigma_sh": {"method": "effective", "order": 4, "spin": "z", "current": "x", "field": "y"},
}


def _dask():
    """``dask.distributed``, or one ModelError naming the extra to install."""
    try:
        import dask.distributed
        import xarray  # noqa: F401  (both are needed: fail before any work)
    except ImportError as exc:
        raise ModelError(
            f"sweeps need dask[distributed] and xarray, which cannot be imported ({exc}). Fix: {SWEEP_EXTRA}."
        ) from None
    return dask.distributed


def _xarray():
    try:
        import xarray
    except ImportError as exc:
        raise ModelError(
            f"sweeps return an xarray.DataArray; xarray cannot be imported ({exc}). Fix: {SWEEP_EXTRA}."
        ) from None
    return xarray


# ----------------------------------------------------------------------------- evaluators (built on the workers)


def _source_ref(model):
    """``(derivation, ref)``: the reference a worker loads the spec by (its name, or its file's absolute path)."""
    if isinstance(model, Derivation):
        derivation = model
    elif isinstance(model, (str, os.PathLike)):
        derivation = load_derivation(os.fspath(model))
    else:
        raise ModelError(
            f"a sweep takes a derivation name, a spec path or a Derivation, got {type(model).__name__}: the "
            f"workers load the model by name, so that no expression is pickled. Fix: pass e.g. "
            f'"samokhin_c4v" or a path to your spec file.'
        )
    shipped = derivation.path.resolve() == (Path(DERIVATIONS) / f"{derivation.name}.py").resolve()
    return derivation, derivation.name if shipped else str(derivation.path.resolve())


class _Fermi(sympy.Function):
    """``Li_s(−e^a)`` as a function of the exponent ``a`` (never overflows, unlike ``e^a``)."""

    nargs = 2


def _fermi_polylog(s, a):
    """``Li_s(−e^a)`` for real arrays ``a``: closed formulas for s = 1, 2, mpmath for other s."""
    a = np.asarray(a, dtype=float)
    if s == 1:
        return -np.logaddexp(0.0, a)  # −log(1 + e^a), without overflow or cancellation
    if s == 2:
        # inversion Li2(−e^a) = −π²/6 − a²/2 − Li2(−e^−a) for a > 0, so that x = e^−|a| ≤ 1; then
        # Li2(−x) = Σ B_n u^(n+1)/(n+1)!, u = −log(1 + x) ∈ [−log 2, 0]: terms fall as (u/2π)^n
        u = -np.log1p(np.exp(-np.abs(a)))
        low = np.zeros_like(u)
        for c in reversed(_LI2_COEFFICIENTS):  # Horner in u
            low = (low + c) * u
        return np.where(a > 0, -(math.pi**2) / 6 - 0.5 * a * a - low, low)
    import mpmath

    def one(x):
        with mpmath.workdps(30):  # log(1 + z) for tiny z loses every digit at 15
            return float(mpmath.polylog(s, -mpmath.exp(x)))

    return np.asarray(np.frompyfunc(one, 1, 1)(a), dtype=float)


#: B_n/(n+1)! for n = 0 .. 24 (B_1 = −1/2): the series of Li2 in u = −log(1 − z)
_LI2_COEFFICIENTS = tuple(
    float(sympy.Rational(-1, 2) if n == 1 else sympy.bernoulli(n)) / math.factorial(n + 1) for n in range(25)
)
#: functions a closed form may hold, with their NumPy equivalents (anything else is refused)
_ALLOWED = {sympy.exp, sympy.log, sympy.Abs, sympy.sign, sympy.sin, sympy.cos, sympy.atan, sympy.atan2, _Fermi}


def _vectorise(expr, args):
    """A NumPy function of ``args`` for a closed form (its symbols replaced by dummies: no name is printed)."""
    expr = expr.replace(
        lambda e: (
            isinstance(e, sympy.polylog)
            and isinstance(e.args[1], sympy.Mul)
            and e.args[1].could_extract_minus_sign()
            and isinstance(-e.args[1], sympy.exp)
        ),
        lambda e: _Fermi(e.args[0], (-e.args[1]).args[0]),
    )
    bad = sorted({type(f).__name__ for f in expr.atoms(sympy.Function) if type(f) not in _ALLOWED})
    if bad:
        raise ModelError(
            f"the closed form holds {', '.join(bad)}, which a sweep cannot evaluate on arrays. Fix: sweep "
            f"sigma_sh, or evaluate the generated observables.py point by point."
        )
    return sympy.lambdify(args, expr, modules=[{"_Fermi": _fermi_polylog}, "numpy"], dummify=True)


class _SpinCurrent:
    """``⟨j_{μ,i}⟩`` in closed form, vectorised; ``T = 0`` points by the closed form's T = 0 limit."""

    def __init__(self, derivation, definition, spin, current):
        from .files import build_operators

        # the two operators the closed form needs (a whole cached set when there is one; no files rendered)
        derived = build_operators(derivation, names=["H", f"J_{spin}_{current}"])
        if derived.shape != (2, 2):
            raise ModelError(
                f"J_s is the closed form of 2×2 effective operators; {derivation.name} has {derived.shape}. "
                f"Fix: sweep sigma_sh, or a derivation with a 2×2 H_eff."
            )
        self.derivation, self.order, self.method = derivation, derived.order, "closed_form"
        self.symbols = {str(p): p for p in derived.parameters}
        self.names = tuple(self.symbols)
        self._derived, self._options, self._forms = derived, (spin, current, definition), {}

    def _form(self, zero):
        """The NumPy closed form at T > 0 or its T = 0 limit, derived at first use (the client never needs it)."""
        if zero not in self._forms:
            from ..observables.closed_form import T, mu
            from .observables import equilibrium_spin_current

            spin, current, definition = self._options
            extra = {"T_": 0} if zero else {}
            form = equilibrium_spin_current(self._derived, spin, current, definition=definition, **extra)
            self._forms[zero] = _vectorise(form, (mu, T, *self._derived.parameters))
        return self._forms[zero]

    def defaults(self):
        return {k: float(v) for k, v in self.derivation.values.items() if k in self.symbols}

    def __call__(self, columns):
        """Values at the points ``columns`` (name → 1-D array; mu, T and every parameter)."""
        mu, T = columns["mu"], columns["T"]
        out = np.empty(mu.shape)
        for mask, zero in ((T > 0, False), (T == 0, True)):
            if mask.any():
                sub = [columns[k][mask] for k in ("mu", "T", *self.names)]
                with np.errstate(all="ignore"):
                    out[mask] = np.broadcast_to(self._form(zero)(*sub), mask.sum())
        return out


class _SpinHall:
    """``σ^μ_ij`` (or its intra / remote part) of the derivation's model, one adaptive integral per point."""

    def __init__(self, derivation, part, method, order, spin, current, field):
        from ..certify import model_values
        from ..observables.spin_hall import spin_hall_conductivity

        self.model = derivation.model()
        self.derivation, self.part, self.method, self.order = derivation, part, method, order
        self.options = {"spin": spin, "current": current, "field": field, "method": method, "order": order}
        self.symbols = {str(p): p for p in (*self.model.parameters, self.model.hbar)}
        self.names = tuple(self.symbols)
        self._values = model_values
        self._sigma = spin_hall_conductivity

    def defaults(self):
        values = self._values(self.derivation, dict(self.derivation.values))
        return {k: float(v) for k, v in values.items() if k in self.symbols}

    def __call__(self, columns):
        out = np.empty(columns["mu"].shape)
        for n in range(out.size):
            values = {k: float(columns[k][n]) for k in self.names}
            r = self._sigma(self.model, float(columns["mu"][n]), float(columns["T"][n]), values=values, **self.options)
            out[n] = getattr(r, self.part)
        return out


@functools.lru_cache(maxsize=8)
def _evaluator(quantity, ref, options):
    """The evaluator of a plan, built once per process (``options``: sorted (name, value) pairs)."""
    derivation = load_derivation(ref)
    options = dict(options)
    if quantity == "J_s":
        return _SpinCurrent(derivation, **options)
    return _SpinHall(derivation, _PARTS[quantity], **options)


def evaluate_points(plan, fixed, axes, start, stop):
    """The quantity at the points ``start:stop`` of the grid (C order) — the task a worker runs.

    Parameters
    ----------
    plan : tuple
        ``(quantity, ref, options)``: names and numbers only.
    fixed : dict
        ``{name: float}``, every parameter off the grid (mu, T included).
    axes : dict
        ``{name: 1-D array}``, the grid (its axes only: a task never carries the points).
    start, stop : int
        Flat indices of the block of points.

    Returns
    -------
    ndarray, shape (stop - start,)
    """
    f = _evaluator(*plan)
    n = stop - start
    index = np.unravel_index(np.arange(start, stop), tuple(len(a) for a in axes.values()))
    columns = {k: np.full(n, v, dtype=float) for k, v in fixed.items()}
    columns.update({k: np.asarray(a, dtype=float)[i] for (k, a), i in zip(axes.items(), index)})
    return f(columns)


def _derivation_model(source):
    """``(Model, default values)`` of a derivation for :func:`~symbolic_sw.observables.spin_hall_conductivity`.

    ``None`` for what is not a derivation (a Model, a model factory's name that names no spec).
    """
    from ..certify import model_values

    if isinstance(source, Derivation):
        derivation = source
    elif isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if not text.endswith(".py") and text not in list_derivations():
            return None
        derivation = load_derivation(text)
    else:
        return None
    model = derivation.model()
    names = {str(p) for p in (*model.parameters, model.hbar)}
    values = model_values(derivation, dict(derivation.values))
    return model, {k: v for k, v in values.items() if k in names}


register_model_resolver(_derivation_model)


# ----------------------------------------------------------------------------- checks


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ModelError(f"{where} must be a real number, got {value!r} ({type(value).__name__}). Fix: pass a float.")
    value = float(value)
    if not math.isfinite(value):
        raise ModelError(f"{where} = {value!r} is not finite. Fix: pass a finite number.")
    return value


def _grid_axis(name, values):
    """A grid axis as a 1-D float array: real, finite, at least one point."""
    if isinstance(values, (str, bytes)):
        raise ModelError(f"grid[{name!r}] is text ({values!r}); it must be numbers. Fix: e.g. [0.1, 0.2].")
    if not isinstance(values, np.ndarray):
        try:
            # at most MAX_POINTS + 1 items: range(10**12) is refused, not materialised
            values = list(itertools.islice(iter(values), MAX_POINTS + 1))
        except TypeError:
            raise ModelError(
                f"grid[{name!r}] must be a sequence of numbers, got {values!r}. Fix: e.g. np.linspace(0.05, 0.3, 26)."
            ) from None
    objects = np.asarray(values, dtype=object)
    if objects.ndim != 1:
        raise ModelError(f"grid[{name!r}] must be one-dimensional, got shape {objects.shape}. Fix: a 1-D sequence.")
    array = np.asarray([_number(v, f"grid[{name!r}] value") for v in objects], dtype=float)
    if array.size == 0:
        raise ModelError(f"grid[{name!r}] has no points. Fix: give at least one value.")
    if array.size > MAX_POINTS:
        raise ModelError(f"grid[{name!r}] has more than {MAX_POINTS:,} points. Fix: split the sweep into parts.")
    return array


def _options(quantity, given):
    base = "sigma_sh" if quantity in _PARTS else quantity
    allowed = _OPTIONS[base]
    extra = sorted(k for k, v in given.items() if v is not None and k not in allowed)
    if extra:
        raise ModelError(
            f"{quantity} takes no option {', '.join(extra)}; its options are {', '.join(allowed)}. Fix: drop it."
        )
    options = {k: (given[k] if given.get(k) is not None else v) for k, v in allowed.items()}
    if base == "J_s":
        if options["definition"] not in ("full", "standard"):
            raise ModelError(
                f"definition must be 'full' or 'standard', got {options['definition']!r}. Fix: definition='full'."
            )
        if options["spin"] not in ("x", "y", "z") or options["current"] not in ("x", "y"):
            raise ModelError(
                f"⟨j_{{{options['spin']},{options['current']}}}⟩ is not a spin-current component: spin is x, y or z "
                f"and current x or y. Fix: e.g. spin='x', current='y'."
            )
    else:
        from ..observables.spin_hall import METHODS

        if options["method"] not in METHODS:
            raise ModelError(
                f"unknown method {options['method']!r}; use one of {', '.join(METHODS)}. Fix: e.g. method='effective'."
            )
        order = options["order"]
        if isinstance(order, bool) or not isinstance(order, numbers.Integral) or order < 1:
            raise ModelError(f"order must be an integer ≥ 1, got {order!r}. Fix: e.g. order=4.")
        options["order"] = int(order)
        if (
            options["spin"] not in ("x", "y", "z")
            or options["current"] not in ("x", "y")
            or options["field"]
            not in (
                "x",
                "y",
            )
        ):
            raise ModelError(
                f"σ^{options['spin']}_{options['current']}{options['field']} is not a component: spin is x, y or z, "
                f"current and field x or y. Fix: e.g. spin='z', current='x', field='y'."
            )
    return base, options


def _parameters(quantity, evaluator, grid, fixed):
    """``(fixed values of every non-grid parameter, grid axes)``, checked against the evaluator's parameters."""
    known = ("mu", "T", *evaluator.names)
    if not isinstance(grid, dict) or not grid:
        raise ModelError(
            f"grid must be a non-empty dict {{name: values}}, got {grid!r}. Fix: e.g. grid={{'mu': [...]}}."
        )
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, dict):
        raise ModelError(
            f"fixed must be a dict {{name: number}}, got {type(fixed).__name__}. Fix: e.g. fixed={{'b': 0.1}}."
        )
    for where, names in (("grid", grid), ("fixed", fixed)):
        unknown = [k for k in names if not isinstance(k, str) or k not in known]
        if unknown:
            raise ModelError(
                f"unknown parameter {unknown[0]!r} in {where} for {quantity} of {evaluator.derivation.name}; the "
                f"parameters are {', '.join(known)}. Fix: use one of these names."
            )
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ModelError(f"{both[0]} is both on the grid and fixed. Fix: give it in one of them.")
    axes = {k: _grid_axis(k, v) for k, v in grid.items()}
    total = math.prod(a.size for a in axes.values())
    if total > MAX_POINTS:
        raise ModelError(
            f"the grid has {total:,} points, more than {MAX_POINTS:,} (the result alone would take "
            f"{8 * total / 1e9:.1f} GB). Fix: split the sweep into parts or use fewer points per axis."
        )
    values = {"T": 0.0, **evaluator.defaults(), **{k: _number(v, f"fixed[{k!r}]") for k, v in fixed.items()}}
    missing = [k for k in known if k not in values and k not in axes]
    if missing:
        raise ModelError(
            f"no value for {', '.join(missing)} ({evaluator.derivation.name}'s VALUES do not give it). Fix: add "
            f"fixed={{{missing[0]!r}: ...}} or put it on the grid."
        )
    for name in known:
        column = axes[name] if name in axes else np.array([values[name]])
        symbol = evaluator.symbols.get(name)
        if (name == "T" or (symbol is not None and symbol.is_nonnegative)) and (column < 0).any():
            raise ModelError(f"{name} must be ≥ 0, got {column.min():g}. Fix: non-negative values only.")
        if symbol is not None and symbol.is_positive and (column <= 0).any():
            raise ModelError(f"{name} must be > 0, got {column.min():g}. Fix: positive values only.")
    if quantity == "J_s":
        mu = axes["mu"] if "mu" in axes else np.array([values["mu"]])
        T = axes["T"] if "T" in axes else np.array([values["T"]])
        if (T == 0).any() and (mu < 0).any():
            raise ModelError(
                f"mu = {mu.min():g} < 0 at T = 0: below the band bottom E(k=0) the T = 0 closed form does not "
                f"hold. Fix: mu ≥ 0 at T = 0 (or T > 0)."
            )
    return {k: v for k, v in values.items() if k in known and k not in axes}, axes


# ----------------------------------------------------------------------------- the sweep


def _client(dd, client, workers):
    """``(client, owned)``: the client to use, and what this sweep opened (closed afterwards, in order)."""
    if client is None:
        n = workers or os.cpu_count() or 1
        cluster = dd.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        )
        c = dd.Client(cluster)
        return c, (c, cluster)
    if isinstance(client, str):
        try:
            c = dd.Client(client, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ModelError(
                f"cannot reach the Dask scheduler at {client!r} ({exc}). Fix: start it (dask scheduler) and "
                f"pass its address, e.g. tcp://host:8786."
            ) from None
        return c, (c,)  # the client only: the cluster is someone else's
    if isinstance(client, dd.Client):
        return client, ()
    raise ModelError(
        f"client must be None, 'synchronous', a scheduler address or a dask.distributed.Client, got "
        f"{type(client).__name__}. Fix: pass client=None (a local cluster)."
    )


def sweep(
    quantity,
    model,
    grid,
    fixed=None,
    client=None,
    *,
    method=None,
    order=None,
    spin=None,
    current=None,
    field=None,
    definition=None,
    workers=None,
    chunk=None,
    progress=None,
):
    """A quantity over a grid of parameter points, computed with Dask, as an ``xarray.DataArray``.

    Parameters
    ----------
    quantity : {"J_s", "sigma_sh", "sigma_sh_intra", "sigma_sh_remote"}
        The equilibrium spin current in closed form (Eqs. 49-52), or the spin-Hall
        conductivity (Kubo) and its parts; see the module docstring.
    model : str, path or Derivation
        A shipped derivation's name (``"samokhin_c4v"``) or a spec file: the workers load it
        themselves.
    grid : dict
        ``{name: 1-D values}``: ``mu`` (from the band bottom E(k=0)), ``T`` or any parameter.
        The result's dimensions, in this order.
    fixed : dict, optional
        ``{name: number}`` for parameters off the grid; the others take the spec's ``VALUES``
        (``T`` defaults to 0).
    client : None, "synchronous", str or dask.distributed.Client
        ``None``: a local cluster of ``workers`` processes (default one per core, one thread
        each), closed afterwards (its workers are spawned processes: in a script, call ``sweep``
        under ``if __name__ == "__main__":``). A scheduler address (``"tcp://host:8786"``) or a ``Client``:
        that cluster, left open. ``"synchronous"``: in this process, without Dask (the same
        tasks, the same numbers).
    method, order, spin, current, field : optional
        Options of ``sigma_sh`` (defaults "effective", 4, "z", "x", "y"); ``spin``, ``current``
        are also the μ, i of ``J_s = ⟨j_{μ,i}⟩`` (default x, y), with ``definition`` "full"
        (Eq. 20, with δJ) or "standard" (Eq. 2).
    workers : int, optional
        Worker processes of the local cluster (``client=None``).
    chunk : int, optional
        Points per task (default: J_s in about 16 tasks of ≥ 64 points, sigma_sh one point per task).
    progress : callable, optional
        ``progress(done, total)`` after each finished task.

    Returns
    -------
    xarray.DataArray
        Dimensions the grid's keys, coordinates their values; ``attrs``: ``quantity``,
        ``model``, ``method`` (``"closed_form"`` for J_s), ``order`` (``"all"`` for the exact
        method), the options, every parameter off the grid, and ``seconds``.

    Raises
    ------
    ModelError
        Unknown quantity, option or parameter; a bad grid (empty, non-numeric, not finite,
        against a parameter's sign); dask or xarray missing; a scheduler not reachable; a
        non-finite value (parameters at a pole).
    """
    started = time.perf_counter()
    if quantity not in QUANTITIES:
        raise ModelError(f"unknown quantity {quantity!r}; a sweep computes {', '.join(QUANTITIES)}. Fix: use one.")
    given = {"method": method, "order": order, "spin": spin, "current": current, "field": field}
    given["definition"] = definition
    base, options = _options(quantity, given)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or chunk < 1):
        raise ModelError(f"chunk must be an integer ≥ 1, got {chunk!r}. Fix: e.g. chunk=1024.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1):
        raise ModelError(f"workers must be an integer ≥ 1, got {workers!r}. Fix: e.g. workers=2.")
    if workers is not None and client is not None:
        raise ModelError("workers sizes the local cluster of client=None; this client has its own. Fix: drop one.")
    synchronous = isinstance(client, str) and client == "synchronous"
    xr = _xarray() if synchronous else (_dask(), _xarray())[1]
    derivation, ref = _source_ref(model)
    plan = (quantity, ref, tuple(sorted(options.items())))
    evaluator = _evaluator(*plan)  # here too: checks the names, and the synchronous path runs it
    values, axes = _parameters(quantity, evaluator, grid, fixed)
    names = tuple(axes)
    total = math.prod(a.size for a in axes.values())
    # J_s: about 16 tasks (a few per worker, so a lost worker costs little), each one NumPy call of ≥ 64 points
    size = int(chunk or (min(max(-(-total // 16), 64), 65536) if base == "J_s" else 1))
    blocks = [(s, min(s + size, total)) for s in range(0, total, size)]
    if synchronous:
        if progress:
            progress(0, len(blocks))
        results = []
        for n, (start, stop) in enumerate(blocks, 1):
            results.append(evaluate_points(plan, values, axes, start, stop))
            if progress:
                progress(n, len(blocks))
    else:
        results = _distributed(client, workers, plan, values, axes, blocks, progress)
    data = np.concatenate(results).reshape(tuple(a.size for a in axes.values()))
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        where = ", ".join(f"{k}={axes[k][i]:g}" for k, i in zip(names, bad[0]))
        raise ModelError(
            f"{quantity} of {derivation.name} is not finite at {where} ({len(bad)} point(s)): the parameters sit at "
            f"a pole (e.g. a closed gap). Fix: move the grid away from it."
        )
    attrs = {
        "quantity": quantity,
        "model": derivation.name,
        "method": evaluator.method,
        # the exact method has no order (netCDF attributes cannot be None)
        "order": "all" if evaluator.method == "exact" else int(evaluator.order),
        **{k: v for k, v in options.items() if k not in ("method", "order")},
        **values,
        "seconds": time.perf_counter() - started,
    }
    return xr.DataArray(data, dims=names, coords=dict(axes), name=quantity, attrs=attrs)


def _distributed(client, workers, plan, values, axes, blocks, progress):
    """The blocks' values from Dask workers, in order; a local cluster started here is closed here."""
    dd = _dask()
    client, owned = _client(dd, client, workers)
    futures = []
    try:
        if progress:
            progress(0, len(blocks))
        # each task carries the grid's axes, not its points (kilobytes for a million points), and
        # nothing scattered: a task whose worker died is rerun from the graph alone
        futures = [client.submit(evaluate_points, plan, values, axes, a, b, pure=False) for a, b in blocks]
        if progress:
            for n, _ in enumerate(dd.as_completed(futures), 1):
                progress(n, len(blocks))
        return client.gather(futures)
    except BaseException:
        if futures:
            client.cancel(futures)
        raise
    finally:
        for thing in owned:
            thing.close()


def tqdm_progress(label):
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr (or nothing without tqdm)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bar = {}

    def update(done, total):
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="task", file=sys.stderr, leave=True)
        bar["bar"].update(done - bar["bar"].n)
        if done == total and done:
            bar["bar"].close()

    return update
