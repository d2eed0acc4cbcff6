"""The exact algebra on FLINT (python-flint's ``fmpq_mpoly``): the fast backend.

Same entries as :class:`~.algebra.RationalAlgebra` — ``(num, exps)`` meaning
``num / Π_i f_i**exps[i]`` — with the numerator an ``fmpq_mpoly`` in the same
generators, in the same order (:class:`~.algebra.Generators` decides what the
generators are; this module only decides how polynomials are stored and
multiplied).  Products, sums, exact division by the gap factors and
conjugation run in C; the relations of the generator table (``i² = -1``,
``(√p)² = p``, ``x·(1/x) = 1``) are applied by polynomial division by the
binomials ``i² + 1``, ``s² - p`` and ``x u - 1``.  Their leading monomials are
pairwise coprime in every monomial order, so they form a Gröbner basis and the
remainder is the unique reduced polynomial — the same one the SymPy backend
builds monomial by monomial.

Everything that is not on the hot path of the recursion (closed forms,
derivatives, truncation, numeric evaluation, division by gap factors that hold
generators with relations) is delegated to a SymPy :class:`RationalAlgebra`
over the same table (:attr:`FlintAlgebra.reference`), converting each entry
once.  That makes the output identical by construction: the closed forms are
computed from the same reduced polynomials by the same code.
"""

from __future__ import annotations

import flint

from .algebra import RationalAlgebra, resolve_backend

__all__ = ["FlintAlgebra", "make_algebra"]


def make_algebra(gens, factors, block_of, backend=None):
    """The exact algebra over ``gens`` on the chosen backend (:func:`~.algebra.resolve_backend`)."""
    if resolve_backend(backend) == "flint":
        return FlintAlgebra(gens, factors, block_of)
    return RationalAlgebra(gens, factors, block_of)


class FlintAlgebra(RationalAlgebra):
    """:class:`~.algebra.RationalAlgebra` with ``fmpq_mpoly`` numerators (module docstring).

    Parameters
    ----------
    gens : Generators
        The generator table (shared with the SymPy reference).
    factors : list of sympy.Expr
        Gap factors (as the Sylvester plans wrote them).
    block_of : tuple of int
        Block label of each basis index.

    Attributes
    ----------
    reference : RationalAlgebra
        The SymPy algebra over the same table: closed forms, derivatives and
        numeric evaluation go through it (:meth:`to_reference`).
    """

    backend = "flint"

    def __init__(self, gens, factors, block_of):
        super().__init__(gens, factors, block_of)
        # generator names are only labels: the ring's own order is kept, so exponent tuples agree
        self._names = tuple(f"g{i}" for i in range(gens.ngens))
        self.ctx = flint.fmpq_mpoly_ctx.get(self._names, "lex")
        self.reference = _Reference(gens, factors, block_of, self)
        self.memo = self.reference.memo
        g = self.ctx.gens()
        self._one = self.ctx.from_dict({(0,) * gens.ngens: 1})
        self._i = g[gens.ii]
        self._i_name = self._names[gens.ii]
        # relations as (test on the degree vector, divisor); pairs first (the others never undo them)
        rel = [(("pair", i, j), g[i] * g[j] - 1) for i, j in gens.pairs]
        rel += [(("square", i), g[i] ** 2 - flint.fmpq(p)) for i, p in gens.squares]
        rel.append((("square", gens.ii), g[gens.ii] ** 2 + 1))
        self._relations = rel
        self.ffactors = [self.to_flint(f) for f in self.factors]
        relation = gens.relation
        # exact division in the polynomial ring is division in the quotient ring only for factors
        # free of generators with relations (a reduced quotient times such a factor stays reduced)
        self._plain = [not any(m[i] for m in f for i in relation) for f in self.factors]
        self._fpow = {}
        self.reference._flint_factors = [f if plain else None for f, plain in zip(self.ffactors, self._plain)]

    # -- conversion ---------------------------------------------------------------

    def to_flint(self, p):
        """A SymPy ring element as an ``fmpq_mpoly`` (same exponent vectors)."""
        return self.ctx.from_dict(dict(p))

    def to_ring(self, q):
        """An ``fmpq_mpoly`` as an element of the SymPy ring."""
        return self.ring.dtype(q.to_dict())

    def to_reference_entry(self, a):
        """An entry as an entry of :attr:`reference`."""
        return None if a is None else (self.to_ring(a[0]), a[1])

    def from_reference_entry(self, a):
        """An entry of :attr:`reference` as an entry of this algebra."""
        return None if a is None or not a[0] else (self.to_flint(a[0]), a[1])

    def to_reference(self, entry):
        """``(reference algebra, entry reduced here and converted)``: where closed forms are computed."""
        out = self.reference._reduced = self.to_reference_entry(self.reduce_entry(entry))
        return self.reference, out

    def poly(self, expr):
        """An expression (generators' expressions or placeholders) as an ``fmpq_mpoly``."""
        return self.to_flint(self.gens.to_ring(expr))

    def poly_expr(self, p):
        """An ``fmpq_mpoly`` as a SymPy expression."""
        return self.gens.expr(self.to_ring(p))

    def expr(self, entry):
        """An entry as a SymPy expression (unsimplified)."""
        return self.reference.expr(self.to_reference_entry(entry))

    # -- relations ------------------------------------------------------------------

    def _normalise(self, p):
        """Apply the relations by division by their binomials (unique remainder, module docstring)."""
        if p.is_zero():
            return p
        degs = p.degrees()
        for key, rel in self._relations:
            if key[0] == "pair":
                if not (degs[key[1]] and degs[key[2]]):
                    continue
            elif degs[key[1]] < 2:
                continue
            p = divmod(p, rel)[1]
            degs = p.degrees()
        return p

    # -- entry arithmetic --------------------------------------------------------------

    def fpow(self, exps):
        """``Π f_i**exps[i]`` as an ``fmpq_mpoly`` (cached)."""
        p = self._fpow.get(exps)
        if p is None:
            p = self._one
            for f, e in zip(self.ffactors, exps):
                if e:
                    p = p * f**e
                    if self._factor_relations:
                        p = self._normalise(p)
            self._fpow[exps] = p
        return p

    def _sum(self, entries, normalise):
        """Sum over the common denominator; ``normalise`` when the numerators are unreduced products."""
        entries = [e for e in entries if e is not None]
        if not entries:
            return None
        if len(entries) == 1 and not normalise:
            return entries[0]
        top = tuple(max(col) for col in zip(*(e[1] for e in entries))) if self.nf else ()
        num = None
        for p, exps in entries:
            if exps != top:
                p = p * self.fpow(tuple(t - e for t, e in zip(top, exps)))
                normalise = normalise or self._factor_relations
            num = p if num is None else num + p
        if normalise:
            num = self._normalise(num)
        return None if num.is_zero() else (num, top)

    def add_entries(self, entries):
        """The sum of entries over their common denominator (``None`` entries skipped; ``None`` if zero)."""
        return self._sum(entries, False)

    def _mul_raw(self, a, b):
        exps = tuple(x + y for x, y in zip(a[1], b[1])) if self.nf else ()
        return (a[0] * b[0], exps)

    def mul_entries(self, a, b):
        """The product of two entries (``None`` if zero)."""
        if a is None or b is None:
            return None
        num, exps = self._mul_raw(a, b)
        num = self._normalise(num)
        return None if num.is_zero() else (num, exps)

    def scale_entry(self, a, c):
        """``c * a`` for a Gaussian-rational ``c`` (SymPy number, ``QQ_I`` or ``QQ`` element)."""
        if a is None:
            return None
        x, y = self._scalar(c)
        num = a[0]
        out = num * x if x else None
        if y:
            im = self._normalise(num * self._i) * y
            out = im if out is None else out + im
        return None if out.is_zero() else (out, a[1])

    def conj_entry(self, a):
        """The complex conjugate: ``i → −i`` (``A + iB ↦ 2A − (A + iB)``), or the generator map via the reference."""
        if a is None:
            return None
        if self.gens.conj is not None:
            return self.from_reference_entry(self.reference.conj_entry(self.to_reference_entry(a)))
        num, exps = a
        real = num.subs({self._i_name: 0})
        num = 2 * real - num
        if self._conj_signs is not None and sum(e for s, e in zip(self._conj_signs, exps) if s < 0) % 2:
            num = -num
        return (num, exps)

    def reduce_entry(self, a):
        """Divide out gap factors that divide the numerator exactly."""
        if a is None:
            return None
        num, exps = a
        if any(e and not plain for e, plain in zip(exps, self._plain)):
            return self.from_reference_entry(self.reference.reduce_entry(self.to_reference_entry(a)))
        exps = list(exps)
        for i, f in enumerate(self.ffactors):
            while exps[i] > 0:
                q, r = divmod(num, f)
                if not r.is_zero():
                    break
                num = q
                exps[i] -= 1
        return (num, tuple(exps))

    def divmod_factor(self, num, i):
        """Lex quotient and remainder by gap factor ``i``, exactly as the reference computes them."""
        q, r = self.reference.divmod_factor(self.to_ring(num), i)
        return self.to_flint(q), self.to_flint(r)

    def truncate_entry(self, entry, limits):
        """Degree truncation (:meth:`RationalAlgebra.truncate_entry`)."""
        return self.from_reference_entry(self.reference.truncate_entry(self.to_reference_entry(entry), limits))

    def diff_entry(self, a, symbol):
        """Derivative with respect to a momentum (through the reference: chain rule through the atoms)."""
        return self.from_reference_entry(self.reference.diff_entry(self.to_reference_entry(a), symbol))

    # -- matrix arithmetic ----------------------------------------------------------------

    def mul(self, A, B, rows=None, cols=None):
        """Matrix product; the relations are applied once per entry, to the sum of the products."""
        if A is None or B is None:
            return None
        n = len(A)
        rows = range(n) if rows is None else rows
        cols = range(len(B[0])) if cols is None else cols
        out = [[None] * len(B[0]) for _ in range(n)]
        nonzero = False
        Bt = list(zip(*B))
        raw = self._mul_raw
        for i in rows:
            Ai = A[i]
            for j in cols:
                prods = [raw(x, y) for x, y in zip(Ai, Bt[j]) if x is not None and y is not None]
                e = self._sum(prods, True) if prods else None
                if e is not None:
                    out[i][j] = e
                    nonzero = True
        return out if nonzero else None

    def identity(self):
        """The unit matrix."""
        one = (self._one, self.zero_exps)
        return [[one if i == j else None for j in range(self.n)] for i in range(self.n)]

    def evaluate(self, A, values):
        """Numeric value of an algebra matrix at ``values`` (through the reference)."""
        if A is not None:
            A = [[self.to_reference_entry(e) for e in row] for row in A]
        return self.reference.evaluate(A, values)


class _Reference(RationalAlgebra):
    """The SymPy algebra behind a :class:`FlintAlgebra`, with FLINT doing its heavy steps.

    A factorisation into primitive irreducibles is unique, and so is the division
    by one polynomial in a fixed monomial order (``p = q f + r`` with no term of
    ``r`` divisible by the leading term of ``f``: two such pairs would differ by
    a multiple of ``f`` whose leading term is divisible by it).  FLINT's
    factoriser and its division in a lex context over the same generators in the
    same order therefore return exactly what SymPy's would; only gap factors
    with generators under relations keep SymPy's division, reduced in the
    quotient ring (:meth:`RationalAlgebra.divmod_factor`).
    """

    factoriser = "flint"

    def __init__(self, gens, factors, block_of, owner):
        super().__init__(gens, factors, block_of)
        self._owner = owner
        self._flint_factors = [None] * self.nf
        self._reduced = None

    def divmod_factor(self, num, i):
        """``num.div(f_i)`` in lex order, by FLINT for a factor free of generators with relations."""
        f = self._flint_factors[i]
        if f is None:
            return super().divmod_factor(num, i)
        owner = self._owner
        q, r = divmod(owner.to_flint(num), f)
        return owner.to_ring(q), owner.to_ring(r)

    def reduce_entry(self, a):
        """:meth:`RationalAlgebra.reduce_entry` with the trial divisions in FLINT (one conversion each way)."""
        if a is not None and a is self._reduced:  # reduced by the owner on the way in (to_reference)
            return a
        if a is None or not any(e and f is not None for e, f in zip(a[1], self._flint_factors)):
            return super().reduce_entry(a)
        if any(e and f is None for e, f in zip(a[1], self._flint_factors)):
            return super().reduce_entry(a)
        owner = self._owner
        num, exps = owner.reduce_entry((owner.to_flint(a[0]), a[1]))
        return (owner.to_ring(num), exps) if exps != a[1] else a
