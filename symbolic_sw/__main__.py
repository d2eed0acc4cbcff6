"""``python -m symbolic_sw [NAME]``: run a derivation spec from ``derivations/`` and print it."""

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import sympy

from . import effective, models
from .model import ModelError

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"


def load_spec(name):
    path = Path(name) if name.endswith(".py") else DERIVATIONS / f"{name}.py"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in DERIVATIONS.glob("*.py")))
        raise ModelError(f"no derivation {name!r}; known: {known}")
    spec = importlib.util.spec_from_file_location(f"derivation_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="symbolic-sw",
        description="Run a derivation spec (default: Eq. 33 at order 2, exact in b) and print "
                    "the effective operators.")
    parser.add_argument("name", nargs="?", default="samokhin_c4v", help="derivation in derivations/")
    parser.add_argument("--order", type=int, default=None, help="override the spec's order")
    args = parser.parse_args(argv)
    try:
        spec = load_spec(args.name)
        order = args.order if args.order is not None else spec.ORDER
        model = getattr(models, spec.MODEL)(**spec.MODEL_OPTIONS)
        t0 = time.perf_counter()
        eff = effective(model, order=order)
        H = eff.H
    except ModelError as exc:
        print(f"symbolic-sw: error: {exc}", file=sys.stderr)
        return 2

    def show(label, M):
        print(f"\n{label} =")
        sympy.pprint(M, use_unicode=True, wrap_line=False)

    print(f"{spec.__doc__.strip()}\norder {order}; gap factors: "
          + ", ".join(map(str, eff.gap_factors)))
    show("H_eff", H)
    for mu in "xyz":
        if "S" in spec.OPERATORS:
            show(f"S_eff[{mu}]", eff.S[mu])
        if "T" in spec.OPERATORS:
            show(f"T_eff[{mu}]", eff.T[mu])
    for key in eff.J:
        if "J" in spec.OPERATORS:
            show(f"J_eff[{key[0]},{key[1]}]", eff.J[key])
        if "dJ" in spec.OPERATORS:
            show(f"delta J[{key[0]},{key[1]}] (Eq. 27)", eff.dJ[key])
    print(f"\n({time.perf_counter() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
