"""Exact solution of the Sylvester equation ``h_a X - X h_b = C`` (Eq. 19, D10).

The diagonal blocks need not be diagonal.  With ``q`` the minimal polynomial of
``h_b`` (for a Hermitian block: the square-free part of its characteristic
polynomial, so Kramers doublets cost nothing) and ``q(h_b) = 0``::

    q(h_a) X - X q(h_b) = Σ_k q_k Σ_{j<k} h_a^j C h_b^(k-1-j)
    ⇒  X = Σ_j [q(h_a)⁻¹ h_a^j] C [Σ_l q_(j+l+1) h_b^l]

so only the small matrix ``q(h_a)`` is inverted, once, and each solve is a
handful of matrix products.  Its determinant is the *gap polynomial*: it vanishes
exactly when ``h_a`` and ``h_b`` share an eigenvalue.  When ``h_b`` is the smaller
block the roles are swapped.  When both blocks are diagonal the familiar energy
denominators ``X_ij = C_ij / (a_i - b_j)`` are used instead.
"""

from __future__ import annotations

import sympy
from sympy.polys.densearith import dup_quo
from sympy.polys.densetools import dup_diff
from sympy.polys.euclidtools import dup_gcd
from sympy.polys.matrices import DomainMatrix
from sympy.polys.polyutils import _sort_gens

from ..errors import ModelError
from .closed_form import _seeded

__all__ = ["SylvesterPlan", "minimal_polynomial"]


def _expand(M):
    return M.applyfunc(sympy.expand)


def _matrix_poly(coeffs, h):
    """``Σ_k coeffs[k] h^k`` (Horner)."""
    out = sympy.zeros(h.rows)
    for c in reversed(coeffs):
        out = _expand(out * h + c * sympy.eye(h.rows))
    return out


def minimal_polynomial(h):
    """Coefficients ``[q_0, ..., q_d]`` (``q_d = 1``) of a polynomial annihilating ``h``.

    For a Hermitian matrix this is the square-free part of the characteristic
    polynomial; the result is checked and falls back to the characteristic
    polynomial if the check fails.
    """
    coeffs = _square_free_charpoly(h)
    if coeffs is not None and all(e == 0 for e in _matrix_poly(coeffs, h)):
        return coeffs
    return _minimal_polynomial_by_expressions(h)


def _minimal_polynomial_by_expressions(h):
    """:func:`minimal_polynomial` through SymPy expressions (the general, slower route)."""
    lam = sympy.Symbol("_ssw_lambda")
    cp = h.charpoly(lam).as_expr()
    params = sorted(h.free_symbols, key=str)
    candidates = []
    try:
        sqf = sympy.sqf_part(sympy.Poly(cp, lam, *params))
        candidates.append(sympy.Poly(sqf.as_expr(), lam))
    except sympy.PolynomialError:
        pass
    candidates.append(sympy.Poly(cp, lam))
    for q in candidates:
        lc = q.LC()
        if not lc.is_number or lc == 0:
            continue
        coeffs = [sympy.expand(c / lc) for c in reversed(q.all_coeffs())]
        if all(e == 0 for e in _matrix_poly(coeffs, h)):
            return coeffs
    raise ModelError("could not find an annihilating polynomial of a diagonal block")


def _square_free_charpoly(h):
    """Coefficients (lowest first, monic) of the square-free part of h's characteristic polynomial.

    Computed in the polynomial ring of h's entries (no expression round trips);
    None when that is not possible (the caller then takes the general route).
    """
    try:
        M = DomainMatrix.from_Matrix(h)
        K = M.domain
        cp = M.charpoly()
        q = dup_quo(cp, dup_gcd(cp, dup_diff(cp, 1, K), K), K)
        lc = K.to_sympy(q[0])
        if not lc.is_number or lc == 0:
            return None
        return [sympy.expand(K.to_sympy(c) / lc) for c in reversed(q)]
    except Exception:  # only a shortcut: any failure leaves it to the general route
        return None


def _factor_list(d):
    """``sympy.factor_list(d)``, for rational-coefficient polynomials through ``Poly.factor_list``.

    ``Poly.factor_list`` in SymPy's own generator order gives the same factors in
    the same order, skipping the expression-level rebuilding that costs more than
    the factoring.  Wang's algorithm draws random evaluation points: with a fixed
    seed (as for the closed forms) its running time no longer depends on what ran
    before (an unlucky draw can take many minutes); the factors are unique anyway.
    """
    gens = _sort_gens(list(d.free_symbols))
    if gens and d.is_polynomial(*gens):
        poly = sympy.Poly(d, *gens)
        if poly.domain.is_QQ or poly.domain.is_ZZ:
            c, fs = _seeded(poly.factor_list)
            return poly.domain.to_sympy(c), [(f.as_expr(), e) for f, e in fs]
    return _seeded(sympy.factor_list, d)


def _scalar_block(h):
    """``a`` if ``h = a·1``, else None."""
    a = h[0, 0]
    if all((h[i, j] == a) if i == j else (h[i, j] == 0) for i in range(h.rows) for j in range(h.cols)):
        return a
    return None


def _orient(f, positive_symbols):
    """Choose the sign of a gap factor so that it reads like a positive gap."""
    for s in positive_symbols:
        if f.has(s):
            lc = sympy.Poly(f, s).LC()
            while not lc.is_number:
                lc = sympy.Poly(lc, *sorted(lc.free_symbols, key=str)).LC()
            return (f, 1) if lc > 0 else (sympy.expand(-f), -1)
    return f, 1


class SylvesterPlan:
    """Precomputed exact solver of ``h_a X - X h_b = C`` for symbolic blocks.

    The blocks are polynomial matrices.  A model with surds, atoms or inverse
    symbols in its diagonal blocks passes them in the placeholders of its
    generator table (:class:`~.algebra.Generators`) together with that table
    as ``ring``: every polynomial identity used here (Cayley-Hamilton, the
    adjugate) holds in the free polynomial ring and hence in the quotient by the
    relations; the gap polynomial is reduced by the relations (``ring.canonical``)
    before it is checked and factored, and invertible factors of it (``1/m``,
    ``√2``) move to the numerator (``ring.split_unit``).

    Attributes
    ----------
    kind : {"diagonal", "left", "right"}
        Energy denominators, or which block's minimal polynomial is used.
    left, right : list of sympy.Matrix
        ``X = Σ_j left[j] · C · right[j] / denominator`` (not for "diagonal").
    denominator : sympy.Expr
        The gap polynomial (for "diagonal": the matrix of ``a_i - b_j``).
    factors : list of (sympy.Expr, int) per denominator
        Its factorisation ``(c, [(f, e)])`` into oriented irreducible gap factors
        (``c`` a number, or with ``ring`` a number times a unit monomial).
    """

    def __init__(self, h_a, h_b, momenta=(), labels=(0, 1), ring=None):
        self.h_a, self.h_b = h_a, h_b
        self.shape = (h_a.rows, h_b.rows)
        label = f"blocks {labels[0]} and {labels[1]}"
        positive = sorted(
            {s for i in range(h_b.rows) for s in h_b[i, i].free_symbols}
            - {s for i in range(h_a.rows) for s in h_a[i, i].free_symbols}
            - set(momenta),
            key=str,
        )
        if ring is not None:  # orient by the model's own symbols, not by placeholders
            positive = [s for s in positive if not isinstance(s, sympy.Dummy)]
        at_k0 = {k: 0 for k in momenta}

        def gap_check(d, where):
            d = ring.canonical(d) if ring is not None else sympy.expand(d)
            at_zero = (ring.to_user(d) if ring is not None else d).subs(at_k0)
            if d == 0 or sympy.expand(at_zero) == 0:
                raise ModelError(
                    f"{label} share an eigenvalue at k = 0 ({where} vanishes), so the "
                    f"Sylvester equation (Eq. 19) is singular and the canonical "
                    f"transformation does not exist. Fix: choose a block partition that "
                    f"keeps degenerate states in the same block, or move the term that "
                    f"lifts the degeneracy into the unperturbed blocks."
                )
            return d

        def factorise(d):
            c, fs = _factor_list(d)
            out = []
            for f, e in fs:
                if ring is not None:
                    # invertible parts (1/m, √2, an atom with its inverse) go to the numerator, and a
                    # factor is scaled to a numeric leading coefficient (fast exact division)
                    unit, f = ring.split_unit(sympy.expand(f))
                    c *= unit**e
                    if f == 1:
                        continue
                f, sign = _orient(sympy.expand(f), positive)
                c *= sign**e
                out.append((f, e))
            return c, out

        diagonal = all(h_a[i, j] == 0 for i in range(h_a.rows) for j in range(h_a.cols) if i != j) and all(
            h_b[i, j] == 0 for i in range(h_b.rows) for j in range(h_b.cols) if i != j
        )
        if diagonal:
            self.kind = "diagonal"
            self.denominator = sympy.Matrix(
                h_a.rows,
                h_b.rows,
                lambda i, j: gap_check(h_a[i, i] - h_b[j, j], f"the energy difference a_{i} - b_{j}"),
            )
            self.factors = [[factorise(self.denominator[i, j]) for j in range(h_b.rows)] for i in range(h_a.rows)]
            return

        if h_a.rows <= h_b.rows and _scalar_block(h_a) is not None:
            # h_a = a·1 (e.g. a Kramers doublet): q(h_a) = q(a)·1, so X = Σ_j a^j C R_j / q(a);
            # the general branch gives the same after reduction, via det = q(a)^n and its
            # adjugate (a larger gap polynomial to factor, then cancelled again)
            self.kind = "left"
            a = _scalar_block(h_a)
            q = minimal_polynomial(h_b)
            d = len(q) - 1
            hb_pows = [sympy.eye(h_b.rows)]
            for _ in range(d - 1):
                hb_pows.append(_expand(hb_pows[-1] * h_b))
            self.left = [sympy.expand(a**j) * sympy.eye(h_a.rows) for j in range(d)]
            self.right = [
                _expand(sum((q[j + l + 1] * hb_pows[l] for l in range(d - j)), sympy.zeros(h_b.rows))) for j in range(d)
            ]
            self.denominator = gap_check(
                sympy.expand(sum(c * a**k for k, c in enumerate(q))), "the gap polynomial q(a)"
            )
            self.factors = factorise(self.denominator)
            return

        if h_a.rows <= h_b.rows:
            self.kind = "left"
            q = minimal_polynomial(h_b)
            M = _matrix_poly(q, h_a)
            d = len(q) - 1
            powers = [sympy.eye(h_a.rows)]
            for _ in range(d - 1):
                powers.append(_expand(powers[-1] * h_a))
            hb_pows = [sympy.eye(h_b.rows)]
            for _ in range(d - 1):
                hb_pows.append(_expand(hb_pows[-1] * h_b))
            adj = _expand(M.adjugate())
            self.left = [_expand(adj * P) for P in powers]
            self.right = [
                _expand(sum((q[j + l + 1] * hb_pows[l] for l in range(d - j)), sympy.zeros(h_b.rows))) for j in range(d)
            ]
        else:
            self.kind = "right"
            p = minimal_polynomial(h_a)
            M = _matrix_poly(p, h_b)
            d = len(p) - 1
            ha_pows = [sympy.eye(h_a.rows)]
            for _ in range(d - 1):
                ha_pows.append(_expand(ha_pows[-1] * h_a))
            powers = [sympy.eye(h_b.rows)]
            for _ in range(d - 1):
                powers.append(_expand(powers[-1] * h_b))
            adj = _expand(M.adjugate())
            self.left = [
                _expand(-sum((p[j + l + 1] * ha_pows[j] for j in range(d - l)), sympy.zeros(h_a.rows)))
                for l in range(d)
            ]
            self.right = [_expand(P * adj) for P in powers]
        self.denominator = gap_check(M.det(method="berkowitz"), "the gap polynomial det q(h)")
        self.factors = factorise(self.denominator)

    def gap_factors(self):
        """All oriented gap factors this plan puts into denominators."""
        if self.kind == "diagonal":
            return [f for row in self.factors for _, fs in row for f, _ in fs]
        return [f for f, _ in self.factors[1]]


def inverse_entry(alg, factorisation):
    """``1 / (c Π f^e)`` as an algebra entry, given ``(c, [(f, e)])``."""
    c, fs = factorisation
    exps = [0] * alg.nf
    for f, e in fs:
        exps[alg.factor_index(f)] += int(e)  # factor_list may hand back SymPy Integers
    return alg.entry(1 / (sympy.nsimplify(c) if c.is_number else c), exps)


class SylvesterSolver:
    """A :class:`SylvesterPlan` instantiated in a :class:`RationalAlgebra`."""

    def __init__(self, plan: SylvesterPlan, alg):
        self.plan, self.alg = plan, alg
        if plan.kind == "diagonal":
            self.inv = [
                [inverse_entry(alg, plan.factors[i][j]) for j in range(plan.shape[1])] for i in range(plan.shape[0])
            ]
            return
        inv_det = inverse_entry(alg, plan.factors)
        self.left = [alg.reduce(alg.matrix(L)) for L in plan.left]
        self.right = [alg.reduce(alg.matrix(R)) for R in plan.right]
        if plan.kind == "left":
            self.left = [self._divide(L, inv_det) for L in self.left]
        else:
            self.right = [self._divide(R, inv_det) for R in self.right]

    def _divide(self, M, inv):
        alg = self.alg
        if M is None:
            return None
        return alg.reduce([[alg.mul_entries(e, inv) for e in row] for row in M])

    def __call__(self, C):
        """Solve ``h_a X - X h_b = C`` for an algebra sub-block ``C``."""
        alg = self.alg
        if C is None:
            return None
        if self.plan.kind == "diagonal":
            out = [[alg.mul_entries(C[i][j], self.inv[i][j]) for j in range(len(C[0]))] for i in range(len(C))]
            return out if any(e is not None for r in out for e in r) else None
        return alg.add([alg.mul(alg.mul(L, C), R) for L, R in zip(self.left, self.right)])
