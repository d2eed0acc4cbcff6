"""Wall time and size of ssw.effective(samokhin_c4v(), order=n) for H + 6 J + 3 S + 3 T.

Run: python benchmarks/order_scaling.py [max_order]
Prints, per order, seconds for the series, for all closed forms, and total count_ops.
"""

import sys
import time

import sympy

import symbolic_sw as ssw


def measure(order):
    t0 = time.perf_counter()
    eff = ssw.effective(ssw.models.samokhin_c4v(), order=order)
    t1 = time.perf_counter()
    results = [eff.H]
    results += [eff.J[mu, i] for mu in "xyz" for i in "xy"]
    results += [eff.S[mu] for mu in "xyz"] + [eff.T[mu] for mu in "xyz"]
    t2 = time.perf_counter()
    ops = sum(sympy.count_ops(M) for M in results)
    return t1 - t0, t2 - t0, ops, eff.counts


if __name__ == "__main__":
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    print(f"{'order':>5} {'series s':>9} {'total s':>8} {'count_ops':>10}  counts")
    for n in range(2, top + 1, 2):
        series, total, ops, counts = measure(n)
        print(f"{n:>5} {series:>9.2f} {total:>8.2f} {ops:>10}  {counts}", flush=True)
