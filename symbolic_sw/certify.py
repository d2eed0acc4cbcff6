"""Numeric certification of derived operators against the exact (all-orders) transformation.

The reference is the direct rotation ``U = sqrt((2P − 1)(2P0 − 1))`` (P: spectral
projector on the states adiabatically connected to the essential block, P0: on
its basis states).  For an off-diagonal generator the Schrieffer-Wolff unitary
*is* this rotation, so order-n effective operators approach ``(U† O U)_AA`` with
an error ``O(z^(n+1))`` as the couplings are scaled by ``z`` — ``O(z^(n+2))`` when
odd orders vanish.  A wrong formula shows up as an exponent that is too small.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np
import sympy

from . import operators as ops
from .derivation import Derivation, load_derivation
from .errors import ModelError
from .pauli import SIGMA
from .pipeline import build
from .transformation.numeric import NumericAlgebra, NumericSylvester
from .transformation.series import CanonicalSeries

__all__ = [
    "Certificate",
    "block_rotation",
    "certify",
    "direct_rotation",
    "exact_block_effective",
    "exact_effective",
    "fit_exponent",
]

POINTS = ((0.31, 0.17, 0.21), (-0.23, 0.41, -0.13), (0.12, -0.37, 0.33))  # k_z used in 3-D
ZS = (0.2, 0.1, 0.05, 0.025)


def direct_rotation(H, n_a):
    """The unitary U with U P0 U† = P, from the eigenvectors of H (numpy)."""
    _E, vecs = np.linalg.eigh(H)
    weight = np.sum(np.abs(vecs[:n_a, :]) ** 2, axis=0)
    chosen = np.argsort(-weight, kind="stable")[:n_a]
    P = vecs[:, chosen] @ vecs[:, chosen].conj().T
    P0 = np.zeros_like(P)
    P0[:n_a, :n_a] = np.eye(n_a)
    one = np.eye(len(H))
    R = (2 * P - one) @ (2 * P0 - one)
    # sqrt(R) = (1 + R)(2 + R + R†)^(-1/2) for a normal R without eigenvalue -1
    w, v = np.linalg.eigh(2 * one + R + R.conj().T)
    return (one + R) @ (v @ np.diag(w**-0.5) @ v.conj().T)


def exact_effective(H, operators, n_a):
    """``[(U† O U)_AA for O in operators]`` with the direct rotation."""
    U = direct_rotation(H, n_a)
    return [(U.conj().T @ O @ U)[:n_a, :n_a] for O in operators]


def _assign_to_blocks(vecs, sizes):
    """Eigenvector → block by largest weight, each block taking exactly its size.

    Valid when the perturbation is small enough that every exact eigenvector is
    mostly made of the unperturbed states it is adiabatically connected to.
    """
    starts = np.cumsum([0, *sizes])
    weight = np.array(
        [np.sum(np.abs(vecs[starts[a] : starts[a + 1], :]) ** 2, axis=0) for a in range(len(sizes))]
    )  # (block, eigenvector)
    free, owner = list(sizes), [-1] * vecs.shape[1]
    order = np.argsort(-weight, axis=None, kind="stable")
    for flat in order:
        a, j = divmod(int(flat), vecs.shape[1])
        if owner[j] < 0 and free[a] > 0:
            owner[j], free[a] = a, free[a] - 1
    return [np.flatnonzero(np.array(owner) == a) for a in range(len(sizes))]


def block_rotation(H, sizes):
    """The exact block-diagonalising unitary for any number of blocks (numpy).

    Among all ``U`` with ``U†HU`` block-diagonal in the partition ``sizes``, the
    one whose diagonal blocks ``U_aa`` are Hermitian and positive: from the
    eigenvectors ``V_a`` assigned to block ``a``, ``U[:, a] = V_a Ω_a†`` with
    ``(V_a)_aa = |…| Ω_a`` the polar decomposition.  This is the gauge of the
    series (``U = 1 + W + V``, ``W`` Hermitian), and for two blocks it equals
    :func:`direct_rotation`.
    """
    sizes = [int(n) for n in sizes]
    _, vecs = np.linalg.eigh(H)
    starts = np.cumsum([0, *sizes])
    U = np.zeros_like(vecs)
    for a, cols in enumerate(_assign_to_blocks(vecs, sizes)):
        Va = vecs[:, cols]
        left, _, right = np.linalg.svd(Va[starts[a] : starts[a + 1], :])
        U[:, starts[a] : starts[a + 1]] = Va @ (left @ right).conj().T
    return U


def exact_block_effective(H, operators, sizes, block=0):
    """``[(U† O U)_bb for O in operators]`` with :func:`block_rotation`, block ``b``."""
    U = block_rotation(H, sizes)
    start = sum(sizes[:block])
    cut = slice(start, start + sizes[block])
    return [(U.conj().T @ O @ U)[cut, cut] for O in operators]


def fit_exponent(zs, errors):
    """Slope of log(error) against log(z)."""
    return float(np.polyfit(np.log(zs), np.log(errors), 1)[0])


@dataclass
class Certificate:
    """Per-operator errors against the reference at each scale ``z`` and the fitted exponents."""

    name: str
    mode: str
    zs: tuple
    errors: dict
    exponents: dict
    expected: float | None

    @property
    def passed(self) -> bool:
        """Whether every error falls off as z**expected (or is at round-off); with nothing scaled, is at round-off."""
        if self.expected is None:
            return all(max(e) < 1e-10 for e in self.errors.values())
        return all(self._ok(n) for n in self.errors)

    def _ok(self, name):
        errs = self.errors[name]
        return max(errs) < 1e-11 or self.exponents[name] >= self.expected - 0.3

    def table(self) -> str:
        """The errors per operator and scale, with the fitted exponent and verdict, as a text table."""
        head = f"{'operator':<9}" + "".join(f"  z={z:<9g}" for z in self.zs) + "  exponent"
        lines = [head, "-" * len(head)]
        for n, errs in self.errors.items():
            exp = self.exponents.get(n)
            verdict = "" if self.expected is None else ("ok" if self._ok(n) else "FAIL")
            exp_text = "exact" if max(errs) < 1e-11 else (f"{exp:6.2f}" if exp is not None else "")
            lines.append(f"{n:<9}" + "".join(f"  {e:<11.3e}" for e in errs) + f"  {exp_text:>8} {verdict}")
        return "\n".join(lines)


def _module(source, name):
    module = types.ModuleType(f"symbolic_sw_certify_{name}")
    exec(compile(source, f"<generated {name}/kernels.py>", "exec"), module.__dict__)  # our own generated source
    return module


class _Reference:
    """Reference effective operators of a model's first block at numeric parameter values.

    ``series=False``: the exact direct rotation (all orders).  ``series=True``: the
    floating-point recursion at ``order`` (exact in the unperturbed blocks), used
    to certify expansions in a block parameter such as b/E_g.
    """

    def __init__(self, model, names, order, series):
        if getattr(model, "commutators", None):
            # the exact rotation below diagonalises float matrices: momenta there commute
            raise ModelError(
                "certify compares with an exact numeric rotation, which treats the momenta as commuting numbers; "
                "this model declares commutators. Fix: check it with a Landau-level (oscillator-basis) "
                "calculation as tests/test_fields.py does."
            )
        self.model, self.order, self.series = model, order, series
        self.n_a = model.blocks[0]
        self.momenta = model.momenta
        micro = {}
        for n in names:
            kind, key = ops.kind_of(n)
            if not kind.hamiltonian:  # H is the reference's own first output
                micro[n] = kind.microscopic(model, *key)
        self.names = list(micro)
        # an operator may carry a symbol H lacks (v = ∂H/ħ∂k has ħ even when H has none)
        extra = set().union(*(m.matrix.free_symbols for m in micro.values())) - set(model.momenta)
        self.params = sorted(set(model.parameters) | extra, key=str)
        args = [*model.momenta, *self.params]

        def lam(M):
            return sympy.lambdify(args, sympy.Matrix(M), modules="numpy")

        self.f_H = lam(model.H)
        self.f_H0, self.f_H1 = lam(model.H0), lam(model.H1)
        self.f_ops = [[lam(p) for p in micro[n].parts] for n in self.names]
        self.f_full = [lam(micro[n].matrix) for n in self.names]

    def __call__(self, vals, k, with_ops=True):
        x = [*k, *(vals.get(str(p), 1.0) if p == self.model.hbar else vals[str(p)] for p in self.params)]

        def num(f):
            return np.array(f(*x), dtype=complex)

        if not self.series:
            H_full = num(self.f_H)
            ops_ = [num(f) for f in self.f_full] if with_ops else []
            H, *outs = exact_effective(H_full, [H_full, *ops_], self.n_a)
            return H, dict(zip(self.names, outs))
        alg = NumericAlgebra(self.model.block_of)
        H0 = num(self.f_H0)
        series = CanonicalSeries(alg, H0, alg.matrix(num(self.f_H1)), NumericSylvester(H0, self.model.block_of))
        series.extend(self.order)
        idx = list(range(self.n_a))

        def cut(M):
            return np.zeros((self.n_a, self.n_a), complex) if M is None else M[np.ix_(idx, idx)]

        H = cut(alg.add(series.H_eff[: self.order + 1]))
        outs = {}
        if with_ops:
            for n, fs in zip(self.names, self.f_ops):
                parts = [alg.matrix(num(f)) for f in fs]
                outs[n] = cut(alg.add(series.transform(parts, self.order, idx)))
        return H, outs

    def point(self, vals, k, names, h=1e-3):
        """Every kernel name at one k point; δJ with a 5-point derivative of H_eff."""
        H, out = self(vals, k)
        ref = {"H": H, **out}
        hbar = vals.get(str(self.model.hbar), 1.0)
        dH = {}
        for n in names:
            kind, key = ops.kind_of(n)
            if not kind.beyond_standard:
                continue
            mu, i = key
            if i not in dH:
                axis = [str(q).removeprefix("k_") for q in self.momenta].index(i)
                Hs = [
                    self(vals, [q + (c * h if a == axis else 0.0) for a, q in enumerate(k)], with_ops=False)[0]
                    for c in (-2, -1, 1, 2)
                ]
                dH[i] = (Hs[0] - 8 * Hs[1] + 8 * Hs[2] - Hs[3]) / (12 * h)
            sigma = np.kron(np.eye(self.n_a // 2), np.array(SIGMA[mu], dtype=complex))
            ref[n] = out[n] - (dH[i] @ sigma + sigma @ dH[i]) / (2 * hbar)
        return ref


def model_values(derivation, values):
    """The microscopic model's parameter values from a derivation's (e.g. b̃ = b̃'/(1 + b/E_g))."""
    out = dict(values)
    lo = derivation.leading_order
    if lo:
        env = {s: values[str(s)] for expr in lo["substitutions"].values() for s in sympy.sympify(expr).free_symbols}
        for sym, expr in lo["substitutions"].items():
            out[str(sym)] = float(sympy.sympify(expr).subs(env))
    return out


def certify(spec, zs=ZS, points=POINTS, kernels=None) -> Certificate:
    """Compare a derivation's generated kernels with the exact transformation.

    Parameters
    ----------
    spec : str or Derivation
    zs : sequence of float
        Scales applied to the spec's ``SCALE`` parameters.
    kernels : module, optional
        Kernels to certify (default: freshly built from the spec).
    """
    derivation = spec if isinstance(spec, Derivation) else load_derivation(spec)
    if kernels is None:
        _, files = build(derivation)
        kernels = _module(files["kernels.py"], derivation.name)
    missing = [p for p in kernels.PARAMETERS if p not in derivation.values]
    if missing:
        raise ModelError(
            f"derivation {derivation.name!r}: VALUES lacks {', '.join(missing)}; add them to the spec to certify it."
        )
    model = derivation.model()
    names = list(kernels.OPERATORS)
    lo = derivation.leading_order
    if lo:
        mode, expected = f"against the exact-in-{lo['small']} series, {lo['small']} → z·{lo['small']}", lo["order"] + 1
    elif derivation.scale:
        mode, expected = (f"against the exact rotation, {', '.join(derivation.scale)} → z·(…)", derivation.order + 1)
    else:
        mode, expected, zs = "against the microscopic operators (nothing eliminated)", None, (1.0,)

    reference = _Reference(model, names, derivation.order, series=bool(lo))
    errors = {n: [] for n in names}
    for z in zs:
        vals = dict(derivation.values)
        for p in derivation.scale:
            vals[p] = vals[p] * z
        model_vals = model_values(derivation, vals)
        worst = {n: 0.0 for n in names}
        params = {p: vals[p] for p in kernels.PARAMETERS}
        for point in points:
            k = tuple(point[: len(model.momenta)])
            ref = reference.point(model_vals, k, names)
            for n in names:
                got = kernels.OPERATORS[n](*k, **params)
                scale = max(1.0, float(np.max(np.abs(ref[n]))))
                worst[n] = max(worst[n], float(np.max(np.abs(got - ref[n]))) / scale)
        for n in names:
            errors[n].append(max(worst[n], 1e-300))
    exponents = {n: fit_exponent(zs, e) for n, e in errors.items()} if len(zs) > 1 else {}
    return Certificate(derivation.name, mode, tuple(zs), errors, exponents, expected)
