"""Cost of ``ssw.effective`` versus model size: random two-block models with symbolic couplings.

    python benchmarks/model_size.py [--orders 2 4] [--timeout 300] [--per-row 2 [4 ...]] [--seed 0]
                                    [--backends flint sympy]

The models
----------
Spinless (``spin=False``) two-block models with blocks (n_A, n_B) = (2, 4), (2, 8)
and (4, 8); block A is the essential one.  Built by :func:`random_model`:

* block A: diagonal, energies 0, 1/3, 2/3, ...;
* block B: diagonal, energies E + 5, 6, 7, ... — the symbol E in the first entry
  makes some of the energy denominators (gap factors) symbolic;
* inter-block couplings: each row of block A couples to ``--per-row`` (default
  2) states of block B chosen with a seeded RNG (the first row always includes
  the E-dependent state, so E reaches eff.H); every coupling is a distinct real
  symbol ``c_ij`` (i in A, j in B, 1-based) times a momentum monomial drawn from
  (1, k_x, k_y); H is real symmetric.

The measurement
---------------
Each (model, order) runs in its own interpreter (``--child``) with a timeout.
The child times ``eff = ssw.effective(model, order=n, backend=...)`` (the series recursion, done
eagerly) and then ``eff.H`` (the closed form), and reports ``sympy.count_ops(eff.H)``
and ``eff.counts`` (matrix products and Sylvester solves of the recursion).  The
parent collects the child with ``os.wait4``, whose ``ru_maxrss`` is that child's
peak resident set size in KB on Linux — the same quantity as
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` but for this one child only
(RUSAGE_CHILDREN is the maximum over *all* children collected so far, so it cannot
separate measurements run from one parent).  A timed-out child is killed and its
row reads "timeout" (its peak RSS up to the kill is still reported).  The parent
never imports sympy: on Linux a child's ru_maxrss starts from the parent's
resident size at fork/exec, so a heavy parent would inflate every number.

Prints a markdown table.  Nothing is asserted about the times: they are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time

SIZES = ((2, 4), (2, 8), (4, 8))


def random_model(n_a, n_b, per_row=2, seed=0):
    """A deterministic random two-block model (see the module docstring)."""
    import sympy

    import symbolic_sw as ssw
    from symbolic_sw.symbols import k_x, k_y

    rng = random.Random(f"{seed}-{n_a}-{n_b}-{per_row}")
    E = sympy.Symbol("E", real=True)
    n = n_a + n_b
    H = sympy.zeros(n)
    for i in range(n_a):
        H[i, i] = sympy.Rational(i, 3)
    for j in range(n_b):
        H[n_a + j, n_a + j] = 5 + j + (E if j == 0 else 0)
    monomials = (sympy.Integer(1), k_x, k_y)
    for i in range(n_a):
        columns = rng.sample(range(n_b), min(per_row, n_b))
        if i == 0 and 0 not in columns:
            columns[0] = 0  # couple the E-dependent state, so E reaches eff.H
        for j in sorted(columns):
            c = sympy.Symbol(f"c_{i + 1}{j + 1}", real=True)
            H[i, n_a + j] = H[n_a + j, i] = c * rng.choice(monomials)
    return ssw.Model(H, blocks=[n_a, n_b], momenta=(k_x, k_y), spin=False, name=f"random_{n_a}x{n_b}")


def describe(per_row, seed):
    """Print the couplings of every model (run in a child, see main)."""
    for n_a, n_b in SIZES:
        model = random_model(n_a, n_b, per_row, seed)
        couplings = ", ".join(
            f"H[{i},{j}]={model.H[i, j]}" for i in range(n_a) for j in range(n_a, n_a + n_b) if model.H[i, j] != 0
        )
        print(f"  ({n_a}, {n_b}), {per_row} per row: {couplings}", flush=True)


def child(n_a, n_b, order, per_row, seed, backend=None):
    """One measurement; prints a JSON line."""
    import sympy

    import symbolic_sw as ssw

    model = random_model(n_a, n_b, per_row, seed)
    t0 = time.perf_counter()
    eff = ssw.effective(model, order=order, backend=backend)
    t1 = time.perf_counter()
    H = eff.H
    t2 = time.perf_counter()
    ops = sympy.count_ops(H)
    print(
        json.dumps(
            {
                "series_s": t1 - t0,
                "closed_s": t2 - t1,
                "total_s": t2 - t0,
                "count_ops": int(ops),
                "counts": eff.counts,
                "couplings": sum(1 for i in range(n_a) for j in range(n_b) if model.H[i, n_a + j] != 0),
                "gap_factors": len(eff.gap_factors),
                "symbols": len(model.parameters),
                "self_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        ),
        flush=True,
    )


def measure(n_a, n_b, order, per_row, seed, timeout, backend="flint"):
    """Run one child; return (result dict or None, wall seconds, peak RSS KB, status)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--child",
                str(n_a),
                str(n_b),
                str(order),
                str(per_row),
                str(seed),
                "--backend",
                backend,
            ],
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        status = None
        while True:
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this child
                pid, code, usage = os.wait4(proc.pid, 0)
                status = "timeout"
                break
            time.sleep(0.05)
        proc.returncode = code  # already reaped
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = [ln for ln in out.read().splitlines() if ln.startswith("{")]
        if status is None:
            status = (
                "ok"
                if (os.WIFEXITED(code) and os.WEXITSTATUS(code) == 0 and lines)
                else "error: " + ((err.read().strip().splitlines() or ["failed"])[-1])[:60]
            )
        result = json.loads(lines[-1]) if (status == "ok") else None
        return result, wall, usage.ru_maxrss, status


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, nargs="+", default=[2, 4])
    p.add_argument("--timeout", type=float, default=300, help="seconds per (model, order)")
    p.add_argument(
        "--per-row",
        type=int,
        nargs="+",
        default=[2],
        help="couplings per row of block A (several values: one table section each)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--backends", nargs="+", default=["flint"], choices=["flint", "sympy"], help="exact-algebra backends"
    )
    p.add_argument("--backend", default=None, help=argparse.SUPPRESS)  # of a child
    p.add_argument(
        "--child", nargs=5, type=int, metavar=("NA", "NB", "ORDER", "PER_ROW", "SEED"), help=argparse.SUPPRESS
    )
    p.add_argument("--describe", nargs=2, type=int, metavar=("PER_ROW", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(*args.child, backend=args.backend)
        return 0
    if args.describe:
        describe(*args.describe)
        return 0

    t_script = time.perf_counter()
    print(
        f"Random two-block models, spin=False, {'/'.join(map(str, args.per_row))} couplings per row of block A "
        f"(c_ij × one of 1, k_x, k_y), block B energies E+5, 6, 7, ...; seed {args.seed}; "
        f"timeout {args.timeout:g} s per measurement.",
        flush=True,
    )
    # described by a child: the parent must not import sympy, or every child's ru_maxrss would
    # start from the parent's footprint (Linux carries the pre-exec high-water mark over)
    for per_row in args.per_row:
        subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--describe", str(per_row), str(args.seed)], check=True
        )
    print()
    header = (
        "| blocks (A, B) | per row | couplings | order | backend | effective() s | eff.H s | total s | wall s "
        "| count_ops(eff.H) | products | solves | peak RSS KB | status |"
    )
    print(header)
    print("|" + "|".join("---" for _ in range(header.count("|") - 1)) + "|", flush=True)
    runs = [
        (per_row, n_a, n_b, order, backend)
        for per_row in args.per_row
        for n_a, n_b in SIZES
        for order in args.orders
        for backend in args.backends
    ]
    for per_row, n_a, n_b, order, backend in runs:
        r, wall, rss, status = measure(n_a, n_b, order, per_row, args.seed, args.timeout, backend)
        if r is None:
            couplings = str(n_a * min(per_row, n_b))
            timed = [status if status == "timeout" else "—", "—", "—", f"{wall:.1f}", "—", "—", "—"]
        else:
            couplings = str(r["couplings"])
            timed = [
                f"{r['series_s']:.2f}",
                f"{r['closed_s']:.2f}",
                f"{r['total_s']:.2f}",
                f"{wall:.1f}",
                str(r["count_ops"]),
                str(r["counts"]["products"]),
                str(r["counts"]["solves"]),
            ]
        row = [f"({n_a}, {n_b})", str(min(per_row, n_b)), couplings, str(order), backend, *timed, str(rss), status]
        print("| " + " | ".join(row) + " |", flush=True)
    print(f"\nscript wall time: {time.perf_counter() - t_script:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
