"""One measurement of symbolic-sw (run by benchmarks/run.py in its own process).

``python benchmarks/ssw_order.py ORDER [BACKEND]`` prints one JSON line: wall time of
``ssw.effective(model, order, backend=BACKEND)`` (``flint`` or ``sympy``; default: the
package default) (``model = samokhin_c4v()`` built before the
timer, like pymablock's inputs) and of the operators S, J, T built from it,
producing the final closed forms of
H + 6 J + 3 S (the set pymablock is timed on) and then + 3 T, their total
``count_ops``, the recursion's matrix products / Sylvester solves, and the peak
resident memory of this process.
"""

import json
import resource
import sys
import time

import sympy

import symbolic_sw as ssw


def main(order, backend=None):
    # the model is built before the timer, as pymablock_compare.py builds its inputs
    model = ssw.models.samokhin_c4v()
    t0 = time.perf_counter()
    eff = ssw.effective(model, order=order, backend=backend)
    results = [eff.H] + [eff.J[mu, i] for mu in "xyz" for i in "xy"] + [eff.S[mu] for mu in "xyz"]
    t1 = time.perf_counter()
    torques = [eff.T[mu] for mu in "xyz"]
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "tool": "symbolic-sw",
                "version": ssw.__version__,
                "sympy": sympy.__version__,
                "order": order,
                "backend": eff.backend,
                "seconds_HJS": round(t1 - t0, 3),
                "seconds_HJST": round(t2 - t0, 3),
                "ops_HJS": sum(sympy.count_ops(M) for M in results),
                "ops_HJST": sum(sympy.count_ops(M) for M in results + torques),
                "counts": eff.counts,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
