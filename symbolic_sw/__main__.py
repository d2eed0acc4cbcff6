"""``python -m symbolic_sw``: the default derivation (Eq. 33, Appendix F)."""

import argparse
import sys
import time

import sympy

from . import effective, models
from .model import ModelError


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="symbolic-sw",
        description="Effective Hamiltonian and spin observables of the Γ1+Γ5 model, Eq. (33), "
                    "exact in b (Appendix F).")
    parser.add_argument("--order", type=int, default=2, help="order in the inter-orbital coupling")
    args = parser.parse_args(argv)
    try:
        t0 = time.perf_counter()
        eff = effective(models.samokhin_c4v(), order=args.order)
        H = eff.H
        dt = time.perf_counter() - t0
    except ModelError as exc:
        print(f"symbolic-sw: error: {exc}", file=sys.stderr)
        return 2
    print(f"Eq. (33), order {args.order}, exact in b ({dt:.2f} s). Gap factors: "
          + ", ".join(map(str, eff.gap_factors)))
    print("\nH_eff =")
    sympy.pprint(H, use_unicode=True, wrap_line=False)
    print("\ndelta J_{x,y} (Eq. 27) =")
    sympy.pprint(eff.dJ["x", "y"], use_unicode=True, wrap_line=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
