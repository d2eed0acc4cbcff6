"""Equilibrium spin current in closed form from effective operators (Eqs. 49-52).

For a two-band effective model ``H = ε(k)σ0 + γ(k)·σ`` and spin current
``J = x(k)σ0 + y(k)·σ``, Eq. (49) reads

    ⟨j⟩ = Σ_λ ∫ d²k/(2π)² [x + λ y·γ̂] f(ξ_λ),   ξ_λ = ε(k) − ε(0) + λ|γ(k)|.

The chemical potential μ is counted from the band bottom E(k = 0) = ε(0) of the
model being evaluated (ERRATA item 3).

Two evaluations are offered:

* :func:`expanded_spin_current` — consistent to the order of the operators in
  the inter-orbital couplings (the paper's "within the same approximation"):
  the couplings are scaled by z and everything is expanded to z^order. Then
  Σ_λ f(ε + λ|γ|) and Σ_λ λ γ̂ f(...) become polynomials in k times derivatives
  f^(n)(ξ0), ξ0 = ħ²k²/2m the unperturbed band; the angular integral is done
  monomial by monomial and the radial one by parts into Fermi-Dirac integrals
  ∫_0^∞ ξ^j f(ξ) dξ = −j! T^(j+1) Li_(j+1)(−e^(μ/T))  (μ^(j+1)/(j+1) at T = 0).
  No approximation beyond the truncation in z; any T ≥ 0.
* :func:`rashba_spin_current` — no expansion, T = 0, for an isotropic
  Rashba-form H (ε = ε(0) + c k², |γ| = α k): integrates exactly up to the two
  Fermi momenta. Applied to the standard definition it is Eq. (4).
"""

from __future__ import annotations

import sympy

from ..errors import ModelError
from ..pauli import SIGMA, kron, pauli_coefficients
from ..symbols import k_x, k_y
from ..transformation.numeric import real_number

__all__ = [
    "T",
    "band_curvature",
    "equilibrium_spin_current",
    "expanded_integrand",
    "expanded_spin_current",
    "fermi_dirac_integral",
    "mu",
    "rashba_radial",
    "rashba_spin_current",
    "spin_sectors",
    "standard_spin_current_operator",
]

mu = sympy.Symbol("mu", real=True)
T = sympy.Symbol("T", nonnegative=True)
_k = sympy.Symbol("k", positive=True)


def _pauli(M):
    M = sympy.Matrix(M)
    if M.shape != (2, 2):
        raise ModelError(
            f"the closed-form spin current needs 2×2 effective operators, got {M.shape}; "
            f"use the numeric evaluation (symbolic_sw.observables.numeric) for more bands."
        )
    return pauli_coefficients(M)


def _mu_T(mu_, T_):
    """μ and T as SymPy: symbols pass, numbers must be finite reals with T ≥ 0 (and μ ≥ 0 at T = 0).

    A number is checked by :func:`~symbolic_sw.transformation.numeric.real_number`
    (never parsed: a string is refused), so NaN or ±inf cannot reach a polylog.
    """
    out = []
    for value, name in ((mu_, "mu_"), (T_, "T_")):
        if isinstance(value, sympy.Basic) and value.free_symbols:
            out.append(value)
            continue
        real_number(value, name)
        out.append(value if isinstance(value, sympy.Basic) else sympy.sympify(value))  # a checked number
    mu_, T_ = out
    if T_.is_number and T_ < 0:
        raise ModelError(f"T_ = {T_} < 0: the temperature (k_B = 1) must be ≥ 0. Fix: pass T_ ≥ 0.")
    if T_ == 0 and mu_.is_number and mu_ < 0:
        raise ModelError(
            f"mu_ = {mu_} lies below the band bottom E(k=0) (μ is counted from it, ERRATA 3); the T = 0 "
            f"closed form needs μ ≥ 0. Fix: pass mu_ ≥ 0, or T_ > 0."
        )
    return mu_, T_


def band_curvature(H, couplings=(), momenta=(k_x, k_y)):
    """``c`` of the band ``ε(k) − ε(0) = c k²`` of a 2×2 ``H``, with the couplings set to zero.

    The closed forms need ``c > 0`` (a band that bends down is filled to
    ``|k| → ∞``); with ``couplings`` this is the unperturbed band of
    :func:`expanded_integrand` (ħ²/2m for Eq. 33).
    """
    kx, ky = momenta
    h0 = _pauli(H)[0].subs({c: 0 for c in couplings}, simultaneous=True)
    eps0 = sympy.expand(h0 - h0.subs({kx: 0, ky: 0}))
    c2 = sympy.cancel(eps0 / (kx**2 + ky**2))
    if c2.has(kx, ky) or c2 == 0:
        raise ModelError(f"the unperturbed dispersion must be c·k² (an isotropic parabola), got {eps0}.")
    return c2


def fermi_dirac_integral(j, mu_=mu, T_=T):
    """``∫_0^∞ ξ^j f(ξ) dξ`` with ``f = 1/(e^{(ξ−μ)/T} + 1)``; at ``T = 0`` (μ > 0) ``μ^(j+1)/(j+1)``."""
    if T_ == 0:
        return mu_ ** (j + 1) / (j + 1)
    return -sympy.factorial(j) * T_ ** (j + 1) * sympy.polylog(j + 1, -sympy.exp(mu_ / T_))


def _fermi_derivative_at_zero(n, mu_, T_):
    """``f^(n)(0)``: 1 and 0 at T = 0 (μ > 0, the step is at μ); the exact value at T > 0."""
    if T_ == 0:
        return sympy.Integer(1 if n == 0 else 0)
    xi = sympy.Dummy("xi")
    f = 1 / (sympy.exp((xi - mu_) / T_) + 1)
    return sympy.diff(f, xi, n).subs(xi, 0)


def _radial(j, n, mu_, T_):
    """``∫_0^∞ ξ^j f^(n)(ξ) dξ`` by parts (f and its derivatives vanish at ∞)."""
    if n == 0:
        return fermi_dirac_integral(j, mu_, T_)
    if j == 0:
        return -_fermi_derivative_at_zero(n - 1, mu_, T_)
    return -j * _radial(j - 1, n - 1, mu_, T_)


def _angular(a, b):
    """``∫_0^{2π} cos^a φ sin^b φ dφ``."""
    if a % 2 or b % 2:
        return sympy.Integer(0)
    return (
        2
        * sympy.gamma(sympy.Rational(a + 1, 2))
        * sympy.gamma(sympy.Rational(b + 1, 2))
        / sympy.gamma(sympy.Rational(a + b + 2, 2))
    )


def _z_truncate(expr, z, order):
    """Taylor polynomial of ``expr`` in ``z`` to ``z**order`` (expr is polynomial in z)."""
    out, d = [], expr
    for p in range(order + 1):
        c = d.subs(z, 0)
        if c != 0:
            out.append(c * z**p / sympy.factorial(p))
        d = sympy.diff(d, z)
    return sympy.Add(*out)


def expanded_integrand(H, J, couplings, order, momenta=(k_x, k_y)):
    """The λ-summed integrand of Eq. (49) expanded to ``order`` in the couplings.

    Returns ``(c, {n: P_n(k_x, k_y)})`` with ``Σ_λ [...] f(ξ_λ) = Σ_n P_n f^(n)(c k²)``
    to that order, where ``c k²`` is the unperturbed band counted from ε(0).
    """
    kx, ky = momenta
    z = sympy.Dummy("z", positive=True)
    scale = {c: z * c for c in couplings}
    (h0, hx, hy, hz), (x, yx, yy, yz) = ([c.subs(scale, simultaneous=True) for c in _pauli(M)] for M in (H, J))
    eps = h0 - h0.subs({kx: 0, ky: 0})
    gamma = (hx, hy, hz)
    if any(g.subs({kx: 0, ky: 0}) != 0 for g in gamma):
        raise ModelError(
            "γ(k = 0) ≠ 0: the effective Hamiltonian is not time-reversal symmetric "
            "(Eq. 30); the band bottom is not ε(0)."
        )
    eps0 = sympy.expand(eps.subs(z, 0))
    c2 = sympy.cancel(eps0 / (kx**2 + ky**2))
    if c2.has(kx, ky) or c2 == 0:
        raise ModelError(f"the unperturbed dispersion must be c·k² (an isotropic parabola), got {eps0}.")
    d_eps = eps - eps0
    gg = sum(g**2 for g in gamma)
    yg = yx * hx + yy * hy + yz * hz
    # Σ_λ f(ε+λ|γ|) = 2 Σ_{p even} |γ|^p f^(p)(ε)/p!;  Σ_λ λ γ̂·y f = 2 Σ_{p odd} (y·γ)|γ|^(p-1) f^(p)/p!
    # and f^(p)(ε0 + δε) = Σ_q δε^q f^(p+q)(ε0)/q!: only polynomials in k, no |γ|.
    terms = {}
    for p in range(0, order + 1):
        weight = (x * gg ** (p // 2)) if p % 2 == 0 else (yg * gg ** ((p - 1) // 2))
        weight = 2 * weight / sympy.factorial(p)
        for q in range(0, order + 1):
            coeff = _z_truncate(weight * d_eps**q / sympy.factorial(q), z, order)
            if coeff != 0:
                terms[p + q] = terms.get(p + q, 0) + coeff.subs(z, 1)
    return c2, terms


def expanded_spin_current(H, J, couplings, order, mu_=mu, T_=T, momenta=(k_x, k_y)):
    """``⟨j⟩`` of Eq. (49) to ``order`` in the couplings, in closed form at any ``T ≥ 0``.

    Parameters
    ----------
    H, J : 2×2 sympy.Matrix
        Effective Hamiltonian and one effective spin-current component, polynomial
        in the momenta (e.g. Appendix F, exact in b).
    couplings : sequence of sympy.Symbol
        Inter-orbital couplings (ã, b̃): scaled by z, result kept to z^order.
    order : int
        The order of the operators (2 for Appendix F).
    mu_, T_ : sympy expressions
        Chemical potential counted from the band bottom ε(0) (ERRATA 3), and
        temperature (``0`` for the T = 0 closed form; then μ > 0 is assumed).
    """
    kx, ky = momenta
    mu_, T_ = _mu_T(mu_, T_)
    c2, terms = expanded_integrand(H, J, couplings, order, momenta)
    total = sympy.Integer(0)
    for n, coeff in terms.items():
        poly = sympy.Poly(sympy.expand(coeff), kx, ky)
        radial = {}
        for (a, b), c in poly.terms():
            ang = _angular(a, b)
            if ang != 0:
                radial[(a + b) // 2] = radial.get((a + b) // 2, 0) + c * ang
        for j, c in radial.items():
            # ∫ k dk k^(2j) f^(n)(c2 k²) = ∫ dξ ξ^j f^(n)(ξ) / (2 c2^(j+1))
            total += c * _radial(j, n, mu_, T_) / (2 * c2 ** (j + 1))
    return sympy.factor(sympy.expand(total / (2 * sympy.pi) ** 2))


def rashba_radial(H, J, momenta=(k_x, k_y)):
    """Angle-integrated data of Eq. (49) for ``H = ε(0) + c k² + γ·σ`` with ``|γ|² = α²k² + β²``.

    Returns ``(c, α², β², x̄, ȳ)`` with ``x̄ = {n: coefficient of k^n in ∫dφ x}`` and
    ``ȳ = {n: coefficient of k^n in ∫dφ y·γ}``, so that
    ``⟨j⟩ = (2π)⁻² Σ_λ ∫_0^∞ dk k [x̄(k) + λ ȳ(k)/|γ|] f(c k² + λ|γ| − |β|)``
    with energies counted from the band bottom ``E(k=0) = ε(0) − |β|``.
    """
    kx, ky = momenta
    (h0, hx, hy, hz), (x, yx, yy, yz) = (_pauli(M) for M in (H, J))
    eps = sympy.expand(h0 - h0.subs({kx: 0, ky: 0}))
    c2 = sympy.cancel(eps / (kx**2 + ky**2))
    if c2.has(kx, ky) or c2 == 0:
        raise ModelError(f"the unexpanded spin current needs ε(k) − ε(0) = c·k², got {eps}.")
    gg = sympy.expand(hx**2 + hy**2 + hz**2)
    beta2 = gg.subs({kx: 0, ky: 0})
    alpha2 = sympy.cancel((gg - beta2) / (kx**2 + ky**2))
    if alpha2.has(kx, ky):
        raise ModelError(f"the unexpanded spin current needs |γ(k)|² = α²k² + β², got |γ|² = {gg}.")

    def angular(P):
        out = {}
        for (a, b), c in sympy.Poly(sympy.expand(P), kx, ky).terms():
            ang = _angular(a, b)
            if ang != 0:
                out[a + b] = out.get(a + b, 0) + c * ang
        return out

    return c2, alpha2, beta2, angular(x), angular(yx * hx + yy * hy + yz * hz)


def rashba_spin_current(H, J, mu_=mu, momenta=(k_x, k_y)):
    """``⟨j⟩`` at T = 0 without expansion, for ``H = ε(0) + c k² + γ·σ`` with ``|γ| = α k``.

    Both helicity bands are filled up to their Fermi momenta
    ``k_λ = (−λα + √(α² + 4cμ))/(2c)`` (μ > 0 from ε(0)). With the standard
    definition ``J = ½{∂H/∂k_i, σ_μ}/ħ`` for the Rashba model this is Eq. (4).
    """
    mu_, _ = _mu_T(mu_, 0)
    c2, alpha2, beta2, x_bar, yg_bar = rashba_radial(H, J, momenta)
    if beta2 != 0:
        return _gapped_spin_current(c2, alpha2, beta2, x_bar, yg_bar, mu_)
    alpha = sympy.Dummy("alpha", positive=True)  # |α|; its square is alpha2
    # The sum over λ is done on stand-in symbols (C = c, X_n, Y_n) so that the √ cancels cheaply.
    C = sympy.Dummy("C", positive=True)
    X = {n: sympy.Dummy(f"X{n}") for n in x_bar}
    Y = {n: sympy.Dummy(f"Y{n}") for n in yg_bar}
    disc = sympy.sqrt(alpha**2 + 4 * C * mu_)
    total = sympy.Integer(0)
    for lam in (1, -1):
        k_f = (-lam * alpha + disc) / (2 * C)
        for n in x_bar:  # ∫_0^kF k^(n+1) dk
            total += X[n] * k_f ** (n + 2) / (n + 2)
        for n in yg_bar:  # ∫_0^kF λ k^n / |α| dk
            total += lam * Y[n] * k_f ** (n + 1) / ((n + 1) * alpha)
    total = sympy.expand(total / (2 * sympy.pi) ** 2)
    # only even powers of |α| survive the λ sum; write them back as α²
    total = sympy.expand(total.subs(alpha, sympy.sqrt(alpha2)))
    back = {C: c2, **{X[n]: c for n, c in x_bar.items()}, **{Y[n]: c for n, c in yg_bar.items()}}
    return sympy.Add(*[sympy.factor(t.subs(back)) for t in sympy.Add.make_args(total)])


def _gapped_spin_current(c2, alpha2, beta2, x_bar, yg_bar, mu_):
    """T = 0, ``|γ|² = α²k² + β²`` (β ≠ 0): both bands for μ ≥ 2|β|, the lower one below.

    With u = k² the Fermi surface of band λ at E = μ − |β| (from ε(0)) is
    ``u_λ = (2cE + α² − λ√D)/(2c²)``, D = α⁴ + 4cEα² + 4c²β², and there
    ``|γ| = λ(E − c u_λ)``, so ∫ u^n/|γ| du closes without nested radicals.
    """
    if any(n % 2 for n in (*x_bar, *yg_bar)):
        raise ModelError("odd powers of |k| after the angular integral; not a k·p spin current.")
    A2, B, C = (sympy.Dummy(n, positive=True) for n in ("A2", "B", "C"))
    X = {n: sympy.Dummy(f"X{n}") for n in x_bar}
    Y = {n: sympy.Dummy(f"Y{n}") for n in yg_bar}
    E = mu_ - B
    sqrtD = sympy.sqrt(A2**2 + 4 * C * E * A2 + 4 * C**2 * B**2)

    def band(lam):
        u_f = (2 * C * E + A2 - lam * sqrtD) / (2 * C**2)
        total = sum(X[n] * u_f ** (n // 2 + 1) / (n // 2 + 1) / 2 for n in x_bar)
        # ∫_0^{u_f} u^j/√(A2 u + B²) du / 2 with w = A2 u + B²: Σ_i binom(j,i)(−B²)^(j−i) w^(i+1/2)/(i+1/2)
        for n in yg_bar:
            j = n // 2
            prim = 0
            for i in range(j + 1):
                coeff = sympy.binomial(j, i) * (-(B**2)) ** (j - i) / A2 ** (j + 1) / (i + sympy.Rational(1, 2))
                at_f = lam * (E - C * u_f)  # √w at the Fermi surface
                prim += coeff * (at_f ** (2 * i + 1) - B ** (2 * i + 1))
            total += lam * Y[n] * prim / 2
        return total

    both = sympy.expand((band(1) + band(-1)) / (2 * sympy.pi) ** 2)
    lower = sympy.expand(band(-1) / (2 * sympy.pi) ** 2)
    back = {
        A2: alpha2,
        B: sympy.sqrt(beta2),
        C: c2,
        **{X[n]: c for n, c in x_bar.items()},
        **{Y[n]: c for n, c in yg_bar.items()},
    }

    def tidy(expr):
        return sympy.factor(sympy.simplify(expr)).subs(back)

    return sympy.Piecewise((tidy(both), mu_ >= 2 * sympy.sqrt(beta2)), (tidy(lower), True))


def spin_sectors(H, operators=()):
    """Split a 2-orbital ⊗ spin operator set into two 2×2 sectors by a conserved τ_a ⊗ σ_0.

    Returns ``[(H_s, [O_s, ...]) for s in (+, −)]`` in the eigenbasis of the first
    ``τ_a ⊗ σ_0`` (a = 1, 2, 3) that commutes with H and every operator (for
    Eq. G2, τ_2 ⊗ σ_0: H_± = h_R ± b σ_z), or raise ModelError if none does.
    """
    H = sympy.Matrix(H)
    if H.shape == (2, 2):
        return [(H, [sympy.Matrix(O) for O in operators])]
    if H.shape != (4, 4):
        raise ModelError(
            f"closed-form spin currents take 2×2 effective operators (or 4×4 with a conserved "
            f"orbital τ_a ⊗ σ_0), got {H.shape}; use the numeric evaluation."
        )
    for a in "xyz":
        P = kron(SIGMA[a], sympy.eye(2))
        mats = [H, *map(sympy.Matrix, operators)]
        if all((P * M - M * P).applyfunc(sympy.expand).is_zero_matrix for M in mats):
            V = sympy.Matrix.hstack(*[v / v.norm() for val in (1, -1) for v in (P - val * sympy.eye(4)).nullspace()])
            out = []
            for sl in (slice(0, 2), slice(2, 4)):
                W = V[:, sl]
                H_s, *O_s = [(W.H * M * W).applyfunc(sympy.simplify) for M in mats]
                out.append((H_s, O_s))
            return out
    raise ModelError(
        "no conserved τ_a ⊗ σ_0 splits this 4×4 model into two-band sectors; use the "
        "numeric evaluation (symbolic_sw.observables.effective_spin_current)."
    )


def standard_spin_current_operator(H, mu_comp, i, hbar, momenta=(k_x, k_y)):
    """``½{(1/ħ)∂H/∂k_i, σ_μ}``, the textbook definition, Eq. (2)."""
    k = {"x": momenta[0], "y": momenta[1]}[i]
    dH = sympy.Matrix(H).applyfunc(lambda e: e.diff(k)) / hbar
    s = kron(sympy.eye(dH.rows // 2), SIGMA[mu_comp])
    return (dH * s + s * dH) / 2


def equilibrium_spin_current(H, J, *, couplings=(), order=None, momenta=(k_x, k_y), T_=T, mu_=mu, expand=None):
    """``⟨j⟩`` in closed form from an effective Hamiltonian and one spin-current component.

    Parameters
    ----------
    H, J : sympy.Matrix
        2×2 effective operators (or 4×4 with a conserved orbital ``τ_a ⊗ σ_0``
        when ``expand`` is False), polynomial in ``momenta``.
    couplings : sequence of sympy.Symbol
        The inter-block couplings the operators are expanded in (empty when
        nothing was eliminated); see
        :func:`~symbolic_sw.transformation.expansion.coupling_symbols`.
    order : int
        The operators' order in the couplings (needed when expanding).
    expand : bool, optional
        ``True``: consistent to ``order`` in the couplings, any T
        (:func:`expanded_spin_current`).  ``False``: no expansion, T = 0 only, for
        a Rashba-form H (:func:`rashba_spin_current`).  Default: expand when there
        are couplings.

    μ is counted from the band bottom E(k = 0) of the effective model (ERRATA 3).
    For a derivation spec by name use :func:`symbolic_sw.pipeline.equilibrium_spin_current`.
    """
    if isinstance(H, str) or hasattr(H, "operators"):
        raise ModelError(
            "equilibrium_spin_current() takes the matrices H and J; for a derivation (name or "
            "result) use symbolic_sw.equilibrium_spin_current(name, 'x', 'y', ...)."
        )
    H, J = sympy.Matrix(H), sympy.Matrix(J)
    mu_, T_ = _mu_T(mu_, T_)
    if expand is None:
        expand = bool(couplings)
    if expand:
        if not couplings:
            raise ModelError("nothing is eliminated: there is no coupling to expand in; use expand=False.")
        if H.shape != (2, 2):
            raise ModelError(f"the expanded closed form needs 2×2 effective operators, got {H.shape}.")
        return expanded_spin_current(H, J, couplings, order, mu_, T_, momenta)
    if T_ != 0:
        raise ModelError(
            "the unexpanded closed form exists at T = 0 only; pass T_=0, or expand=True, or "
            "use symbolic_sw.observables.effective_spin_current (numeric, any T)."
        )
    sectors = spin_sectors(H, [J])
    radial = [rashba_radial(Hs, Js, momenta) for Hs, (Js,) in sectors]
    if len({sympy.simplify(r[2]) for r in radial}) > 1:
        raise ModelError("the sectors have different gaps at k = 0; their band bottoms differ.")
    return sympy.Add(*[rashba_spin_current(Hs, Js, mu_, momenta) for Hs, (Js,) in sectors])
