"""Generated numeric kernels versus batched exact diagonalisation of the full 6×6 model.

    python benchmarks/kernels_vs_eigh.py [--points N] [--chunk C] [--ref-repeats R]
                                         [--loop-points M] [--seed S]

What is compared
----------------
*Kernels*: ``ssw.load_kernels("samokhin_c4v_order4")`` — the closed-form order-4
effective H and the six effective spin currents J_{μ,i} (μ = x, y, z; i = x, y)
of Eq. (33), evaluated with numpy on N random k-points (|k| < 0.6) through the
fused entry ``K.evaluate(k_x, k_y, operators=[...], **parameters)`` (and, for
comparison, one call per operator).  Timed as the best of 3 runs over all N
points at once.

*Reference*: the same effective operators computed exactly (all orders) from
the microscopic 6×6 model ``ssw.models.samokhin_c4v()``:

1. ``H`` and the microscopic spin currents ``operators.spin_current(model, μ, i)``
   are lambdified entry by entry into vectorised numpy functions that fill
   (n, 6, 6) complex arrays;
2. batched ``numpy.linalg.eigh`` of H;
3. the direct rotation ``U = sqrt((2P − 1)(2P0 − 1))`` per point, with P the
   projector on the two eigenvectors of largest weight on the first two basis
   states and P0 the projector on those basis states; ``sqrt(R) =
   (1 + R)(2 + R + R†)^(-1/2)`` with the inverse square root from a second
   batched ``eigh`` (the batched version of ``symbolic_sw.certify.direct_rotation``);
4. ``(U† O U)[:2, :2]`` for O = H and the six J — only the first two columns of
   U are formed, since only the 2×2 block is needed.

The reference is processed in chunks of C points (default 50 000) to bound the
memory (a single (10⁶, 6, 6) complex array is 576 MB); its time is that of all
N points (chunking included), best of ``--ref-repeats`` runs (default 2, which
keeps the default run under a minute or so).  The kernels are also timed in the
same chunks, since one call on 10⁶ points is memory-bound.

Checks
------
* the batched reference equals ``certify.exact_effective`` at one k-point to 1e-12;
* the order-4 kernels differ from the exact operators by the O(coupling⁶)
  remainder of the expansion — not zero; the max |difference| over all points is
  printed per operator (measured: ≈7e-3 for H and ≈3e-2 for J at ã = 0.3,
  b̃ = 0.2, b = 0.1, gap 1, |k| < 0.6 — 8 % of max |H_eff|, 6 % of max |J|);
* the difference is the truncation remainder: with ã, b̃ scaled by z = 1, ½, ¼, ⅛
  it falls as z⁶ (fitted exponent printed; a wrong order-4 term would give ≤ 4).

For context, the unbatched per-point reference (``certify.exact_effective`` in
a Python loop) is timed on a subset (default 1000 points) and scaled to N.

Exit status is 1 if the single-point check fails or an exponent is below 5.5.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import sympy

import symbolic_sw as ssw
from symbolic_sw import certify, operators
from symbolic_sw.symbols import k_x, k_y

PARAMS = dict(hbar=1.0, m=1.0, epsilon_1=0.0, epsilon_2=1.0, a_tilde=0.3, b_tilde=0.2, b=0.1)
NAMES = ("H", "J_x_x", "J_x_y", "J_y_x", "J_y_y", "J_z_x", "J_z_y")
K_MAX = 0.6
N_A = 2


def random_points(n, seed):
    """Draw n points uniformly distributed in the disc |k| < K_MAX."""
    rng = np.random.default_rng(seed)
    r = K_MAX * np.sqrt(rng.random(n))
    t = 2 * np.pi * rng.random(n)
    return r * np.cos(t), r * np.sin(t)


# -- kernels ------------------------------------------------------------------------


def run_kernels(K, kx, ky):
    """The fused entry: all operators in one call, monomials shared between them."""
    out = K.evaluate(kx, ky, operators=NAMES, **PARAMS)
    return [out[name] for name in NAMES]


def run_kernels_into(K, kx, ky, out):
    """The fused entry writing into preallocated arrays (repeated evaluation on one grid)."""
    K.evaluate(kx, ky, operators=NAMES, out=out, **PARAMS)
    return [out[name] for name in NAMES]


def run_kernels_separately(K, kx, ky):
    return [getattr(K, name)(kx, ky, **PARAMS) for name in NAMES]


# -- reference ----------------------------------------------------------------------


class BatchedMatrix:
    """A sympy matrix in (k_x, k_y, parameters) as a vectorised numpy function → (n, d, d)."""

    def __init__(self, M, params):
        M = sympy.Matrix(M)
        self.shape = M.shape
        self.params = params
        args = [k_x, k_y, *params]
        self.entries = [(i, j) for i in range(M.rows) for j in range(M.cols) if M[i, j] != 0]
        self.f = sympy.lambdify(args, [M[i, j] for i, j in self.entries], modules="numpy")

    def __call__(self, kx, ky, values):
        out = np.zeros((len(kx), *self.shape), dtype=complex)
        vals = self.f(kx, ky, *(values[str(p)] for p in self.params))
        for (i, j), v in zip(self.entries, vals):
            out[:, i, j] = v  # scalars (constant entries) broadcast
        return out


class Reference:
    """Exact effective H and J of samokhin_c4v by batched diagonalisation."""

    def __init__(self):
        model = ssw.models.samokhin_c4v()
        self.model = model
        params = list(model.parameters)
        self.micro = {"H": model.H}
        for name in NAMES[1:]:
            _, mu, i = name.split("_")
            self.micro[name] = operators.spin_current(model, mu, i).matrix
        self.funcs = {n: BatchedMatrix(M, params) for n, M in self.micro.items()}
        d = model.dim
        self.d = d
        self.sign0 = np.array([1.0] * N_A + [-1.0] * (d - N_A))  # 2 P0 − 1 (diagonal)

    def full(self, kx, ky, values=PARAMS):
        """The microscopic (n, 6, 6) matrices of H and the six J."""
        return {n: f(kx, ky, values) for n, f in self.funcs.items()}

    def rotation_columns(self, H):
        """First N_A columns of the direct rotation U for a batch (n, d, d) of Hermitian H."""
        d = self.d
        _, V = np.linalg.eigh(H)  # (n, d, d), columns = eigenvectors
        weight = np.sum(np.abs(V[:, :N_A, :]) ** 2, axis=1)  # (n, d)
        chosen = np.argsort(-weight, axis=1, kind="stable")[:, :N_A]
        Vc = np.take_along_axis(V, chosen[:, None, :], axis=2)  # (n, d, N_A)
        P = Vc @ Vc.conj().transpose(0, 2, 1)
        one = np.eye(d)
        R = (2 * P - one) * self.sign0[None, None, :]  # (2P − 1)(2P0 − 1)
        M = 2 * one + R + R.conj().transpose(0, 2, 1)
        w, v = np.linalg.eigh(M)
        # (M^(-1/2))[:, :, :N_A] = v diag(w^-1/2) v†[:, :, :N_A]
        inv_sqrt_cols = (v * w[:, None, :] ** -0.5) @ v[:, :N_A, :].conj().transpose(0, 2, 1)
        return inv_sqrt_cols + R @ inv_sqrt_cols  # (1 + R) M^(-1/2), first columns

    def effective(self, kx, ky, values=PARAMS, stages=None):
        """[(U† O U)[:2, :2] for O in H, J...], each (n, 2, 2); ``stages`` accumulates times."""
        t0 = time.perf_counter()
        full = self.full(kx, ky, values)
        t1 = time.perf_counter()
        U = self.rotation_columns(full["H"])
        t2 = time.perf_counter()
        Ud = U.conj().transpose(0, 2, 1)
        out = [Ud @ full[n] @ U for n in NAMES]
        if stages is not None:
            t3 = time.perf_counter()
            for key, dt in (("fill", t1 - t0), ("rotation", t2 - t1), ("sandwich", t3 - t2)):
                stages[key] = stages.get(key, 0.0) + dt
        return out


# -- checks -----------------------------------------------------------------------


def scaling_exponents(K, ref, n=2000, zs=(1.0, 0.5, 0.25, 0.125), seed=7):
    """Max error of the kernels vs the exact operators with ã, b̃ → z·(ã, b̃); fitted exponent.

    An order-4 expansion in the inter-orbital coupling must have an error O(z⁶)
    (odd orders vanish); a wrong term would show up as an exponent ≤ 4.
    """
    kx, ky = random_points(n, seed)
    errs = {name: [] for name in NAMES}
    for z in zs:
        vals = dict(PARAMS, a_tilde=PARAMS["a_tilde"] * z, b_tilde=PARAMS["b_tilde"] * z)
        kern = [getattr(K, name)(kx, ky, **vals) for name in NAMES]
        exact = ref.effective(kx, ky, vals)
        for name, a, b in zip(NAMES, kern, exact):
            errs[name].append(float(np.max(np.abs(a - b))))
    return zs, errs, {name: certify.fit_exponent(zs, e) for name, e in errs.items()}


def single_point_check(ref, kx1=0.31, ky1=-0.17):
    """Batched reference vs certify.exact_effective (the single-point direct rotation)."""
    subs = {k_x: kx1, k_y: ky1, **{s: PARAMS[str(s)] for s in ref.model.parameters}}
    full1 = {n: np.array(sympy.Matrix(M).subs(subs).evalf(), dtype=complex) for n, M in ref.micro.items()}
    single = certify.exact_effective(full1["H"], [full1[n] for n in NAMES], N_A)
    batched = ref.effective(np.array([kx1]), np.array([ky1]))
    return (kx1, ky1), max(float(np.max(np.abs(a - b[0]))) for a, b in zip(single, batched))


def per_point_loop(ref, kx, ky):
    """Seconds for the unbatched reference: certify.exact_effective point by point."""
    full = ref.full(kx, ky)  # microscopic matrices prepared outside the timer
    mats = [full[n] for n in NAMES]
    t0 = time.perf_counter()
    for p in range(len(kx)):
        certify.exact_effective(mats[0][p], [M[p] for M in mats], N_A)
    return time.perf_counter() - t0


# -- main ---------------------------------------------------------------------------


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=10**6, help="number of k-points (default 10**6)")
    p.add_argument("--chunk", type=int, default=50_000, help="reference chunk size (default 50 000)")
    p.add_argument(
        "--ref-repeats",
        type=int,
        default=2,
        help="timed runs of the reference over all points (best is reported; default 2)",
    )
    p.add_argument(
        "--loop-points",
        type=int,
        default=1000,
        help="subset for the per-point (unbatched) reference, scaled to N (0: skip)",
    )
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    N, chunk = args.points, max(1, min(args.chunk, args.points))
    n_chunks = -(-N // chunk)
    t_script = time.perf_counter()
    print(
        f"samokhin_c4v_order4: H + 6 J on N = {N:,} random k-points, |k| < {K_MAX}; "
        + ", ".join(f"{k}={v:g}" for k, v in PARAMS.items()),
        flush=True,
    )

    K = ssw.load_kernels("samokhin_c4v_order4")
    t0 = time.perf_counter()
    ref = Reference()
    print(f"reference set-up (sympy → numpy lambdify; not timed below): {time.perf_counter() - t0:.2f} s")

    # 1. the batched reference is the exact transformation
    k1, point_err = single_point_check(ref)
    point_ok = point_err < 1e-12
    print(
        f"check 1: batched reference vs certify.exact_effective at k = {k1}: max |diff| = "
        f"{point_err:.2e}  [{'ok' if point_ok else 'FAIL'}, tolerance 1e-12]",
        flush=True,
    )

    # 2. the kernel-vs-exact difference is the O(z⁶) truncation remainder
    zs, errs, expo = scaling_exponents(K, ref)
    expo_ok = all(e > 5.5 for e in expo.values())
    print("check 2: max |kernel − exact| on 2,000 points with (ã, b̃) → z·(ã, b̃); order 4 ⇒ error ∝ z⁶")
    print("  " + f"{'operator':<8}" + "".join(f"  z={z:<8g}" for z in zs) + "  exponent")
    for n in NAMES:
        print("  " + f"{n:<8}" + "".join(f"  {e:<10.3e}" for e in errs[n]) + f"  {expo[n]:6.2f}")
    print(f"  [{'ok' if expo_ok else 'FAIL'}: every exponent > 5.5]", flush=True)

    kx, ky = random_points(N, args.seed)

    # 3. kernels: best of 3 over all N in one call, and chunked like the reference
    kern = run_kernels(K, kx, ky)  # kept for the accuracy comparison
    t_kernels, t_kern = best_of(lambda: run_kernels(K, kx, ky), 3)
    print(f"kernels, all {N:,} points per call: {', '.join(f'{t:.2f}' for t in t_kern)} s", flush=True)

    buffers = {name: np.empty((N, 2, 2), dtype=complex) for name in NAMES}
    t_kernels_out, t_kern_out = best_of(lambda: run_kernels_into(K, kx, ky, buffers), 3)
    print(f"kernels evaluate(out=...), all {N:,} points: {', '.join(f'{t:.2f}' for t in t_kern_out)} s", flush=True)
    buffers.clear()  # free the 448 MB before the reference runs
    t_kernels_sep, t_kern_sep = best_of(lambda: run_kernels_separately(K, kx, ky), 3)
    print(f"kernels one call per operator, all {N:,} points: {', '.join(f'{t:.2f}' for t in t_kern_sep)} s", flush=True)

    def kernels_chunked():
        for s in range(0, N, chunk):
            run_kernels(K, kx[s : s + chunk], ky[s : s + chunk])

    t_kernels_ch, t_kern_ch = best_of(kernels_chunked, 3)
    print(f"kernels, chunks of {chunk:,}: {', '.join(f'{t:.2f}' for t in t_kern_ch)} s", flush=True)

    # 4. batched reference over all N in chunks; the comparison (first run) is outside the timer
    max_diff = {n: 0.0 for n in NAMES}
    max_abs = {n: 0.0 for n in NAMES}
    t_ref_runs, stage_runs = [], []
    for rep in range(max(1, args.ref_repeats)):
        t_ref, stages = 0.0, {}
        for s in range(0, N, chunk):
            sl = slice(s, min(s + chunk, N))
            t0 = time.perf_counter()
            exact = ref.effective(kx[sl], ky[sl], stages=stages)
            t_ref += time.perf_counter() - t0
            if rep == 0:
                for n, k_val, e_val in zip(NAMES, kern, exact):
                    max_diff[n] = max(max_diff[n], float(np.max(np.abs(k_val[sl] - e_val))))
                    max_abs[n] = max(max_abs[n], float(np.max(np.abs(e_val))))
            del exact
        t_ref_runs.append(t_ref)
        stage_runs.append(stages)
        print(f"reference run {rep + 1}: {t_ref:.2f} s over all {N:,} points ({n_chunks} chunks)", flush=True)
    best = int(np.argmin(t_ref_runs))
    t_ref, stages = t_ref_runs[best], stage_runs[best]
    del kern

    # 5. unbatched reference on a subset, scaled
    t_loop = None
    if args.loop_points > 0:
        m = min(args.loop_points, N)
        t_loop = per_point_loop(ref, kx[:m], ky[:m]) * N / m
        print(
            f"per-point certify.exact_effective loop: {m:,} points timed, scaled ×{N / m:g} → {t_loop:.1f} s",
            flush=True,
        )

    # accuracy table
    print(
        "\norder-4 kernels vs exact (all orders), ã = 0.3, b̃ = 0.2, b = 0.1: "
        "max over all points of max |entry difference|"
    )
    print(f"| {'operator':<8} | {'max |kernel − exact|':>20} | {'max |exact|':>11} |")
    print(f"|{'-' * 10}|{'-' * 22}|{'-' * 13}|")
    for n in NAMES:
        print(f"| {n:<8} | {max_diff[n]:>20.3e} | {max_abs[n]:>11.3g} |")

    # speed table
    rows = [
        ("generated kernels, evaluate() on all N (best of 3)", t_kernels, "measured"),
        ("generated kernels, evaluate(out=preallocated) (best of 3)", t_kernels_out, "measured"),
        ("generated kernels, one call per operator (best of 3)", t_kernels_sep, "measured"),
        (f"generated kernels, chunks of {chunk:,} (best of 3)", t_kernels_ch, "measured"),
        (f"batched eigh + direct rotation, chunks of {chunk:,} (best of {len(t_ref_runs)})", t_ref, "measured"),
    ]
    if t_loop is not None:
        rows.append(("per-point certify.exact_effective loop", t_loop, f"{min(args.loop_points, N):,} pts, scaled"))
    w = max(len(r[0]) for r in rows)
    print(f"\n| {'method':<{w}} | {'seconds':>8} | {'k-points / s':>12} | {'time / kernels':>16} | {'timing':<18} |")
    print(f"|{'-' * (w + 2)}|{'-' * 10}|{'-' * 14}|{'-' * 18}|{'-' * 20}|")
    for name, t, how in rows:
        print(f"| {name:<{w}} | {t:>8.2f} | {N / t:>12.3e} | {t / t_kernels:>15.1f}× | {how:<18} |")
    print(
        "\nreference stages (best run): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())
        + "  (fill = lambdified 6×6 H and 6 J; rotation = 2 batched eigh + products; sandwich = U† O U)"
    )
    ratio, ratio_out, ratio_ch = t_ref / t_kernels, t_ref / t_kernels_out, t_ref / t_kernels_ch
    print(
        f"speed ratio kernels/reference (batched eigh): {ratio:.1f}× with evaluate() into new arrays, "
        f"{ratio_out:.1f}× into preallocated arrays, {ratio_ch:.1f}× with both chunked (target ≥ 100×: "
        f"{'met' if ratio >= 100 else 'met with preallocated output' if ratio_out >= 100 else 'NOT met'})"
    )
    if t_loop is not None:
        print(f"speed ratio kernels/per-point loop: {t_loop / t_kernels:.0f}×")
    print(f"script wall time: {time.perf_counter() - t_script:.1f} s")
    return 0 if (point_ok and expo_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
