"""The ``symbolic-sw`` command (also ``python -m symbolic_sw``).

Every failure is one line on stderr, ``symbolic-sw: error: ...`` naming the
problem and the fix, never a traceback; ``--help`` works on every subcommand.
Exit status:

* 0 — done;
* 1 — ``check`` FAILED; the system refused a read or write (a full disk, a
  permission: the line names the file); or an unexpected error inside a command
  (its type and message, and "please report"; ``SYMBOLIC_SW_DEBUG=1`` shows the
  traceback instead);
* 2 — a user mistake: unknown derivation, operator or parameter, a bad spec, a
  bad value (``--mu nan``, ``--param hbar=0``, parameters at a pole), an unusable
  ``--out``;
* 130 — interrupted (Ctrl-C);
* 141 — the reader of stdout went away (``symbolic-sw show ... | head -1``): the
  command stops quietly, with the status a Unix tool killed by SIGPIPE reports
  (128 + 13, what ``set -o pipefail`` sees for ``cat file | head -1``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
import warnings
from pathlib import Path

import sympy

from .derivation import list_derivations, load_derivation
from .errors import ModelError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


#: exit status when stdout is closed early (128 + SIGPIPE), see the module docstring
EXIT_BROKEN_PIPE = 141


def _log(line):
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _progress(line):
    """Timing lines of real work only (a cache hit is silent)."""
    if not line.endswith(": cached"):
        _log(line)


def _note(line):
    """A line the user must see whatever --quiet says (e.g. a file that was not written, and why)."""
    print(f"symbolic-sw: note: {line}", file=sys.stderr, flush=True)


def _reporting(args, log=_log):
    """``(log, progress)`` for a command.

    ``--quiet`` silences both; progress lines come with ``--progress``, or by default on a
    terminal once a derivation has run for a few seconds.
    """
    from .transformation.progress import Progress

    if getattr(args, "quiet", False):
        return (lambda _line: None), None
    if getattr(args, "progress", False):
        return log, Progress(getattr(args, "name", ""))
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return log, (Progress(getattr(args, "name", ""), after=3.0) if tty else None)


def _cmd_list(_args):
    for name in list_derivations():
        d = load_derivation(name)
        print(f"{name:<22} order {d.order}  {d.title}")


def _cmd_derive(args):
    from .pipeline import generate

    t0 = time.perf_counter()
    log, progress = _reporting(args)
    out = generate(
        args.name, out=args.out, order=args.order, cache=not args.no_cache, log=log, warn=_note, progress=progress
    )
    print(f"{out}  ({time.perf_counter() - t0:.1f} s)")


def _cmd_generate(args):
    from .pipeline import generate, generate_all

    names = args.names or list_derivations()
    t0 = time.perf_counter()
    for name in names:
        load_derivation(name)  # fail fast on a bad name, before any work
    if args.names:
        for name in names:
            out = Path(args.out) / Path(name).stem if args.out else None
            print(generate(name, out=out, cache=not args.no_cache, log=_log))
    else:
        for path in generate_all(out=args.out, cache=not args.no_cache, log=_log):
            print(path)
    _log(f"{len(names)} derivation(s) in {time.perf_counter() - t0:.1f} s")


def _cmd_latex(args):
    from .pipeline.files import build_operators, render

    # the operators only: no kernels, no closed-form observables (they are not printed)
    log, progress = _reporting(args, _progress)
    derived = build_operators(args.name, order=args.order, log=log, progress=progress)
    sys.stdout.write(render(derived, only=("operators.tex",))["operators.tex"])


def _cmd_show(args):
    from .pipeline.files import build_operators

    # only the operator shown is derived (unless the whole set is cached)
    log, progress = _reporting(args, _progress)
    derived = build_operators(args.name, order=args.order, names=[args.operator], log=log, progress=progress)
    from .notation import display_form
    from .pauli import pauli_coefficients

    M = derived.operators[args.operator]
    print(f"{args.operator} ({args.name}, order {derived.order}) =")
    if M.shape != (2, 2):
        sympy.pprint(M, use_unicode=True, wrap_line=False)
        return
    gap = any(display_form(e) != e for e in M)
    for mu, c in zip("0xyz", pauli_coefficients(M)):
        if c != 0:
            print(f"\n  σ_{mu} ×")
            sympy.pprint(display_form(c), use_unicode=True, wrap_line=False)
    if gap:
        print("\n(E_g = ε₂ − ε₁)")


def _cmd_check(args):
    from .certify import certify

    t0 = time.perf_counter()
    cert = certify(args.name)
    print(f"{args.name}: kernels {cert.mode}")
    if cert.expected is not None:
        print(f"expected error exponent ≥ {cert.expected} (order {load_derivation(args.name).order})")
    print(cert.table())
    print(f"{'PASSED' if cert.passed else 'FAILED'} ({time.perf_counter() - t0:.1f} s)")
    return 0 if cert.passed else 1


def _parse_params(pairs):
    """``--param NAME=NUMBER`` pairs as ``{name: float}``: finite numbers only."""
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        try:
            if not sep or not key:
                raise ValueError
            number = float(value)
        except ValueError:
            raise ModelError(f"--param takes NAME=NUMBER, got {pair!r}. Fix: e.g. --param b=0.1.") from None
        if not math.isfinite(number):
            raise ModelError(
                f"--param {key}={value.strip()}: the value must be a finite number. Fix: e.g. --param {key}=0.1."
            )
        out[key] = number
    return out


def _temperature(T, option="--T"):
    if not math.isfinite(T):
        raise ModelError(f"{option} {T}: the temperature must be a finite number ≥ 0. Fix: e.g. {option} 0.01.")
    if T < 0:
        raise ModelError(f"T = {T} < 0; the temperature must be ≥ 0. Fix: e.g. {option} 0.01.")
    return T


def _chemical_potential(mu):
    if not math.isfinite(mu):
        raise ModelError(f"--mu {mu}: the chemical potential must be a finite number. Fix: e.g. --mu 0.2.")
    return mu


def _at_pole(name, params):
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    return ModelError(
        f"{name} at {shown}: the parameters sit at a pole of the effective model (a division by zero or a "
        f"non-finite value; e.g. a closed gap, epsilon_2 - epsilon_1 = ±b). Fix: choose values away from it."
    )


def _finite(value, name, params):
    if not math.isfinite(value):
        raise _at_pole(name, params)
    return value


def _evaluate(name, params, compute):
    """``compute()``, with the arithmetic failures of parameters at a pole as one ModelError."""
    try:
        return compute()
    except (ZeroDivisionError, OverflowError, FloatingPointError):
        raise _at_pole(name, params) from None
    except ModelError:
        raise
    except ValueError as exc:
        raise ModelError(str(exc)) from None


def _cmd_spin_hall(args):
    """σ^μ_ij of a derivation's model: exact, effective (intra + remote), standard, with ratios to exact."""
    from .certify import model_values
    from .observables import spin_hall_conductivity

    mu = _chemical_potential(args.mu)
    T = _temperature(args.T)
    derivation = load_derivation(args.name)
    model = derivation.model()
    names = {str(p) for p in model.parameters} | {str(model.hbar)}
    given = _parse_params(args.param)
    unknown = sorted(set(given) - names - set(derivation.values))
    if unknown:
        raise ModelError(f"unknown parameter(s) {', '.join(unknown)}; {args.name} has {', '.join(sorted(names))}.")
    values = {k: v for k, v in model_values(derivation, {**derivation.values, **given}).items() if k in names}
    methods = ("exact", "effective", "standard") if args.method == "all" else (args.method,)
    results = {
        method: spin_hall_conductivity(
            model, mu, T, args.spin, args.current, args.field, method=method, order=args.order, values=values
        )
        for method in methods
    }
    unit = 1 / (4 * math.pi * values.get(str(model.hbar), 1.0))
    print(
        f"sigma^{args.spin}_{args.current}{args.field} of {args.name} at mu = {mu} (from E(k=0)), T = {T}, "
        f"order {args.order} (Kubo, e = 1; 1/(4 pi hbar) = {unit:.6g})"
    )
    print("  " + ", ".join(f"{k}={v:g}" for k, v in values.items()))
    exact = results.get("exact")
    for method, r in results.items():
        parts = ("total",) if method == "standard" else ("total", "intra", "remote")
        for part in parts:
            value, error = getattr(r, part), getattr(r, "error" if part == "total" else f"{part}_error")
            ref = getattr(exact, part) if exact is not None else 0.0
            ratio = f"{value / ref:12.8f}" if ref else "           —"
            label = f"{method} {part}" if part == "total" else f"  {part}"
            took = f"   ({r.seconds:.2f} s)" if part == "total" else ""
            print(f"  {label:<18} {value: .12e} ± {error:.1e}   /exact: {ratio}{took}")


def _cmd_current(args):
    from .pipeline import build, load_kernels

    mu, T = _chemical_potential(args.mu), _temperature(args.T)
    given = _parse_params(args.param)
    derivation = load_derivation(args.name)
    if not derivation.observables:
        raise ModelError(
            f"{args.name!r} has no observables.py (spec field OBSERVABLES); derivations with "
            f"it: " + ", ".join(n for n in list_derivations() if load_derivation(n).observables)
        )
    derived, _ = build(derivation, log=_progress)
    from .pipeline.observables import coupling_warning, perturbative_values

    # defaults in the perturbative regime (couplings ≪ gap), where the closed form is meaningful
    params = perturbative_values(derived, given)
    warning = coupling_warning(derived, params)
    if warning:
        _fail(0, warning, prefix="symbolic-sw: warning: ")
    folder = Path(args.generated) if args.generated else None
    try:
        obs = load_kernels(args.name, kind="observables", folder=folder)
    except ModelError as exc:
        raise ModelError(f"the generated observables.py of {args.name} cannot be loaded: {exc}") from None
    K = load_kernels(args.name, folder=folder)
    rows = _evaluate(args.name, params, lambda: _current_rows(derivation, obs, K, mu, T, params))
    for _label, value in rows:
        _finite(value, args.name, params)
    print(f"<j_x,y> = -<j_y,x> for {args.name} at mu = {mu} (from E(k=0)), T = {T}")
    print("  " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    ref = rows[2][1] if len(rows) > 3 else rows[1][1]
    for label, value in rows:
        ratio = f"{value / ref:10.6f}" if ref else "      —"
        print(f"  {label:<42} {value: .10e}   ratio to {'exact' if len(rows) > 3 else 'numeric'}: {ratio}")


def _current_rows(derivation, obs, K, mu, T, params):
    """``[(label, J_s)]``: closed form, numeric, exact microscopic (multi-block), standard."""
    from .certify import model_values
    from .observables import effective_spin_current, microscopic_spin_current

    closed = obs.J_s(mu, T, **params)
    standard = obs.J_s_standard(mu, T, **params)
    eff = effective_spin_current(
        lambda kx, ky: K.H(kx, ky, **params), lambda kx, ky: K.J_x_y(kx, ky, **params), mu, T
    ).value
    rows = [("closed form (generated observables.py)", closed), ("numeric k-integral, effective model", eff)]
    model = derivation.model()
    if len(model.blocks) > 1:
        names = {str(p) for p in model.parameters}
        micro = {k: v for k, v in model_values(derivation, params).items() if k in names}
        exact = microscopic_spin_current(model, mu, T, "x", "y", micro).value
        rows.append((f"exact microscopic ({model.dim}×{model.dim})", exact))
    rows.append(("standard definition, Eq. (2) on H_eff", standard))
    return rows


def _cmd_plot(args):
    from . import plot

    plot._pyplot()  # a missing matplotlib is reported before any work
    T = _temperature(args.T)
    params = _parse_params(args.param)
    out = Path(args.out or f"{args.name}_{args.what}.png")
    if out.is_dir():
        raise ModelError(f"--out {out} is a folder. Fix: give a file name, e.g. --out {out / 'figure.png'}.")
    if not out.resolve().parent.is_dir():
        raise ModelError(f"--out {out}: the folder {out.parent} does not exist. Fix: create it, or choose another.")
    with warnings.catch_warnings(record=True) as caught:  # the API's warnings as one line each
        warnings.simplefilter("always", plot.LargeCouplingWarning)
        if args.what == "bands":
            _evaluate(args.name, params, lambda: plot.plot_bands(args.name, str(out), params))
        else:
            _evaluate(args.name, params, lambda: plot.plot_current(args.name, str(out), params, T=T))
    for w in caught:
        _fail(0, str(w.message), prefix="symbolic-sw: warning: ")
    print(out)


# -- sweep (issue 17) ---------------------------------------------------------------------------------


def _grid_option(text):
    """``--grid NAME=START:STOP:N`` (N evenly spaced points, START < STOP) or ``NAME=VALUE``: (name, values)."""
    import numpy as np

    from .pipeline.sweep import MAX_POINTS

    usage = "--grid takes NAME=START:STOP:N (N ≥ 2 points, START < STOP) or NAME=VALUE"
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ModelError(f"{usage}, got {text!r}. Fix: e.g. --grid mu=0.05:0.3:26.")
    fields = spec.split(":")
    if len(fields) not in (1, 3):
        raise ModelError(f"{usage}, got {text!r} ({len(fields)} fields). Fix: e.g. --grid {key}=0.05:0.3:26.")
    try:
        bounds = [float(f) for f in fields[:2]]
    except ValueError:
        raise ModelError(f"{usage}; {text!r} holds a non-number. Fix: e.g. --grid {key}=0.05:0.3:26.") from None
    if not all(math.isfinite(x) for x in bounds):
        raise ModelError(f"--grid {text}: the bounds must be finite numbers. Fix: e.g. --grid {key}=0.05:0.3:26.")
    if len(fields) == 1:
        return key, np.array(bounds[:1])
    try:
        count = int(fields[2])
    except ValueError:
        raise ModelError(f"--grid {text}: N = {fields[2]!r} is not a whole number of points. Fix: e.g. :26.") from None
    if count < 2:
        what = "no points" if count < 1 else "one point (for one value write NAME=VALUE)"
        raise ModelError(
            f"--grid {text}: N = {count} gives {what}. Fix: N ≥ 2, e.g. --grid {key}={spec[: spec.rfind(':')]}:26."
        )
    if count > MAX_POINTS:
        raise ModelError(f"--grid {text}: N = {count:,} is more than {MAX_POINTS:,} points. Fix: split the sweep.")
    if not bounds[0] < bounds[1]:
        raise ModelError(
            f"--grid {text}: START = {bounds[0]:g} is not below STOP = {bounds[1]:g}. Fix: e.g. --grid "
            f"{key}={min(bounds):g}:{max(bounds):g}:{count}."
        )
    return key, np.linspace(bounds[0], bounds[1], count)


def _fixed_option(pairs):
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        key = key.strip()
        try:
            if not sep or not key:
                raise ValueError
            number = float(value)
        except ValueError:
            raise ModelError(f"--fixed takes NAME=NUMBER, got {pair!r}. Fix: e.g. --fixed b=0.1.") from None
        if not math.isfinite(number):
            raise ModelError(f"--fixed {pair}: the value must be a finite number. Fix: e.g. --fixed {key}=0.1.")
        out[key] = number
    return out


def _output_file(option, path, example):
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{option} {path} is a folder. Fix: give a file name, e.g. {option} {path / example}.")
    if not path.resolve().parent.is_dir():
        raise ModelError(
            f"{option} {path}: the folder {path.parent} does not exist. Fix: create it, or choose another."
        )
    return path


def _cmd_sweep(args):
    """A quantity over a parameter grid on Dask, written as NetCDF (and a heat map)."""
    import tempfile

    from .pipeline.atomic import write_file
    from .pipeline.sweep import sweep, tqdm_progress

    grid = {}
    for text in args.grid or ():
        key, values = _grid_option(text)
        if key in grid:
            raise ModelError(f"--grid {key} is given twice. Fix: give each parameter once.")
        grid[key] = values
    if not grid:
        raise ModelError("a sweep needs at least one --grid NAME=START:STOP:N. Fix: e.g. --grid mu=0.05:0.3:26.")
    fixed = _fixed_option(args.fixed)
    out = _output_file("--out", args.out, "map.nc")
    png = _output_file("--plot", args.plot, "map.png") if args.plot else None
    if png is not None:
        from . import plot

        plot._pyplot()  # a missing matplotlib is reported before any work
        if len(grid) > 2:
            raise ModelError(f"--plot draws a 1-D or 2-D grid; this one has {len(grid)} axes. Fix: drop --plot.")
    if args.workers is not None and args.workers < 1:
        raise ModelError(f"--workers {args.workers}: at least one worker. Fix: e.g. --workers 2.")
    if args.scheduler is not None and args.workers is not None:
        raise ModelError("--workers sizes a local cluster; with --scheduler the cluster is yours. Fix: drop one.")
    options = {k: getattr(args, k) for k in ("method", "order", "spin", "current", "field", "definition")}
    da = sweep(
        args.quantity,
        args.name,
        grid,
        fixed,
        client=args.scheduler,
        workers=args.workers,
        progress=tqdm_progress(f"{args.quantity} {args.name}"),
        **options,
    )
    with tempfile.TemporaryDirectory() as tmp:  # netCDF4 writes to a path: stage it, then one atomic write
        staged = Path(tmp) / "sweep.nc"
        da.to_netcdf(staged, engine="netcdf4")
        write_file(out, staged.read_bytes())
    shape = " × ".join(f"{k}({da.sizes[k]})" for k in da.dims)
    _log(f"{args.quantity} of {args.name} on {shape} = {da.size} points in {da.attrs['seconds']:.1f} s")
    print(out)
    if png is not None:
        write_file(png, _sweep_figure(da))
        print(png)


def _sweep_figure(da):
    """PNG bytes: a heat map of a 2-D sweep (first axis vertical), a line for a 1-D one."""
    import io

    import numpy as np

    from . import plot

    plt = plot._pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
        if da.ndim == 2:
            y, x = da.dims
            top = float(np.abs(da.values).max())
            # a diverging map centred on 0 only when the sign changes
            signed = {"cmap": "RdBu_r", "vmin": -top, "vmax": top} if da.values.min() < 0 < da.values.max() else {}
            mesh = ax.pcolormesh(da[x].values, da[y].values, da.values, shading="auto", **signed)
            fig.colorbar(mesh, ax=ax, label=da.name)
            ax.set_xlabel(x)
            ax.set_ylabel(y)
        else:
            (x,) = da.dims
            ax.plot(da[x].values, da.values, marker=".")
            ax.set_xlabel(x)
            ax.set_ylabel(da.name)
        order = "" if da.attrs["order"] == "all" else f", order {da.attrs['order']}"
        ax.set_title(f"{da.name} of {da.attrs['model']} ({da.attrs['method']}{order})")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _sweep_parser(sub):
    s = sub.add_parser(
        "sweep", help="a quantity (J_s, sigma_sh) over a parameter grid on Dask, as NetCDF (needs symbolic-sw[sweep])"
    )
    s.add_argument("name", help="derivation name (see `list`) or path to a spec file")
    s.add_argument("quantity", help="J_s, sigma_sh, sigma_sh_intra or sigma_sh_remote")
    s.add_argument(
        "--grid",
        action="append",
        metavar="NAME=START:STOP:N",
        help="a grid axis: N points from START to STOP (or NAME=VALUE); repeatable, in the order of the axes",
    )
    s.add_argument("--fixed", action="append", metavar="NAME=VALUE", help="a parameter off the grid; repeatable")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler (tcp://host:8786)")
    s.add_argument("--workers", type=int, default=None, help="worker processes of the local cluster (default: cores)")
    s.add_argument("--out", required=True, help="the NetCDF file to write")
    s.add_argument("--plot", default=None, metavar="PNG", help="also draw a heat map (needs symbolic-sw[plot])")
    s.add_argument("--method", default=None, help="sigma_sh: exact, effective (default) or standard")
    s.add_argument("--order", type=int, default=None, help="sigma_sh: order of the transformation (default 4)")
    s.add_argument("--spin", default=None, help="spin component (J_s: x, sigma_sh: z by default)")
    s.add_argument("--current", default=None, help="direction of the spin current (J_s: y, sigma_sh: x)")
    s.add_argument("--field", default=None, help="sigma_sh: direction of the field (default y)")
    s.add_argument("--definition", default=None, help="J_s: full (Eq. 20, default) or standard (Eq. 2)")
    s.set_defaults(func=_cmd_sweep)


def _parser():
    p = _Parser(
        prog="symbolic-sw",
        description="Effective operators (H, S, T, J, δJ) of multi-orbital k·p models by the "
        "canonical transformation of Samokhin, Sigrist & Fischer (2025).",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("list", help="list the derivation specs in derivations/")
    s.set_defaults(func=_cmd_list)

    def order_arg(s):
        s.add_argument("--order", type=int, default=None, help="override the spec's ORDER (≥ 1)")
        loud = s.add_mutually_exclusive_group()
        loud.add_argument(
            "--progress",
            action="store_true",
            help="report each order and operator with the elapsed time on stderr "
            "(default: on a terminal, after a few seconds)",
        )
        loud.add_argument("--quiet", action="store_true", help="no progress or timing lines on stderr")

    s = sub.add_parser("derive", help="derive one spec and write its generated/ folder")
    s.add_argument("name", help="derivation name (see `list`) or path to a spec file")
    order_arg(s)
    s.add_argument(
        "--out",
        default=None,
        help="output folder (default: generated/NAME of the checkout, or ./generated/NAME for an installed "
        "package; for a spec given by path, generated/NAME next to the spec)",
    )
    s.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    s.set_defaults(func=_cmd_derive)

    s = sub.add_parser("generate", help="regenerate generated/ for all (or the named) specs")
    s.add_argument("names", nargs="*", help="derivations (default: all)")
    s.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write DIR/NAME for each (default: the checkout's generated/; installed: ./generated)",
    )
    s.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    s.set_defaults(func=_cmd_generate)

    s = sub.add_parser("latex", help="print a derivation's operators as LaTeX")
    s.add_argument("name")
    order_arg(s)
    s.set_defaults(func=_cmd_latex)

    s = sub.add_parser("show", help="pretty-print one effective operator")
    s.add_argument("name")
    s.add_argument("operator", help="H, S_x, T_z, J_x_y, dJ_x_y, ...")
    order_arg(s)
    s.set_defaults(func=_cmd_show)

    s = sub.add_parser("current", help="equilibrium spin current: closed form, numeric, exact, standard")
    s.add_argument("name")
    s.add_argument("--mu", type=float, required=True, help="chemical potential, counted from E(k=0)")
    s.add_argument("--T", type=float, default=0.0, help="temperature (k_B = 1), default 0")
    s.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="parameter value (default: the spec's VALUES, with the inter-block couplings scaled to "
        "0.02 × the gap, where the perturbative closed form holds); repeat for several",
    )
    s.add_argument("--generated", default=None, help=argparse.SUPPRESS)
    s.set_defaults(func=_cmd_current)

    s = sub.add_parser("spin-hall", help="spin-Hall conductivity (Kubo): exact, effective (intra + remote), standard")
    s.add_argument("name")
    s.add_argument("--mu", type=float, required=True, help="chemical potential, counted from E(k=0)")
    s.add_argument("--T", type=float, default=0.0, help="temperature (k_B = 1), default 0")
    s.add_argument("--order", type=int, default=4, help="order of the transformation (default 4)")
    s.add_argument("--method", choices=("all", "exact", "effective", "standard"), default="all")
    s.add_argument("--spin", default="z", help="spin component mu of sigma^mu_ij (default z)")
    s.add_argument("--current", default="x", help="direction i of the spin current (default x)")
    s.add_argument("--field", default="y", help="direction j of the electric field (default y)")
    s.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="parameter value (default: the spec's VALUES); repeatable",
    )
    s.set_defaults(func=_cmd_spin_hall)

    s = sub.add_parser("plot", help="bands (effective vs exact) or J_s(mu) as a PNG (needs symbolic-sw[plot])")
    s.add_argument("name")
    s.add_argument("what", choices=["bands", "current"])
    s.add_argument("--out", default=None, help="PNG file (default NAME_WHAT.png)")
    s.add_argument("--T", type=float, default=0.0, help="temperature for 'current'")
    s.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="parameter value (default as for `current`); repeatable",
    )
    s.set_defaults(func=_cmd_plot)

    _sweep_parser(sub)

    s = sub.add_parser(
        "check", help="certify the kernels against the exact transformation and print the fitted error exponents"
    )
    s.add_argument("name")
    s.set_defaults(func=_cmd_check)
    _cache_option(p, sub)
    return p


def _cache_option(parser, sub):
    """``--cache-dir DIR``, before the command or after it (every command, including later ones)."""
    text = (
        "folder of the derivation cache (default: $SYMBOLIC_SW_CACHE, else the checkout's .cache/symbolic-sw, "
        "else the user's cache folder, e.g. ~/.cache/symbolic-sw)"
    )
    parser.add_argument("--cache-dir", default=None, metavar="DIR", help=text)
    for command in sub.choices.values():  # SUPPRESS: absent after the command, the global value stays
        command.add_argument("--cache-dir", default=argparse.SUPPRESS, metavar="DIR", help=text)


def main(argv=None) -> int:
    """Run the ``symbolic-sw`` command line on ``argv`` (default ``sys.argv[1:]``); the exit status.

    0 on success; 1 for a failed ``check``, a refused read or write, or an unexpected error;
    2 for a model, spec or usage error; 130 when interrupted; 141 when stdout is closed early
    (``| head``). Every error is one line on stderr (see the module docstring).
    """
    try:
        return _run(argv)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _run(argv) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # --help and usage errors exit here (status 0 and 2)
    if args.command is None:
        parser.print_help()
        sys.stdout.flush()
        return 0
    try:
        with _cache_dir(args.cache_dir):
            code = args.func(args) or 0
        sys.stdout.flush()  # a reader that went away is noticed here, not at exit
        return code
    except BrokenPipeError:
        raise
    except ModelError as exc:
        return _fail(2, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted", prefix="symbolic-sw: ")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(
            1,
            f"{exc.strerror or exc}{where} [{type(exc).__name__}]. Fix: check the path, the permissions and "
            f"the free space.",
        )
    except Exception as exc:
        if os.environ.get("SYMBOLIC_SW_DEBUG") == "1":
            raise
        return _fail(
            1,
            f"unexpected {type(exc).__name__}: {_text(exc)} — this is a bug, please report it with the "
            f"command line (SYMBOLIC_SW_DEBUG=1 shows the traceback).",
        )


def _cache_dir(path):
    """The cache folder of ``--cache-dir`` for the command's duration (checked first: a ModelError)."""
    if path is None:
        return contextlib.nullcontext()
    from .pipeline.cache import using

    return using(path)


def _text(exc, width=300) -> str:
    """An exception's message on one line, clipped (and never failing itself)."""
    try:
        text = " ".join(str(exc).split())
    except Exception:  # e.g. a message holding an integer too long to print
        text = "(the message cannot be printed)"
    return text if len(text) <= width else text[: width - 3] + "..."


def _fail(code, message, prefix="symbolic-sw: error: "):
    """Print ``message`` as one line on stderr (a dead stderr is ignored); return ``code``."""
    line = " ".join(str(message).splitlines()) or "(no message)"
    try:
        print(prefix + line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return code


def _silence_stdout():
    """Point stdout at /dev/null, so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (captured output): nothing will be flushed to a pipe


if __name__ == "__main__":
    sys.exit(main())
