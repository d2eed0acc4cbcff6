"""Non-commuting generators with central commutators: the Moyal star product on Weyl symbols.

Magnetic and electric fields make the momenta operators: ``[k_x, k_y] = -i e B_z/ħ``
for kinetic momenta in a field ``B_z``, ``[z, k_z] = i`` for a position operator in a
potential ``e E_z z``.  Matrix entries stay commutative polynomials, read as **Weyl
symbols**: a monomial of commuting symbols stands for the Weyl-symmetrised operator
(``k_x k_y → (k_x k_y + k_y k_x)/2``).  The operator product becomes the Moyal star
product of the symbols, which for generators ``x_a`` with central commutators
``[x_a, x_b] = θ_ab`` is

    A ⋆ B = Σ_n (1/n!) [½ Σ_ab θ_ab ∂_a^A ∂_b^B]^n (A B)
          = A B + ½ Σ_ab θ_ab ∂_a A ∂_b B + (1/8) Σ θ_ab θ_cd ∂_a∂_c A ∂_b∂_d B + …,

a finite sum for polynomials (the ``n``-th term needs ``n`` derivatives of both
factors), exact, and associative.  Normalisation: ``k_x ⋆ k_y − k_y ⋆ k_x = θ_xy``.
The Weyl map is a *-isomorphism, so the conjugate transpose of a matrix of symbols
is still the entrywise conjugate; derivatives of symbols are symbols of commutators
(``(i/ħ)[H, r_i] ↦ ∂H/ħ∂k_i`` with ``[r_i, k_j] = iδ_ij``), and products with
constant matrices (Pauli matrices) need no correction.  Input and output are
therefore both in the Weyl convention.

The canonical transformation (:mod:`.series`) only multiplies matrices through its
algebra, so :class:`WeylAlgebra` — the exact algebra with ``mul`` replaced by the
star product — makes it exact for operator-valued momenta.  ``H0`` must be central
(:class:`~symbolic_sw.model.Model` moves every term with a non-commuting symbol into
the perturbation), so the Sylvester solve (Eq. 19) is unchanged.
"""

from __future__ import annotations

import sympy

from ..errors import ModelError

__all__ = ["WeylAlgebra", "star", "weyl_symbol"]


def _theta(commutators):
    """``(symbols, {(a, b): θ_ab})`` for both orders of every listed pair (``θ_ba = -θ_ab``)."""
    symbols, theta = [], {}
    for (a, b), c in commutators.items():
        for s in (a, b):
            if s not in symbols:
                symbols.append(s)
        theta[a, b] = sympy.sympify(c)
        theta[b, a] = -sympy.sympify(c)
    return tuple(symbols), theta


def star(A, B, commutators):
    """The Moyal star product ``A ⋆ B`` of two SymPy polynomials (Weyl symbols).

    The reference implementation on SymPy expressions; the engine uses
    :class:`WeylAlgebra` on ring elements.

    Parameters
    ----------
    A, B : sympy.Expr
        Polynomials in the non-commuting symbols (other symbols are central).
    commutators : mapping ``{(a, b): c}``
        ``[a, b] = c`` with ``c`` central.

    Returns
    -------
    sympy.Expr
        The Weyl symbol of the operator product, expanded.
    """
    symbols, theta = _theta(commutators)
    A, B = sympy.expand(A), sympy.expand(B)
    for s in symbols:
        if not (A.is_polynomial(s) and B.is_polynomial(s)):
            raise ModelError(f"star(): the Moyal product is exact only for polynomials in {s}; got a non-polynomial.")
    out, pairs = A * B, [(A, B)]
    n = 0
    while pairs:
        n += 1
        # one more application of ½ Σ θ_ab ∂_a ⊗ ∂_b; the 1/n! comes from dividing by n each round
        new = []
        for X, Y in pairs:
            for (a, b), t in theta.items():
                dX, dY = sympy.diff(X, a), sympy.diff(Y, b)
                if dX != 0 and dY != 0:
                    new.append((t * dX / (2 * n), dY))
        pairs = new
        out += sum((X * Y for X, Y in pairs), sympy.Integer(0))
    return sympy.expand(out)


def weyl_symbol(factors, commutators):
    """The Weyl symbol of the operator product ``factors[0] factors[1] …`` (star products, left to right).

    ``weyl_symbol([k_y, k_x], {(k_x, k_y): θ})`` is ``k_x k_y − θ/2``: the symmetrised
    ``(k_x k_y + k_y k_x)/2`` has the symbol ``k_x k_y``.
    """
    out = sympy.Integer(1)
    for f in factors:
        out = star(out, f, commutators)
    return out


class WeylAlgebra:
    """The exact algebra (:class:`.algebra.RationalAlgebra` or any backend with its methods) with star products.

    Every method but the products is the wrapped algebra's (the Weyl map commutes
    with sums, scalars, conjugation and block masks); :meth:`mul` and
    :meth:`mul_entries` are the Moyal product (module docstring).

    Parameters
    ----------
    base : RationalAlgebra
        The commutative exact algebra whose ring holds the non-commuting symbols
        as plain generators and the commutator values.
    commutators : mapping ``{(a, b): c}``
        ``[a, b] = c``, ``c`` central (validated by :class:`~symbolic_sw.model.Model`).
    """

    def __init__(self, base, commutators):
        self.base = base
        symbols, theta = _theta(commutators)
        missing = [str(s) for s in symbols if s not in base.symbols]
        if missing:
            raise ModelError(
                f"the non-commuting symbols {', '.join(missing)} are not generators of the exact ring. Fix: "
                f"pass them to Generators with the momenta."
            )
        self.noncommuting = symbols
        self._index = [base.symbols.index(s) for s in symbols]
        # the numerators are polynomials in these generators: no inverse, no atom depends on them
        for s, g in zip(symbols, self._index):
            if tuple(base.gens.derivatives(s)) != ((g, None),):
                raise ModelError(
                    f"{s} does not commute with everything, so it may enter only polynomially (the Moyal "
                    f"product of Weyl symbols is exact for polynomials); here it sits in a denominator or a "
                    f"function. Fix: expand that function in a series by hand."
                )
        position = {s: n for n, s in enumerate(symbols)}
        self._theta = [
            (position[a], position[b], base.entry(t)) for (a, b), t in theta.items() if base.entry(t) is not None
        ]
        self._operators = [{((0,) * len(symbols), (0,) * len(symbols)): base.entry(sympy.Integer(1))}]

    def __getattr__(self, name):
        """Everything but the products is the wrapped algebra's."""
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    # -- the star product ----------------------------------------------------------

    def degree(self, entry):
        """An upper bound of the total degree of an entry in the non-commuting generators (0: central).

        The sum of the per-generator degrees, which both backends' polynomials give
        (``degrees()``); the star-product sum stops at the smaller bound of the factors.
        """
        if entry is None or not entry[0]:
            return 0
        degrees = entry[0].degrees()
        return sum(int(degrees[g]) for g in self._index)

    def _operator(self, n):
        """``(1/n!) (½ Σ θ_ab ∂_a ⊗ ∂_b)^n`` as ``{(multi-index of A, multi-index of B): coefficient}``."""
        base = self.base
        while len(self._operators) <= n:
            m = len(self._operators)
            terms = {}
            for (ma, mb), c in self._operators[-1].items():
                for a, b, t in self._theta:
                    key = (_bump(ma, a), _bump(mb, b))
                    terms.setdefault(key, []).append(base.scale_entry(base.mul_entries(c, t), sympy.Rational(1, 2 * m)))
            self._operators.append({k: e for k, v in terms.items() if (e := base.add_entries(v)) is not None})
        return self._operators[n]

    def _derivative(self, cache, multi):
        """``∂^multi`` of the entry ``cache[0, …, 0]``, memoised in ``cache`` (built from lower derivatives).

        The gap factors are central and the non-commuting symbols plain polynomial
        generators (checked in the constructor), so only the numerator is
        differentiated, generator by generator, on either backend's polynomials.
        """
        if multi in cache:
            return cache[multi]
        g = next(i for i, e in enumerate(multi) if e)
        lower = self._derivative(cache, _bump(multi, g, -1))
        out = None
        if lower is not None:
            num, idx = lower[0], self._index[g]
            d = num.derivative(idx) if hasattr(num, "derivative") else num.diff(self.base.ring.gens[idx])
            out = (d, lower[1]) if d else None
        cache[multi] = out
        return out

    def mul_entries(self, a, b, caches=None):
        """The Moyal product ``a ⋆ b`` of two entries (``None`` if zero).

        ``caches`` (derivatives of ``a`` and of ``b`` by multi-index) lets a matrix
        product differentiate each entry once.
        """
        if a is None or b is None:
            return None
        base = self.base
        N = min(self.degree(a), self.degree(b))
        if N == 0:
            return base.mul_entries(a, b)
        zero = (0,) * len(self.noncommuting)
        ca, cb = caches if caches is not None else ({}, {})
        ca.setdefault(zero, a)
        cb.setdefault(zero, b)
        terms = [base.mul_entries(a, b)]
        for n in range(1, N + 1):
            for (ma, mb), c in self._operator(n).items():
                da = self._derivative(ca, ma)
                if da is None:
                    continue
                db = self._derivative(cb, mb)
                if db is not None:
                    terms.append(base.mul_entries(base.mul_entries(c, da), db))
        return base.add_entries(terms)

    def mul(self, A, B, rows=None, cols=None):
        """Matrix product with star-multiplied entries, optionally only the given rows and columns."""
        if A is None or B is None:
            return None
        base = self.base
        if not (self._noncentral(A) and self._noncentral(B)):
            return base.mul(A, B, rows=rows, cols=cols)
        n = len(A)
        rows = range(n) if rows is None else rows
        cols = range(len(B[0])) if cols is None else cols
        out = [[None] * len(B[0]) for _ in range(n)]
        nonzero = False
        Bt = list(zip(*B))
        # derivatives of each entry, shared by every product it enters
        dA = {(i, m): {} for i in rows for m in range(len(B))}
        dB = {(m, j): {} for j in cols for m in range(len(B))}
        for i in rows:
            for j in cols:
                prods = [
                    self.mul_entries(x, y, (dA[i, m], dB[m, j]))
                    for m, (x, y) in enumerate(zip(A[i], Bt[j]))
                    if x is not None and y is not None
                ]
                e = base.add_entries(prods)
                if e is not None:
                    out[i][j] = e
                    nonzero = True
        return out if nonzero else None

    def _noncentral(self, M):
        return any(self.degree(e) for row in M for e in row)


def _bump(multi, i, step=1):
    return (*multi[:i], multi[i] + step, *multi[i + 1 :])
