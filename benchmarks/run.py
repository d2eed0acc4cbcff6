"""All benchmarks, one process per measurement, with ratios against pymablock measured in the same run.

    python benchmarks/run.py [--orders 2 4 6] [--high-orders 8] [--expand-timeout 120] [--write]

Needs the optional ``bench`` extra (pymablock) for the comparison columns; without
it those are reported as "not installed".  ``--write`` also writes
``benchmarks/RESULTS.md`` with the machine description.  Nothing here asserts a
wall time: the numbers are for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(args, timeout):
    """Run one measurement script in a fresh interpreter; its last stdout line is JSON."""
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=HERE.parent
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"stdout": r.stdout}
    out["wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def _fmt(x, unit=""):
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.3g}{unit}"
    return f"{x}{unit}"


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy
    import sympy

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}); Python "
        f"{platform.python_version()}, SymPy {sympy.__version__}, NumPy {numpy.__version__}"
    )


def order_table(orders, expand_timeout):
    rows = [
        "| order | symbolic-sw H+6J+3S closed forms | count_ops | peak RSS | pymablock raw | raw count_ops "
        "| pymablock raw + expand | expanded count_ops | speed-up vs raw+expand | size ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in orders:
        ours = _run([HERE / "ssw_order.py", n], timeout=900)
        pmb = _run([HERE / "pymablock_compare.py", n, "--expand-timeout", expand_timeout], timeout=expand_timeout + 600)
        t = ours.get("seconds_HJS")
        if "error" in pmb:
            pmb_cells = [pmb["error"][:40]] + ["—"] * 3
            speed, size = "—", "—"
        else:
            raw, exp = pmb.get("raw_s"), pmb.get("expand_s")
            total = raw + exp if (raw is not None and exp is not None) else None
            unfinished = f"> {raw + expand_timeout:.0f} s (unfinished)"
            pmb_cells = [
                _fmt(raw, " s"),
                _fmt(pmb.get("raw_ops")),
                _fmt(total, " s") if pmb.get("expand_finished") else unfinished,
                _fmt(pmb.get("expanded_ops")),
            ]
            speed = f"{total / t:.1f}×" if total and t else (f"> {(raw + expand_timeout) / t:.1f}×" if t else "—")
            size = f"{ours['ops_HJS'] / pmb['expanded_ops']:.2f}" if pmb.get("expanded_ops") else "—"
        rows.append(
            f"| {n} | {_fmt(t, ' s')} | {_fmt(ours.get('ops_HJS'))} | {_fmt(ours.get('peak_rss_mb'), ' MB')} | "
            + " | ".join(pmb_cells)
            + f" | {speed} | {size} |"
        )
        print(rows[-1], flush=True)
    return rows


def high_order_table(orders):
    """symbolic-sw alone at orders where pymablock's raw result is out of reach of expand."""
    rows = [
        "| order | H+6J+3S closed forms | + 3 T | count_ops (H+6J+3S+3T) | products | solves | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in orders:
        r = _run([HERE / "ssw_order.py", n], timeout=600)
        if "error" in r:
            rows.append(f"| {n} | {r['error']} | — | — | — | — | — |")
        else:
            rows.append(
                f"| {n} | {_fmt(r['seconds_HJS'], ' s')} | {_fmt(r['seconds_HJST'], ' s')} | "
                f"{r['ops_HJST']} | {r['counts']['products']} | {r['counts']['solves']} | "
                f"{_fmt(r['peak_rss_mb'], ' MB')} |"
            )
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, nargs="+", default=[2, 4, 6])
    p.add_argument("--high-orders", type=int, nargs="*", default=[8], help="symbolic-sw alone (10 min limit each)")
    p.add_argument("--expand-timeout", type=int, default=120)
    p.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    sections = [f"Machine: {machine()}", "", "## Eq. (33), exact in b: closed forms vs pymablock (same run)", ""]
    print(sections[0], flush=True)
    sections += order_table(args.orders, args.expand_timeout)
    if args.high_orders:
        sections += ["", "## Higher orders, symbolic-sw alone (10 min limit)", ""]
        sections += high_order_table(args.high_orders)
    for title, script, extra in (
        ("## Generated kernels vs batched exact diagonalisation", "kernels_vs_eigh.py", []),
        (
            "## Cost versus model size (random two-block models)",
            "model_size.py",
            ["--orders", "2", "4", "6", "--per-row", "2", "4", "--timeout", "300"],
        ),
    ):
        r = subprocess.run(
            [sys.executable, str(HERE / script), *extra], capture_output=True, text=True, cwd=HERE.parent
        )
        print(f"\n{title}\n{r.stdout}", flush=True)
        sections += ["", title, "", "```", r.stdout.rstrip() or r.stderr.strip()[-500:], "```"]
    if args.write:
        (HERE / "RESULTS.md").write_text(
            "# Benchmark results\n\nWritten by `python benchmarks/run.py --write` (one process per "
            "measurement; pymablock from the optional `bench` extra).\n\n" + "\n".join(sections) + "\n"
        )


if __name__ == "__main__":
    main()
