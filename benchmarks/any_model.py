"""Any model (issue 13): kernels of a model whose momenta sit inside atoms, and the Kane model with surds.

    python benchmarks/any_model.py [--points N] [--repeats R] [--kane-order N] [--skip-kane] [--skip-kernels]

Nothing is asserted about the times: every figure is printed next to a reference
measured in the same run on the same machine, and the ratio is what to read.

1. Kernels: general path versus fast path
-----------------------------------------
Two derivation specs of the same size — Eq. (33) (Γ1 + Γ5 ⊗ spin, 6×6, blocks
[2, 4], order 2, exact in b) typed in as a ``HAMILTONIAN`` string, and its
lattice version on a square lattice of spacing ``a`` (k_i → sin(k_i a)/a in the
couplings, k_i² → (2 − 2 cos(k_i a))/a² in the kinetic energy of both blocks, so
the gaps E_g ∓ b stay k-independent) — are derived through the pipeline
(``symbolic_sw.pipeline.build``, no cache; the derivation time is printed too),
and the generated numpy kernels of H and the six spin currents J_{μ,i} are timed
on N random points |k| < 0.6 with scalar parameters, through the fused entry
``K.evaluate(k_x, k_y, operators=[...], **parameters)``, best of R runs:

* *Eq. (33), fast path*: every operator is a polynomial in the momenta, so it is
  evaluated from its coefficient table times the k-monomials (the reference);
* *Eq. (33), general path*: the same kernels with the fast path switched off
  (``_FAST_MIN_POINTS`` raised), i.e. the closed forms evaluated elementwise;
* *lattice, general path*: cos(k a), sin(k a) are atoms, the operators are not
  polynomials in k, and only the general path exists.

The fast and general paths of Eq. (33) are checked to agree (1e-12) before timing.

2. Derivation: the 8-band Kane model with and without surds
------------------------------------------------------------
The textbook 8-band Kane model (conduction doublet + 6 valence states, blocks
[2, 6], spin–orbit splitting Δ, coupling P) in the |J, m_J⟩ basis (couplings
with √2, √3, √6; the valence block diag(0, 0, 0, 0, −Δ, −Δ)) and the same model in
the X, Y, Z ⊗ spin basis (no surds; the valence block (Δ/3)(L·σ − 1)): time of
``ssw.effective(model, N)`` and its closed forms, for H alone and for H + 9 J
(μ, i = x, y, z) + 3 S, each in its own interpreter (``--child``), best of R.
The issue asks for the surd basis within 2× of the plain one at order 4.

Measured 2026-11-30 at commit 467cbb5 on the 2-core machine while it ran other
jobs (load 3–5), so the CPU-time ratios are the ones to read (wall-time ratios
moved by up to 0.4 between runs): ``--points 200000 --repeats 5``:

| kernels, H + 6 J, 2·10⁵ points | CPU s | vs fast path |
|---|---|---|
| Eq. (33), fast path | 0.049 | 1.0× |
| Eq. (33), general path | 0.167 | 3.4× |
| Eq. (33) on a lattice, general path | 0.184 | 3.7× (1.10× the general path of Eq. 33) |

Derivation of the 7 operators (pipeline, no cache, wall): Eq. (33) 1.6 s, lattice 2.1 s.

| Kane 8-band, order 4 | no surds | J, m_J basis | ratio (CPU) | ratio (wall) |
|---|---|---|---|---|
| H | 0.14 s | 0.16 s | 1.04× | 1.16× |
| H + 9 J + 3 S | 0.37 s | 0.57 s | 1.45× | 1.55× |

(An earlier run, best of 3, wall only: 1.40× for H and 1.91× for H + 9 J + 3 S; best of 7:
1.13× and 1.54×. The issue asks for ≤ 2×.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

NAMES = ("H", "J_x_x", "J_x_y", "J_y_x", "J_y_y", "J_z_x", "J_z_y")
PARAMS = dict(hbar=1.0, m=1.0, a=1.0, epsilon_1=0.0, epsilon_2=1.0, a_tilde=0.3, b_tilde=0.2, b=0.1)
K_MAX = 0.6

_SPEC = '''"""{title}"""
import sympy

_kinetic = "{kinetic}"
_coupling = ("kron(ketbra(1, 2, 3), -I*a_tilde*{kx}*sigma_0 - I*b_tilde*sigma_y)"
             " + kron(ketbra(1, 3, 3), -I*a_tilde*{ky}*sigma_0 + I*b_tilde*sigma_x)")
HAMILTONIAN = f"""
    (epsilon_1 + {{_kinetic}}) * kron(proj(1, 3), sigma_0)
  + (epsilon_2 + {{_kinetic}}) * kron(proj(2, 3) + proj(3, 3), sigma_0)
  + b * kron(lambda_7, sigma_z) + {{_coupling}} + dagger({{_coupling}})
"""
BLOCKS = [2, 4]
SYMBOLS = {symbols}
MODEL_OPTIONS = {{"time_reversal": True}}
ORDER = 2
OPERATORS = ["H", "J"]
'''

SPECS = {
    "eq33_poly": _SPEC.format(
        title="Eq. (33) as a string: polynomial in k.",
        kinetic="hbar**2*(k_x**2 + k_y**2)/(2*m)",
        kx="k_x",
        ky="k_y",
        symbols="[]",
    ),
    "eq33_lattice": _SPEC.format(
        title="Eq. (33) on a square lattice: k in cos(k a), sin(k a).",
        kinetic="hbar**2*(4 - 2*cos(k_x*a) - 2*cos(k_y*a))/(2*m*a**2)",
        kx="sin(k_x*a)/a",
        ky="sin(k_y*a)/a",
        symbols='[sympy.Symbol("a", positive=True)]',
    ),
}


# -- 1. kernels ---------------------------------------------------------------------------------


def derive_kernels(folder):
    """``{name: (kernels module, derivation seconds)}`` of both specs, derived without the cache."""
    from symbolic_sw.derivation import load_derivation
    from symbolic_sw.pipeline import build

    out = {}
    for name, text in SPECS.items():
        path = Path(folder) / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        _, files = build(load_derivation(str(path)), cache=False)
        seconds = time.perf_counter() - t0
        module = types.ModuleType(f"any_model_{name}")
        exec(compile(files["kernels.py"], f"<{name}/kernels.py>", "exec"), module.__dict__)  # our generated code
        out[name] = (module, seconds)
    return out


def best_of(repeats, f):
    """(wall, CPU) seconds of ``f()``, each the best of ``repeats`` runs.

    The CPU time of this process is reported too: on a machine shared with other
    jobs it is less disturbed by them than the wall time.
    """
    wall = cpu = np.inf
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def kernel_timings(n, repeats, seed=0):
    rng = np.random.default_rng(seed)
    r, phi = K_MAX * np.sqrt(rng.random(n)), 2 * np.pi * rng.random(n)
    kx, ky = r * np.cos(phi), r * np.sin(phi)
    with tempfile.TemporaryDirectory() as folder:
        kernels = derive_kernels(folder)
    poly, t_poly = kernels["eq33_poly"]
    lattice, t_lattice = kernels["eq33_lattice"]
    params = {p: PARAMS[p] for p in poly.PARAMETERS}
    assert all(poly.OPERATORS[name].terms is not None for name in NAMES), "Eq. (33) must have the fast path"
    assert all(lattice.OPERATORS[name].terms is None for name in NAMES), "the lattice model has no fast path"

    def run(K, **p):
        return K.evaluate(kx, ky, operators=NAMES, **p)

    fast = run(poly, **params)
    threshold = poly._FAST_MIN_POINTS
    poly._FAST_MIN_POINTS = 10**18  # the general path for every call
    try:
        general = run(poly, **params)
        for name in NAMES:
            assert np.allclose(fast[name], general[name], rtol=1e-12, atol=1e-14), name
        del fast, general
        t_general = best_of(repeats, lambda: run(poly, **params))
    finally:
        poly._FAST_MIN_POINTS = threshold
    t_fast = best_of(repeats, lambda: run(poly, **params))
    t_lat = best_of(repeats, lambda: run(lattice, **{p: PARAMS[p] for p in lattice.PARAMETERS}))
    print(f"\n## Kernels: H + 6 J on {n} points, best of {repeats}\n")
    print("| kernels | path | wall s | CPU s | points/s (wall) | vs fast path (wall, CPU) |")
    print("|---|---|---|---|---|---|")
    for label, path, (t, c) in [
        ("Eq. (33)", "fast (coefficient table × k-monomials)", t_fast),
        ("Eq. (33)", "general (closed form elementwise)", t_general),
        ("Eq. (33) on a lattice", "general (cos, sin are atoms)", t_lat),
    ]:
        print(f"| {label} | {path} | {t:.3f} | {c:.3f} | {n / t:.2e} | {t / t_fast[0]:.1f}×, {c / t_fast[1]:.1f}× |")
    ratio, cpu = t_lat[0] / t_general[0], t_lat[1] / t_general[1]
    print(f"\nlattice general path / Eq. (33) general path: {ratio:.2f}× (CPU {cpu:.2f}×)")
    print(f"derivation (pipeline, no cache) of the 7 operators: Eq. (33) {t_poly:.2f} s, lattice {t_lattice:.2f} s")


# -- 2. Kane model ------------------------------------------------------------------------------


def kane_models():
    """(|J, m_J> basis, X/Y/Z ⊗ spin basis) of the 8-band Kane model, blocks [2, 6], conduction first.

    As in tests/test_any_model.py: the second has the valence block (Δ/3)(L·σ − 1) and no
    surds; the first is it rotated to |J, m_J>, diag(0, 0, 0, 0, −Δ, −Δ), couplings with √2, √3, √6.
    """
    import sympy

    import symbolic_sw as ssw
    from symbolic_sw.pauli import SIGMA, kron
    from symbolic_sw.symbols import E_g, hbar, k_x, k_y, k_z

    I = sympy.I
    P = sympy.Symbol("P", real=True)
    Delta, m_0 = sympy.symbols("Delta m_0", positive=True)
    kin = hbar**2 * (k_x**2 + k_y**2 + k_z**2) / (2 * m_0)
    L = [sympy.Matrix(3, 3, lambda i, j, k=k: -I * sympy.LeviCivita(k, i, j)) for k in range(3)]
    LS = sum((kron(L[k], SIGMA["xyz"[k]]) for k in range(3)), sympy.zeros(6))
    H = sympy.diag((E_g + kin) * sympy.eye(2), kin * sympy.eye(6) + Delta / 3 * (LS - sympy.eye(6)))
    for n, k in enumerate((k_x, k_y, k_z)):
        for s in range(2):
            H[s, 2 + 2 * n + s], H[2 + 2 * n + s, s] = -I * P * k, I * P * k

    def orbital(o, s):
        v = sympy.zeros(6, 1)
        v[2 * o + s] = 1
        return v

    def l_plus(s):
        return -(orbital(0, s) + I * orbital(1, s)) / sympy.sqrt(2)

    def l_minus(s):
        return (orbital(0, s) - I * orbital(1, s)) / sympy.sqrt(2)

    r1, r2 = sympy.sqrt(sympy.Rational(1, 3)), sympy.sqrt(sympy.Rational(2, 3))
    up, dn = 0, 1
    states = [
        l_plus(up),
        r1 * l_plus(dn) + r2 * orbital(2, up),
        r2 * orbital(2, dn) + r1 * l_minus(up),
        l_minus(dn),
        r2 * l_plus(dn) - r1 * orbital(2, up),
        r1 * orbital(2, dn) - r2 * l_minus(up),
    ]
    U = sympy.diag(sympy.eye(2), sympy.Matrix.hstack(*states))
    HJ = (U.H * H * U).applyfunc(sympy.expand)
    momenta = (k_x, k_y, k_z)
    return {"J": ssw.Model(HJ, [2, 6], momenta=momenta), "plain": ssw.Model(H, [2, 6], momenta=momenta)}


def kane_child(basis, order):
    """One measurement, printed as a JSON line: seconds for H, and for H + 9 J + 3 S."""
    import symbolic_sw as ssw

    model = kane_models()[basis]  # built before the timer
    t0, c0 = time.perf_counter(), time.process_time()
    eff = ssw.effective(model, order)
    _ = eff.H
    t1, c1 = time.perf_counter(), time.process_time()
    _ = [eff.J[mu, i] for mu in "xyz" for i in "xyz"] + [eff.S[mu] for mu in "xyz"]
    t2, c2 = time.perf_counter(), time.process_time()
    print(json.dumps({"H": t1 - t0, "HJS": t2 - t0, "H_cpu": c1 - c0, "HJS_cpu": c2 - c0}))


def kane_timings(order, repeats):
    best = {}
    for _ in range(repeats):
        for basis in ("plain", "J"):  # interleaved: a slow spell of the shared machine hits both
            line = (
                subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--child", basis, str(order)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            result = json.loads(line)
            for key, value in result.items():
                best[basis, key] = min(best.get((basis, key), np.inf), value)
    print(f"\n## Kane 8-band, order {order}: ssw.effective + closed forms, best of {repeats} (own process each)\n")
    print("| operators | X, Y, Z ⊗ spin (no surds) | \\|J, m_J⟩ (√2, √3, √6) | ratio (wall) | ratio (CPU) |")
    print("|---|---|---|---|---|")
    for key, label in (("H", "H"), ("HJS", "H + 9 J + 3 S")):
        plain, surd = best["plain", key], best["J", key]
        cpu = best["J", key + "_cpu"] / best["plain", key + "_cpu"]
        print(f"| {label} | {plain:.2f} s | {surd:.2f} s | {surd / plain:.2f}× | {cpu:.2f}× |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kane-order", type=int, default=4)
    parser.add_argument("--skip-kane", action="store_true")
    parser.add_argument("--skip-kernels", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("BASIS", "ORDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kane_child(args.child[0], int(args.child[1]))
        return
    if not args.skip_kernels:
        kernel_timings(args.points, args.repeats)
    if not args.skip_kane:
        kane_timings(args.kane_order, args.repeats)


if __name__ == "__main__":
    main()
