"""One measurement of pymablock, the reference tool (run by benchmarks/run.py in its own process).

    python benchmarks/pymablock_compare.py ORDER [--expand-timeout SECONDS]
    python benchmarks/pymablock_compare.py [ORDER] --check

What is measured
----------------
The same set of results that ``benchmarks/ssw_order.py`` times for symbolic-sw, on the
paper's 6×6 model Eq. (33) (``ssw.models.samokhin_c4v()``): in the Γ1 block, the
effective Hamiltonian and the effective spin ``S_μ`` (μ = x, y, z) and spin current
``J_{μ,i}`` (μ = x, y, z; i = x, y), each summed over the orders 0..ORDER of the
inter-block coupling (ã, b̃).

How
---
Inputs (not timed).  pymablock's symbolic mode needs a *diagonal* unperturbed
Hamiltonian, but the Γ5 block of ``model.H0`` is ``(ε2 + ħ²k²/2m) + b τ_y ⊗ σ_z``
(the ``-i b σ_z`` coupling of Γ5x and Γ5y).  Its eigenvectors do not depend on k, so
a constant unitary ``V = 1_Γ1 ⊕ (T ⊗ σ_0)``, with ``T`` the eigenvectors of ``τ_y``,
makes it diagonal, ``ε2 + ħ²k²/2m ± b``.  ``H0``, ``H1`` and every operator are
rotated, ``X → V† X V``, and their entries expanded.  The Γ1 block is untouched by
``V``, so pymablock's effective operators there are directly comparable with ours.
The Hamiltonian is passed as ``[H0, H1]`` (orders 0 and 1) with
``subspace_indices = [0, 0, 1, 1, 1, 1]``; ``S_μ`` is an order-0 series and
``J_{μ,i}`` a series with an order-0 part (from ∂H0/∂k) and an order-1 part
(from ∂H1/∂k), i.e. ``symbolic_sw.operators.spin_current(...).parts``.

Timed, in this one process:

(a) ``raw_s``: ``pymablock.block_diagonalize`` and the evaluation of
    ``H_tilde[0, 0, n]`` and of ``(U† O U)[0, 0, n]`` for the 9 operators, n = 0..ORDER
    (the operators via ``pymablock.operator_to_BlockSeries`` and
    ``pymablock.series.cauchy_dot_product(U_adjoint, O, U, hermitian=True)``, as in
    pymablock's documentation), each summed over the orders into one 2×2 matrix;
(b) ``raw_ops`` (``raw_count_ops_s``): ``sympy.count_ops`` of those 10 matrices;
(c) ``expand_s``: ``sympy.expand`` of every entry, in a forked child process that is
    terminated after ``--expand-timeout`` seconds (default 120); then
    ``expand_finished`` is false and ``expand_s``/``expanded_ops`` are null;
(d) ``expanded_ops`` (``expanded_count_ops_s``): ``count_ops`` after the expand.

One line of JSON goes to stdout.  ``--check`` instead compares pymablock's effective
H and all S, J at a random numerical parameter point with ``ssw.effective(model,
ORDER)`` (default ORDER 2) and prints the largest deviation (must be < 1e-10).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
import warnings

import numpy as np
import sympy

import symbolic_sw as ssw
from symbolic_sw.pauli import kron

ESSENTIAL = [0, 0, 1, 1, 1, 1]  # Γ1↑, Γ1↓ | Γ5x↑, Γ5x↓, Γ5y↑, Γ5y↓
SPINS = "xyz"
DIRECTIONS = "xy"


def gamma5_rotation() -> sympy.Matrix:
    """``V = 1_Γ1 ⊕ (T ⊗ σ_0)``: the columns of ``T`` are the eigenvectors (1, ±i)/√2 of τ_y."""
    T = sympy.Matrix([[1, 1], [sympy.I, -sympy.I]]) / sympy.sqrt(2)
    return sympy.diag(sympy.eye(2), kron(T, sympy.eye(2)))


def rotate(V, X) -> sympy.Matrix:
    return (V.H * sympy.Matrix(X) * V).applyfunc(sympy.expand)


def build_inputs(model):
    """Rotated ``H0`` (diagonal), ``H1`` and operator parts ``{name: [order0, order1, ...]}``."""
    V = gamma5_rotation()
    assert (V.H * V - sympy.eye(6)).applyfunc(sympy.simplify).is_zero_matrix
    H0, H1 = rotate(V, model.H0), rotate(V, model.H1)
    if not H0.is_diagonal():
        raise RuntimeError(f"the Γ5 rotation did not diagonalise H0:\n{H0}")
    operators = {}
    for mu in SPINS:
        operators[f"S_{mu}"] = [rotate(V, p) for p in ssw.operators.spin(model, mu).parts]
    for mu in SPINS:
        for i in DIRECTIONS:
            parts = ssw.operators.spin_current(model, mu, i).parts
            operators[f"J_{mu}{i}"] = [rotate(V, p) for p in parts]
    return H0, H1, operators


def pymablock_effective(H0, H1, operators, order):
    """Effective H and operators in the Γ1 block, each summed over orders 0..order."""
    import pymablock
    from pymablock.series import cauchy_dot_product, zero

    def summed(series):
        total = sympy.zeros(2, 2)
        for n in range(order + 1):
            term = series[0, 0, n]
            if term is not zero:
                total = total + term
        return total

    with warnings.catch_warnings():
        # pymablock cannot prove that symbolic blocks are zero/diagonal and says so.
        warnings.simplefilter("ignore", UserWarning)
        H_tilde, U, U_adjoint = pymablock.block_diagonalize([H0, H1], subspace_indices=ESSENTIAL)
        results = {"H": summed(H_tilde)}
        for name, parts in operators.items():
            O = pymablock.operator_to_BlockSeries(
                {(n,): p for n, p in enumerate(parts)}, subspace_indices=ESSENTIAL, hermitian=True, name=name
            )
            results[name] = summed(cauchy_dot_product(U_adjoint, O, U, hermitian=True))
    return results


def total_ops(matrices) -> int:
    return sum(sympy.count_ops(M) for M in matrices)


def _expand_child(matrices, conn):
    t0 = time.perf_counter()
    expanded = [M.applyfunc(sympy.expand) for M in matrices]
    conn.send(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ops = total_ops(expanded)
    conn.send((ops, time.perf_counter() - t0))
    conn.close()


def expand_with_timeout(matrices, timeout):
    """``(expand_s, expanded_ops, count_ops_s)`` or ``None`` if the expand took > timeout s.

    The expand runs in a forked child (which inherits the matrices without pickling),
    so an unfinished one is stopped cleanly by terminating that child.
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_expand_child, args=(matrices, send), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(timeout):
            return None
        expand_s = receive.recv()
        ops, ops_s = receive.recv()
        return expand_s, ops, ops_s
    except EOFError:
        raise RuntimeError(f"the expand process died (exit code {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.terminate()
        child.join()


def measure(order, expand_timeout):
    import pymablock

    H0, H1, operators = build_inputs(ssw.models.samokhin_c4v())

    t0 = time.perf_counter()
    results = list(pymablock_effective(H0, H1, operators, order).values())
    raw_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    raw_ops = total_ops(results)
    raw_ops_s = time.perf_counter() - t0

    expanded = expand_with_timeout(results, expand_timeout)
    expand_s, expanded_ops, expanded_ops_s = expanded if expanded else (None, None, None)
    return {
        "tool": "pymablock",
        "version": pymablock.__version__,
        "order": order,
        "raw_s": round(raw_s, 3),
        "raw_ops": raw_ops,
        "expand_s": None if expand_s is None else round(expand_s, 3),
        "expanded_ops": expanded_ops,
        "expand_finished": expanded is not None,
        "raw_count_ops_s": round(raw_ops_s, 3),
        "expanded_count_ops_s": None if expanded_ops_s is None else round(expanded_ops_s, 3),
    }


def random_point(model, seed=1):
    """Random values of every symbol; ħ, m > 0 and the Γ1–Γ5 gap kept away from zero."""
    rng = random.Random(seed)
    values = {s: rng.uniform(-1.0, 1.0) for s in model.H.free_symbols}
    values.update(
        {
            ssw.symbols.hbar: rng.uniform(0.5, 1.5),
            ssw.symbols.m: rng.uniform(0.5, 1.5),
            ssw.symbols.epsilon_1: -1.0,
            ssw.symbols.epsilon_2: 1.5,
        }
    )
    return values


def numeric(M, values):
    return np.array(sympy.Matrix(M).subs(values).evalf(), dtype=complex)


def check(order):
    """Max deviation between pymablock's and symbolic-sw's effective operators at a random point."""
    model = ssw.models.samokhin_c4v()
    H0, H1, operators = build_inputs(model)
    theirs = pymablock_effective(H0, H1, operators, order)
    eff = ssw.effective(model, order)
    ours = {"H": eff.H}
    ours.update({f"S_{mu}": eff.S[mu] for mu in SPINS})
    ours.update({f"J_{mu}{i}": eff.J[mu, i] for mu in SPINS for i in DIRECTIONS})
    values = random_point(model)
    deviation = {
        name: float(np.max(np.abs(numeric(theirs[name], values) - numeric(M, values)))) for name, M in ours.items()
    }
    worst = max(deviation.values())
    return {
        "tool": "pymablock",
        "check_order": order,
        "max_deviation": worst,
        "deviation_H": deviation["H"],
        "deviation_J_xy": deviation["J_xy"],
        "passed": worst < 1e-10,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("order", type=int, nargs="?", help="perturbative order (2, 4 or 6)")
    p.add_argument(
        "--expand-timeout", type=float, default=120.0, help="wall-clock limit for sympy.expand of the raw results (s)"
    )
    p.add_argument(
        "--check", action="store_true", help="compare numerically with ssw.effective (default order 2) instead"
    )
    args = p.parse_args(argv)
    if args.check:
        out = check(args.order or 2)
        print(json.dumps(out))
        return 0 if out["passed"] else 1
    if args.order is None:
        p.error("ORDER is required (unless --check)")
    print(json.dumps(measure(args.order, args.expand_timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
