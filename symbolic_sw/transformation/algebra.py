"""Exact matrix algebra over rational functions with a fixed set of denominators.

Every entry is a pair ``(num, exps)`` meaning ``num / Π_i f_i**exps[i]``, where
``num`` is a sparse polynomial (``sympy.polys.rings.PolyElement``) with Gaussian
rational coefficients and the ``f_i`` are the *gap factors*: the irreducible real
polynomials that the Sylvester equations can put into denominators. Symbols
that appear in denominators of the input (like ``m`` in ħ²k²/2m or ħ in 1/ħ)
get an inverse generator, and monomials are kept Laurent-reduced.

The imaginary unit is a last generator ``i`` of a ring over the rationals, kept
reduced (``i² = -1``, so its exponent is 0 or 1): rational arithmetic is native
to the coefficient domain, while every Gaussian-rational operation would build
Python objects — products of real or imaginary entries are about four times
faster this way, and mixed ones no slower.  Conversions to SymPy go through the
Gaussian form, so expressions and numbers are exactly those of a ring over
``QQ_I``.

This keeps every intermediate result a polynomial: sums and products never
call ``cancel`` or ``gcd``; common factors are divided out only where asked
(:meth:`RationalAlgebra.reduce`), by exact division by a known factor.

Matrices are dense lists of rows; ``None`` is an exact zero entry, and a
matrix that is entirely zero is represented by ``None`` too.
"""

from __future__ import annotations

import sympy
from sympy.polys.domains import QQ, QQ_I
from sympy.polys.rings import PolyRing

__all__ = ["RationalAlgebra", "polynomial_symbols"]


def _terms(expr):
    """Yield (coefficient, {symbol: exponent}) for an expanded expression."""
    for term in sympy.Add.make_args(sympy.expand(expr)):
        coeff, rest = term.as_coeff_Mul()
        powers = {}
        for factor in sympy.Mul.make_args(rest):
            base, exp = factor.as_base_exp()
            if base.is_number:
                coeff = coeff * factor
                continue
            if not (isinstance(base, sympy.Symbol) and exp.is_Integer):
                raise ValueError(
                    f"entry term {term} is not a polynomial in the parameters (factor "
                    f"{factor}); symbolic-sw handles polynomial entries, with at most "
                    f"monomial denominators such as 1/m."
                )
            powers[base] = powers.get(base, 0) + int(exp)
        yield coeff, powers


def polynomial_symbols(exprs):
    """Symbols of ``exprs`` and the subset that appears with negative powers."""
    symbols, inverse = set(), set()
    for expr in exprs:
        for _, powers in _terms(expr):
            for s, e in powers.items():
                (inverse if e < 0 else symbols).add(s)
    return symbols, inverse


class RationalAlgebra:
    """Arithmetic on matrices of ``num / Π f_i**e_i`` entries.

    Parameters
    ----------
    symbols : iterable of sympy.Symbol
        Symbols that appear with non-negative powers.
    inverse : iterable of sympy.Symbol
        Symbols that appear with negative powers.
    factors : list of sympy.Expr
        Gap factors (real polynomials in ``symbols``).
    block_of : tuple of int
        Block label of each basis index.
    """

    def __init__(self, symbols, inverse, factors, block_of):
        self.symbols = tuple(sorted(set(symbols) | set(inverse), key=str))
        self.inverse = tuple(sorted(inverse, key=str))
        self._inv_gens = tuple(sympy.Dummy(f"inv_{s}") for s in self.inverse)
        self.ring = PolyRing(self.symbols + self._inv_gens + (sympy.Dummy("i"),), QQ)
        #: index of the imaginary unit's generator (the last one)
        self._ii = self.ring.ngens - 1
        # the same ring over QQ_I (no i generator), for conversions to SymPy and numbers
        self._cring = PolyRing(self.symbols + self._inv_gens, QQ_I)
        ngen = len(self.symbols)
        # pairs (index of s, index of 1/s) for Laurent reduction
        self._pairs = tuple((self.symbols.index(s), ngen + j) for j, s in enumerate(self.inverse))
        self._gen_of = {s: i for i, s in enumerate(self.symbols)}
        self._inv_of = {s: ngen + j for j, s in enumerate(self.inverse)}
        self.factor_exprs = list(factors)
        self.factors = [self.poly(f) for f in factors]
        self.nf = len(self.factors)
        self._divisors = [self._divisor(f) for f in self.factors]
        self.zero_exps = (0,) * self.nf
        self._pow = {}
        #: caches of pure functions of ring elements (closed forms), shared by all operators
        self.memo = {}
        self.block_of = tuple(block_of)
        self.n = len(self.block_of)

    # -- conversion -----------------------------------------------------------

    def poly(self, expr):
        """An expression with monomial denominators as a ring element."""
        ring = self.ring
        terms = {}
        ngens = ring.ngens
        for coeff, powers in _terms(expr):
            mono = [0] * ngens
            for s, e in powers.items():
                if e >= 0:
                    if s not in self._gen_of:
                        raise ValueError(f"symbol {s} is unknown to this algebra")
                    mono[self._gen_of[s]] += e
                else:
                    if s not in self._inv_of:
                        raise ValueError(f"symbol {s} appears in a denominator unexpectedly")
                    mono[self._inv_of[s]] += -e
            mono = self._laurent_mono(mono)
            c = QQ_I.from_sympy(coeff)
            if c.x:
                terms[mono] = terms.get(mono, QQ.zero) + c.x
            if c.y:
                mono_i = (*mono[:-1], 1)
                terms[mono_i] = terms.get(mono_i, QQ.zero) + c.y
        return ring.dtype({k: v for k, v in terms.items() if v})

    def truncate_entry(self, entry, limits):
        """Drop the monomials of ``entry`` whose degree in a generator group exceeds its limit.

        ``limits`` is a sequence of ``(generator indices, max total degree)``.  This
        is a degree truncation of the rational function only when no gap factor
        contains those generators (checked by the caller).
        """
        if entry is None:
            return None
        num, exps = entry
        kept = {mono: c for mono, c in num.items() if all(sum(mono[i] for i in idx) <= deg for idx, deg in limits)}
        if not kept:
            return None
        return (self.ring.dtype(kept), exps)

    def _laurent_mono(self, mono):
        for i, j in self._pairs:
            common = min(mono[i], mono[j])
            if common:
                mono[i] -= common
                mono[j] -= common
        return tuple(mono)

    def _normalise(self, p):
        """Laurent-reduce the monomials of a product and apply ``i² = -1``."""
        ii, pairs = self._ii, self._pairs
        if not any(mono[ii] > 1 or any(mono[i] and mono[j] for i, j in pairs) for mono in p):
            return p
        out = {}
        zero = QQ.zero
        for mono, c in p.items():
            if pairs:
                mono = self._laurent_mono(list(mono))
            if mono[ii] > 1:  # the factors are reduced, so the exponent is at most 2
                mono = (*mono[:ii], mono[ii] - 2)
                c = -c
            out[mono] = out.get(mono, zero) + c
        return self.ring.dtype({k: v for k, v in out.items() if v})

    def _gaussian(self, p):
        """A ring element as an element of the same ring over ``QQ_I`` (no ``i``)."""
        ii = self._ii
        re, im = {}, {}
        for mono, c in p.items():
            (im if mono[ii] else re)[mono[:ii]] = c
        zero = QQ.zero
        return self._cring.dtype({m: QQ_I(re.get(m, zero), im.get(m, zero)) for m in re.keys() | im.keys()})

    @staticmethod
    def _scalar(c):
        """Real and imaginary part (rationals) of a number, SymPy or domain element."""
        if isinstance(c, sympy.Basic):
            c = QQ_I.from_sympy(c)
        if isinstance(c, QQ_I.dtype):
            return c.x, c.y
        return QQ.convert(c), QQ.zero

    def entry(self, expr, exps=None):
        """Entry ``expr / Π f**exps`` (``None`` if zero)."""
        p = self.poly(expr)
        if not p:
            return None
        return (p, tuple(exps) if exps is not None else self.zero_exps)

    def matrix(self, M):
        """A SymPy matrix as an algebra matrix."""
        M = sympy.Matrix(M)
        rows = [[self.entry(M[i, j]) for j in range(M.cols)] for i in range(M.rows)]
        return rows if any(e is not None for r in rows for e in r) else None

    def poly_expr(self, p):
        """A ring element as a SymPy expression (inverse generators → 1/s)."""
        gens = list(self.symbols) + [1 / s for s in self.inverse]
        return self._gaussian(p).as_expr(*gens)

    def expr(self, entry):
        """An entry as a SymPy expression (unsimplified)."""
        if entry is None:
            return sympy.Integer(0)
        num, exps = entry
        den = sympy.Mul(*[f**e for f, e in zip(self.factor_exprs, exps) if e])
        return self.poly_expr(num) / den

    # -- entry arithmetic -------------------------------------------------------

    def fpow(self, exps):
        """``Π f_i**exps[i]`` as a ring element (cached)."""
        p = self._pow.get(exps)
        if p is None:
            p = self.ring.one
            for f, e in zip(self.factors, exps):
                if e:
                    p = p * f**e
            self._pow[exps] = p
        return p

    def add_entries(self, entries):
        """The sum of entries over their common denominator (``None`` entries skipped; ``None`` if zero)."""
        entries = [e for e in entries if e is not None]
        if not entries:
            return None
        if len(entries) == 1:
            return entries[0]
        if self.nf:
            top = tuple(max(col) for col in zip(*(e[1] for e in entries)))
        else:
            top = ()
        num = self.ring.zero
        for p, exps in entries:
            if exps != top:
                p = p * self.fpow(tuple(t - e for t, e in zip(top, exps)))
            num += p
        return (num, top) if num else None

    def mul_entries(self, a, b):
        """The product of two entries: numerators multiplied, gap-factor exponents added (``None`` if zero)."""
        if a is None or b is None:
            return None
        num = self._normalise(a[0] * b[0])
        if not num:
            return None
        if self.nf:
            return (num, tuple(x + y for x, y in zip(a[1], b[1])))
        return (num, ())

    def scale_entry(self, a, c):
        """``c * a`` for a Gaussian-rational ``c`` (SymPy number, ``QQ_I`` or ``QQ`` element)."""
        if a is None:
            return None
        x, y = self._scalar(c)
        num = a[0]
        if not y:
            return (num * x, a[1])
        ii, zero = self._ii, QQ.zero
        out = {}
        for mono, v in num.items():
            if x:
                out[mono] = out.get(mono, zero) + v * x
            # i·(v mono): the i exponent flips, i² = -1
            if mono[ii]:
                mono, w = (*mono[:ii], 0), -v * y
            else:
                mono, w = (*mono[:ii], 1), v * y
            out[mono] = out.get(mono, zero) + w
        return (self.ring.dtype({k: v for k, v in out.items() if v}), a[1])

    def conj_entry(self, a):
        """The complex conjugate of an entry (``i → −i``; the gap factors are real)."""
        if a is None:
            return None
        ii = self._ii
        num = self.ring.dtype({m: -c if m[ii] else c for m, c in a[0].items()})
        return (num, a[1])

    def _divisor(self, f):
        """``(v, d, c, lower)`` when ``f = c v^d + Σ_(j<d) f_j v^j`` with a constant ``c``.

        ``v`` is the lex-leading generator of ``f``; ``lower`` lists ``(j, f_j)``
        as monomial dicts without ``v``.  ``None`` if ``f`` is not of this form.
        """
        lead = f.leading_expv()
        v = next(i for i, e in enumerate(lead) if e)
        d = lead[v]
        if any(e for i, e in enumerate(lead) if i != v) or sum(1 for mono in f if mono[v] == d) != 1:
            return None
        lower = {}
        for mono, c in f.items():
            j = mono[v]
            if j < d:
                lower.setdefault(j, {})[(*mono[:v], 0, *mono[v + 1 :])] = c
        return v, d, f[lead], sorted(lower.items())

    def divmod_factor(self, num, i):
        """``num.div(self.factors[i])``: quotient and remainder in the ring's lex order.

        The generic multivariate division rescans the whole dividend for its
        leading term at every step.  Gap factors are (so far always) of the form
        ``c v^d + lower powers of v`` with a constant ``c``, for which lex
        division is long division in ``v`` with polynomial coefficients, and the
        quotient and remainder (``deg_v r < d``) are unique, so this gives exactly
        ``num.div(f)`` in linear time.  Other factors use ``num.div``.
        """
        spec = self._divisors[i]
        if spec is None:
            return num.div(self.factors[i])
        v, d, c, lower = spec
        # coefficients of v^k as monomial dicts with the v exponent cleared
        parts = {}
        for mono, coeff in num.items():
            parts.setdefault(mono[v], {})[(*mono[:v], 0, *mono[v + 1 :])] = coeff
        if not parts or max(parts) < d:
            return self.ring.zero, num
        one = self.ring.domain.one
        inv_c = one / c
        mono_mul = self.ring.monomial_mul
        quotient = {}
        for k in range(max(parts), d - 1, -1):
            a = parts.pop(k, None)
            if not a:
                continue
            qk = a if inv_c == one else {m: x * inv_c for m, x in a.items()}
            quotient[k - d] = qk
            for j, fj in lower:
                target = parts.setdefault(k - d + j, {})
                for m1, x1 in qk.items():
                    for m2, x2 in fj.items():
                        m = mono_mul(m1, m2)
                        y = target.get(m)
                        y = -x1 * x2 if y is None else y - x1 * x2
                        if y:
                            target[m] = y
                        else:
                            del target[m]
        return self._join(quotient, v), self._join(parts, v)

    def _join(self, parts, v):
        """Inverse of the split by powers of generator ``v``."""
        out = {}
        for k, d in parts.items():
            if k:
                for mono, c in d.items():
                    out[(*mono[:v], k, *mono[v + 1 :])] = c
            else:
                out.update(d)
        return self.ring.dtype(out)

    def reduce_entry(self, a):
        """Divide out gap factors that divide the numerator exactly."""
        if a is None:
            return None
        num, exps = a
        exps = list(exps)
        for i in range(self.nf):
            while exps[i] > 0:
                q, r = self.divmod_factor(num, i)
                if r:
                    break
                num = q
                exps[i] -= 1
        return (num, tuple(exps))

    def diff_entry(self, a, symbol):
        """Derivative of an entry with respect to a (non-inverted) symbol."""
        if a is None:
            return None
        num, exps = a
        g = self.ring.gens[self._gen_of[symbol]]
        terms = [(num.diff(g), exps)]
        for i, (f, e) in enumerate(zip(self.factors, exps)):
            if e:
                df = f.diff(g)
                if df:
                    up = list(exps)
                    up[i] += 1
                    terms.append((num * df * QQ(-e), tuple(up)))
        return self.add_entries([t for t in terms if t[0]])

    # -- matrix arithmetic ------------------------------------------------------

    def mul(self, A, B, rows=None, cols=None):
        """Matrix product, optionally only the given rows and columns."""
        if A is None or B is None:
            return None
        n = len(A)
        rows = range(n) if rows is None else rows
        cols = range(len(B[0])) if cols is None else cols
        out = [[None] * len(B[0]) for _ in range(n)]
        nonzero = False
        Bt = list(zip(*B))
        for i in rows:
            Ai = A[i]
            for j in cols:
                Bj = Bt[j]
                prods = [self.mul_entries(x, y) for x, y in zip(Ai, Bj) if x is not None and y is not None]
                e = self.add_entries(prods)
                if e is not None:
                    out[i][j] = e
                    nonzero = True
        return out if nonzero else None

    def add(self, matrices):
        """The sum of the matrices (``None`` ones skipped; ``None`` if it is zero)."""
        matrices = [M for M in matrices if M is not None]
        if not matrices:
            return None
        if len(matrices) == 1:
            return matrices[0]
        n, m = len(matrices[0]), len(matrices[0][0])
        out = [[self.add_entries([M[i][j] for M in matrices]) for j in range(m)] for i in range(n)]
        return out if any(e is not None for r in out for e in r) else None

    def scale(self, A, c):
        """``c * A`` for a number ``c`` (int, SymPy number; a float is read by ``nsimplify``)."""
        if A is None:
            return None
        if isinstance(c, float):
            c = sympy.nsimplify(c)
        c = QQ_I(*self._scalar(c))  # converted once, not per entry
        return [[self.scale_entry(e, c) for e in row] for row in A]

    def dagger(self, A):
        """The conjugate transpose."""
        if A is None:
            return None
        return [[self.conj_entry(A[j][i]) for j in range(len(A))] for i in range(len(A[0]))]

    def _mask(self, A, keep):
        if A is None:
            return None
        b = self.block_of
        out = [[e if keep(b[i], b[j]) else None for j, e in enumerate(row)] for i, row in enumerate(A)]
        return out if any(e is not None for r in out for e in r) else None

    def mask_rows(self, A, rows):
        """Only the given rows of ``A``."""
        if A is None:
            return None
        keep = set(rows)
        out = [row if i in keep else [None] * len(row) for i, row in enumerate(A)]
        return out if any(e is not None for r in out for e in r) else None

    def mask_cols(self, A, cols):
        """Only the given columns of ``A``."""
        if A is None:
            return None
        keep = set(cols)
        out = [[e if j in keep else None for j, e in enumerate(row)] for row in A]
        return out if any(e is not None for r in out for e in r) else None

    def diag(self, A):
        """Block-diagonal part."""
        return self._mask(A, lambda a, b: a == b)

    def offdiag(self, A):
        """Block-off-diagonal part."""
        return self._mask(A, lambda a, b: a != b)

    def reduce(self, A):
        """Every entry with the gap factors that divide its numerator exactly divided out."""
        if A is None:
            return None
        return [[self.reduce_entry(e) for e in row] for row in A]

    def identity(self):
        """The unit matrix."""
        one = (self.ring.one, self.zero_exps)
        return [[one if i == j else None for j in range(self.n)] for i in range(self.n)]

    def to_sympy(self, A, rows=None, cols=None):
        """An algebra matrix (or a sub-block) as an unsimplified SymPy matrix."""
        rows = range(self.n) if rows is None else rows
        cols = range(self.n) if cols is None else cols
        if A is None:
            return sympy.zeros(len(rows), len(cols))
        return sympy.Matrix([[self.expr(A[i][j]) for j in cols] for i in rows])

    def evaluate(self, A, values):
        """Numeric value of an algebra matrix at ``values`` (symbol → number), numpy."""
        import numpy as np

        try:
            point = [complex(values[s]) for s in self.symbols]
        except KeyError as exc:
            raise ValueError(f"missing a value for {exc.args[0]}") from None
        point += [1 / complex(values[s]) for s in self.inverse]
        point = np.array(point)
        if A is None:
            return np.zeros((self.n, self.n), dtype=complex)
        factors = [self._evaluate_poly(self._gaussian(f), point) for f in self.factors]
        out = np.zeros((len(A), len(A[0])), dtype=complex)
        for i, row in enumerate(A):
            for j, e in enumerate(row):
                if e is not None:
                    den = np.prod([f**k for f, k in zip(factors, e[1])]) if self.nf else 1.0
                    out[i, j] = self._evaluate_poly(self._gaussian(e[0]), point) / den
        return out

    @staticmethod
    def _evaluate_poly(p, point):
        import numpy as np

        if not p:
            return 0j
        monos = np.array(list(p.keys()), dtype=float)
        coeffs = np.array([complex(float(c.x), float(c.y)) for c in p.values()])
        return complex(coeffs @ np.prod(point[None, :] ** monos, axis=1))

    def is_zero(self, A):
        """Whether ``A`` is the exact zero matrix (represented by ``None``)."""
        return A is None
