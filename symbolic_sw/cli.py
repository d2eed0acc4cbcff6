"""The ``symbolic-sw`` command (also ``python -m symbolic_sw``).

User mistakes (unknown derivation, bad order, unknown operator) give one line on
stderr and exit status 2; ``--help`` works on every subcommand.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import sympy

from .derivation import list_derivations, load_derivation
from .errors import ModelError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _log(line):
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def _progress(line):
    """Timing lines of real work only (a cache hit is silent)."""
    if not line.endswith(": cached"):
        _log(line)


def _cmd_list(_args):
    for name in list_derivations():
        d = load_derivation(name)
        print(f"{name:<22} order {d.order}  {d.title}")


def _cmd_derive(args):
    from .pipeline import generate

    t0 = time.perf_counter()
    out = generate(args.name, out=args.out, order=args.order, cache=not args.no_cache, log=_log)
    print(f"{out}  ({time.perf_counter() - t0:.1f} s)")


def _cmd_generate(args):
    from .pipeline import generate, generate_all

    names = args.names or list_derivations()
    t0 = time.perf_counter()
    for name in names:
        load_derivation(name)  # fail fast on a bad name, before any work
    if args.names:
        for name in names:
            print(generate(name, cache=not args.no_cache, log=_log))
    else:
        for path in generate_all(cache=not args.no_cache, log=_log):
            print(path)
    _log(f"{len(names)} derivation(s) in {time.perf_counter() - t0:.1f} s")


def _cmd_latex(args):
    from .pipeline import build

    _, files = build(args.name, order=args.order, log=_progress)
    sys.stdout.write(files["operators.tex"])


def _cmd_show(args):
    from .pipeline import build

    derived, _ = build(args.name, order=args.order, log=_progress)
    if args.operator not in derived.operators:
        raise ModelError(f"no operator {args.operator!r} in {args.name!r}; available: {', '.join(derived.operators)}.")
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
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise ModelError(f"--param takes name=number, got {pair!r}.") from None
    return out


def _cmd_current(args):
    from .certify import model_values
    from .observables import effective_spin_current, microscopic_spin_current
    from .pipeline import build, load_kernels

    derivation = load_derivation(args.name)
    if not derivation.observables:
        raise ModelError(
            f"{args.name!r} has no observables.py (spec field OBSERVABLES); derivations with "
            f"it: " + ", ".join(n for n in list_derivations() if load_derivation(n).observables)
        )
    derived, _ = build(derivation, log=_progress)
    known = [str(p) for p in derived.parameters]
    params = {**{k: v for k, v in derivation.values.items() if k in known}, **_parse_params(args.param)}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelError(f"unknown parameter(s) {', '.join(unknown)}; {args.name} has {', '.join(known)}.")
    missing = sorted(set(known) - set(params))
    if missing:
        raise ModelError(f"missing parameter(s) {', '.join(missing)}: pass --param NAME=VALUE.")
    if args.T < 0:
        raise ModelError(f"T = {args.T} < 0; the temperature must be ≥ 0.")
    folder = Path(args.generated) if args.generated else None
    try:
        obs = load_kernels(args.name, kind="observables", folder=folder)
    except ModelError:
        raise ModelError(f"generated/{args.name}/observables.py is missing: run `make generated`.") from None
    try:
        closed = obs.J_s(args.mu, args.T, **params)
        standard = obs.J_s_standard(args.mu, args.T, **params)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    K = load_kernels(args.name, folder=folder)
    eff = effective_spin_current(
        lambda kx, ky: K.H(kx, ky, **params), lambda kx, ky: K.J_x_y(kx, ky, **params), args.mu, args.T
    ).value
    rows = [("closed form (generated observables.py)", closed), ("numeric k-integral, effective model", eff)]
    model = derivation.model()
    if len(model.blocks) > 1:
        names = {str(p) for p in model.parameters}
        micro = {k: v for k, v in model_values(derivation, params).items() if k in names}
        exact = microscopic_spin_current(model, args.mu, args.T, "x", "y", micro).value
        rows.append((f"exact microscopic ({model.dim}×{model.dim})", exact))
    rows.append(("standard definition, Eq. (2) on H_eff", standard))
    print(f"<j_x,y> = -<j_y,x> for {args.name} at mu = {args.mu} (from E(k=0)), T = {args.T}")
    print("  " + ", ".join(f"{k}={v:g}" for k, v in params.items()))
    ref = rows[2][1] if len(rows) > 3 else rows[1][1]
    for label, value in rows:
        ratio = f"{value / ref:10.6f}" if ref else "      —"
        print(f"  {label:<42} {value: .10e}   ratio to {'exact' if len(rows) > 3 else 'numeric'}: {ratio}")


def _cmd_plot(args):
    from .plot import plot_bands, plot_current

    out = args.out or f"{args.name}_{args.what}.png"
    params = _parse_params(args.param)
    if args.what == "bands":
        plot_bands(args.name, out, params)
    else:
        plot_current(args.name, out, params, T=args.T)
    print(out)


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

    s = sub.add_parser("derive", help="derive one spec and write its generated/ folder")
    s.add_argument("name", help="derivation name (see `list`) or path to a spec file")
    order_arg(s)
    s.add_argument(
        "--out",
        default=None,
        help="output folder (default: generated/NAME; for a spec given by path, generated/NAME next to the spec)",
    )
    s.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    s.set_defaults(func=_cmd_derive)

    s = sub.add_parser("generate", help="regenerate generated/ for all (or the named) specs")
    s.add_argument("names", nargs="*", help="derivations (default: all)")
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
        help="parameter value (default: the spec's VALUES); repeat for several",
    )
    s.add_argument("--generated", default=None, help=argparse.SUPPRESS)
    s.set_defaults(func=_cmd_current)

    s = sub.add_parser("plot", help="bands (effective vs exact) or J_s(mu) as a PNG (needs symbolic-sw[plot])")
    s.add_argument("name")
    s.add_argument("what", choices=["bands", "current"])
    s.add_argument("--out", default=None, help="PNG file (default NAME_WHAT.png)")
    s.add_argument("--T", type=float, default=0.0, help="temperature for 'current'")
    s.add_argument("--param", action="append", metavar="NAME=VALUE", help="parameter value; repeatable")
    s.set_defaults(func=_cmd_plot)

    s = sub.add_parser(
        "check", help="certify the kernels against the exact transformation and print the fitted error exponents"
    )
    s.add_argument("name")
    s.set_defaults(func=_cmd_check)
    return p


def main(argv=None) -> int:
    """Run the ``symbolic-sw`` command line on ``argv`` (default ``sys.argv[1:]``); the exit status.

    0 on success, 2 for a model or spec error (reported on stderr), 130 when interrupted.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except ModelError as exc:
        print(f"symbolic-sw: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symbolic-sw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
