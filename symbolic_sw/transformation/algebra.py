"""Exact matrix algebra over rational functions with a fixed set of denominators.

Every entry is a pair ``(num, exps)`` meaning ``num / Π_i f_i**exps[i]``, where
``num`` is a sparse polynomial (``sympy.polys.rings.PolyElement``) over the
rationals in the *generators* of :class:`Generators` and the ``f_i`` are the
*gap factors*: the polynomials that the Sylvester equations can put into
denominators.

The generators are described once, as data (:class:`Generators`), so that any
backend can reuse the table.  Their kinds, in ring order:

``symbol``
    A real parameter or momentum (sorted by name).
``inverse``
    ``1/x`` for a symbol ``x`` that appears in a denominator (like ``m`` in
    ħ²k²/2m), and for an atom or constant in a denominator.  Monomials are kept
    Laurent-reduced: ``x`` and ``1/x`` never both divide a monomial.
``surd``
    ``√p`` for a prime ``p``, reduced by ``(√p)² = p`` after products.  Every
    square root of a rational is written in this basis of square-free products
    (``√6 → √2·√3``, ``1/√3 → √3/3``, ``√8 → 2√2``), so a result never holds
    ``√6`` in one place and ``√2·√3`` in another.
``constant``
    A number that is not a rational or a square root of one (π, e, 2^(1/3)): a
    free real generator.
``atom``
    Any other subexpression that is not a polynomial in the symbols, kept exactly
    and opaque: functions of the parameters (``exp(-λ)``, ``sqrt(Δ)``), of the
    momenta (``cos(k_x a)``, ``exp(I k_x a)``), and polynomial denominators:
    ``1/(E_g + Δ)`` is the inverse generator of the atom ``E_g + Δ``.  ``exp(z)``
    is stored as ``exp(z)`` or as the inverse of ``exp(-z)``, whichever has no
    leading minus sign, so that ``exp(ika)·exp(-ika) = 1`` is a Laurent reduction.
    No other relation is known between atoms (``sqrt(Δ)² = Δ`` is not applied):
    results stay exact, only not always in their shortest form.
``i``
    The imaginary unit, the last generator, reduced by ``i² = -1``.  Rational
    arithmetic is native to the coefficient domain, while every
    Gaussian-rational operation would build Python objects — products of real or
    imaginary entries are about four times faster this way.

Per generator the table holds: its SymPy expression (how it prints), a
placeholder symbol (how SymPy-side computations such as the Sylvester plan see
it: the symbol itself for ``symbol``), its square for ``surd`` and ``i``, its
Laurent partner, its complex conjugate (a generator: ``exp(ika) ↔ exp(-ika)``,
``i → -i``, everything else real) and its derivative with respect to each
momentum as a ring element (the chain rule through atoms: ``d cos(k a)/dk =
-a sin(k a)`` brings in ``sin(k a)``; the atom set is closed under first
derivatives to a fixpoint when the table is built).

This keeps every intermediate result a polynomial: sums and products never
call ``cancel`` or ``gcd``; common factors are divided out only where asked
(:meth:`RationalAlgebra.reduce`), by exact division by a known factor.

Matrices are dense lists of rows; ``None`` is an exact zero entry, and a
matrix that is entirely zero is represented by ``None`` too.

Backends (issue 18): the generator table decides *what* the generators are; a
backend only decides how the numerators are stored and multiplied.  This
module's :class:`RationalAlgebra` uses SymPy's pure-Python sparse polynomials
(the reference); :class:`~.flint_algebra.FlintAlgebra` uses python-flint's
``fmpq_mpoly`` (C) on the same generators in the same order and converts each
entry to SymPy once, for its closed form.  :func:`.flint_algebra.make_algebra` picks one:
``effective(..., backend=...)``, else ``$SYMBOLIC_SW_BACKEND``, else FLINT.
"""

from __future__ import annotations

import sympy
from sympy.polys.domains import QQ, QQ_I
from sympy.polys.rings import PolyRing

from ..errors import ModelError

__all__ = ["BACKENDS", "Generators", "RationalAlgebra", "UnknownGeneratorError", "resolve_backend"]

#: storage of the exact algebra's polynomials: FLINT (python-flint, C) by default, SymPy's pure-Python
#: sparse rings as the fallback and the reference (same generators, same closed forms)
BACKENDS = ("flint", "sympy")
#: environment variable choosing the backend when ``effective(..., backend=None)``
BACKEND_ENV = "SYMBOLIC_SW_BACKEND"

#: rounds of closing the atoms under derivatives with respect to the momenta (first
#: derivatives of the model's own atoms need one; later rounds serve derivatives of derivatives)
DERIVATIVE_ROUNDS = 3
#: most atoms (and constants) one model may bring in: a runaway closure is a ModelError, not a hang
MAX_ATOMS = 128
#: radicands are factored by trial division up to this bound; a larger cofactor stays one surd
_TRIAL_LIMIT = 10**6
_NOT_FINITE = (sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity, sympy.S.NaN)
_I = QQ_I(0, 1)


class UnknownGeneratorError(ModelError):
    """An expression with a symbol or atom that is not a generator of this ring."""


class _RefusedError(Exception):
    """A subexpression the ring cannot represent; becomes a ModelError naming the entry."""

    def __init__(self, reason, fix):
        super().__init__(reason)
        self.reason, self.fix = reason, fix


def _short(expr, limit=160):
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _surd(r, p):
    """``r**(p/2)`` for a rational ``r`` and an odd ``p``, as ``(coefficient in QQ_I, [radicands])``.

    ``r**(p/2) = r**((p-1)/2) · √(n·d)/d`` for ``r = n/d``, and ``√(n·d)`` is
    written as a rational times a product of square roots of distinct primes.
    """
    n, d = int(r.p), int(r.q)
    radicand = n * d
    coeff = r ** ((p - 1) // 2) / d
    if radicand < 0:
        coeff, radicand = coeff * sympy.I, -radicand
    primes = []
    for q, k in sympy.factorint(radicand, limit=_TRIAL_LIMIT).items():
        coeff *= sympy.Integer(q) ** (k // 2)
        if k % 2:
            primes.append(int(q))
    return QQ_I.from_sympy(coeff), primes


def _atom(factor, base, e):
    """``factor = X**p`` with ``X`` the canonical atom: ``(X, p)``.

    ``exp(z)`` with a leading minus sign in ``z`` is the inverse of ``exp(-z)``;
    a rational power ``base**(p/q)`` is the p-th power of ``base**(1/q)``; an
    integer power of anything else (``cos(x)**2``, ``(a + b)**-1``) is a power
    of its base.
    """
    if isinstance(factor, sympy.exp):
        arg = factor.args[0]
        X, p = (sympy.exp(-arg), -1) if arg.could_extract_minus_sign() else (factor, 1)
    elif e.is_Integer:
        X, p = base, int(e)
    elif e.is_Rational:
        X, p = base ** sympy.Rational(1, e.q), int(e.p)
    elif e.could_extract_minus_sign():
        X, p = base ** (-e), -1
    else:
        X, p = factor, 1
    if X.is_Symbol or X.is_Rational or X is sympy.I:  # the normal form evaluated away: keep it opaque
        return factor, 1
    return X, p


def _decimal(x):
    """A SymPy Float as the exact rational of its decimal text (``123456.789`` → 123456789/1000).

    SymPy's own conversion reads the binary value through a bounded continued
    fraction, which gives 1/10 for 0.1 but 8483885939586761/68719476736 for 123456.789.
    A double is read from its shortest round-trip text (``repr``), as the user typed it.
    """
    return sympy.Rational(repr(float(x)) if x._prec == 53 else str(x))


def _decompose(expr):
    """``[(coefficient in QQ_I, {key: exponent})]``, one item per term of the expanded ``expr``.

    Keys: a ``Symbol`` (parameter, momentum or placeholder), an ``int`` (a prime
    under a square root) or any other expression (an atom or a constant).
    """
    out = []
    for term in sympy.Add.make_args(sympy.expand(expr)):
        coeff, rest = term.as_coeff_Mul()
        c = QQ_I.from_sympy(_decimal(coeff) if coeff.is_Float else coeff)
        powers = {}
        if rest is not sympy.S.One:
            for factor in sympy.Mul.make_args(rest):
                if factor is sympy.I:
                    c = c * _I
                    continue
                base, e = factor.as_base_exp()
                if base.is_Symbol and e.is_Integer:
                    key, p = base, int(e)
                elif base.is_Rational and e.is_Rational and e.q == 2:
                    r, primes = _surd(base, int(e.p))
                    c = c * r
                    for q in primes:
                        powers[q] = powers.get(q, 0) + 1
                    continue
                else:
                    key, p = _atom(factor, base, e)
                powers[key] = powers.get(key, 0) + p
        out.append((c, powers))
    return out


class Generators:
    """The generators of the exact ring, described once as data (module docstring).

    Parameters
    ----------
    exprs : sequence of sympy.Expr
        Everything the ring must represent (the model's entries, ``1/ħ``, operators).
    momenta : sequence of sympy.Symbol
        Always generators; the atoms are closed under derivatives with respect to them.
    labels : sequence of str, optional
        A name per expression (``"H[0,1]"``) for error messages.

    Attributes
    ----------
    kinds : tuple of str
        Per generator: ``"symbol"``, ``"inverse"``, ``"surd"``, ``"constant"``, ``"atom"`` or ``"i"``.
    exprs : tuple of sympy.Expr
        What each generator stands for (``m``, ``1/m``, ``sqrt(2)``, ``pi``, ``cos(a*k_x)``, ``I``).
    placeholders : tuple of sympy.Symbol
        The symbol SymPy-side computations use for it: the symbol itself for a
        ``symbol``, a ``Dummy`` otherwise.
    ring : PolyRing
        Polynomials over QQ in the placeholders and a last generator ``i``.
    symbols, inverse : tuple of sympy.Symbol
        The symbols (the first generators, sorted by name) and those with an inverse.
    pairs : tuple of (int, int)
        Laurent pairs ``(x, 1/x)`` of generator indices.
    squares : tuple of (int, QQ)
        Surds and their squares; ``ii`` is the index of ``i`` (``i² = -1``).
    conj : tuple of int or None
        Generator index of each generator's complex conjugate (``None``: all real but ``i``).
    atoms : tuple of sympy.Expr
        The constants and atoms.
    """

    def __init__(self, exprs, momenta=(), labels=None):
        exprs = list(exprs)
        labels = list(labels) if labels is not None else [f"entry {n}" for n in range(len(exprs))]
        self._sym_pos, self._sym_neg, self._primes = set(momenta), set(), set()
        self._atoms = {}  # X -> {"neg", "depth", "label", "conj", "d", "fail"}
        self._queue = []
        for label, expr in zip(labels, exprs):
            self._scan_entry(expr, label)
        self._close(tuple(momenta))
        self._layout()
        self._ring_maps(tuple(momenta))

    # -- collecting the generators ---------------------------------------------------

    def _scan_entry(self, expr, label, depth=0, new_atoms=True):
        try:
            self._scan(sympy.sympify(expr), label, depth, new_atoms)
        except (ModelError, _NewAtomError):
            raise
        except _RefusedError as exc:
            raise ModelError(f"{label} = {_short(expr)}: {exc.reason}. Fix: {exc.fix}.") from None
        except Exception as exc:  # SymPy's own failures (RecursionError included) never reach the user raw
            raise ModelError(
                f"{label} = {_short(expr)} cannot be represented exactly ({type(exc).__name__}: "
                f"{_short(exc, 200)}). Fix: write the entry with polynomials, rationals, square roots, "
                f"constants and elementary functions of real symbols."
            ) from None

    def _scan(self, expr, label, depth, new_atoms):
        if expr.has(*_NOT_FINITE):
            raise _RefusedError("it is not finite (oo, zoo or nan)", "replace the singular value by a symbol")
        for _, powers in _decompose(expr):
            for key, e in powers.items():
                if isinstance(key, sympy.Symbol):
                    if e:
                        (self._sym_pos if e > 0 else self._sym_neg).add(key)
                elif isinstance(key, int):
                    self._primes.add(key)
                else:
                    rec = self._atoms.get(key)
                    if rec is None:
                        if not new_atoms:
                            raise _NewAtomError(key)
                        if len(self._atoms) >= MAX_ATOMS:
                            raise _RefusedError(
                                f"it brings the number of atoms (non-polynomial subexpressions) above {MAX_ATOMS}",
                                "write the model with fewer distinct functions",
                            )
                        rec = self._atoms[key] = {"neg": False, "depth": depth, "label": label, "d": {}, "fail": {}}
                        self._queue.append(key)
                    if e < 0:
                        rec["neg"] = True

    def _close(self, momenta):
        """Close the atoms under complex conjugation and (for a few rounds) derivatives."""
        while self._queue:
            X = self._queue.pop(0)
            try:
                self._close_atom(X, momenta)
            except ModelError:
                raise
            except Exception as exc:  # SymPy's conjugate or diff failing on an exotic atom
                raise ModelError(
                    f"{self._atoms[X]['label']}: the subexpression {_short(X)} cannot be conjugated or "
                    f"differentiated ({type(exc).__name__}: {_short(exc, 200)}). Fix: write it with "
                    f"elementary functions of real symbols."
                ) from None
        # conjugation maps X to Y**s: the inverse generators it needs must exist
        changed = True
        while changed:
            changed = False
            for rec in self._atoms.values():
                Y, s = rec["conj"]
                if (s == -1 or rec["neg"]) and not self._atoms[Y]["neg"]:
                    self._atoms[Y]["neg"] = changed = True

    def _close_atom(self, X, momenta):
        """Record the conjugate and the momentum derivatives of atom ``X``, scanning what they bring in."""
        rec = self._atoms[X]
        label = rec["label"]
        cX = sympy.conjugate(X)
        if cX == X:
            rec["conj"] = (X, 1)
        else:
            terms = _decompose(cX)
            items = list(terms[0][1].items()) if len(terms) == 1 and terms[0][0] == QQ_I(1, 0) else []
            if len(items) != 1 or items[0][1] not in (1, -1) or isinstance(items[0][0], (sympy.Symbol, int)):
                raise ModelError(
                    f"{label}: the complex conjugate of {_short(X)} is {_short(cX)}, which is not a "
                    f"single atom, so conjugation cannot be a map of generators. Fix: write the entry with "
                    f"real functions (cos, sin) times I, or declare the symbols inside it real or positive."
                )
            self._scan_entry(cX, label, rec["depth"])
            rec["conj"] = items[0]
        for k in momenta:
            if not X.has(k):
                continue
            dX = sympy.diff(X, k)
            rec["d"][k] = dX
            try:
                self._scan_entry(dX, label, rec["depth"] + 1, new_atoms=rec["depth"] < DERIVATIVE_ROUNDS)
            except _NewAtomError:
                rec["fail"][k] = dX

    def _layout(self):
        """Generator order: symbols, their inverses, surds, constants, atoms, their inverses, i."""
        key = sympy.default_sort_key
        self.symbols = tuple(sorted(self._sym_pos | self._sym_neg, key=str))
        self.inverse = tuple(sorted(self._sym_neg, key=str))
        primes = sorted(self._primes)
        consts = sorted((X for X in self._atoms if X.is_number), key=lambda X: (str(X), key(X)))
        atoms = sorted((X for X in self._atoms if not X.is_number), key=lambda X: (str(X), key(X)))
        self.atoms = tuple(consts + atoms)
        inverted = [X for X in self.atoms if self._atoms[X]["neg"]]
        kinds, exprs, holders = [], [], []

        def add(kind, expr, holder):
            kinds.append(kind)
            exprs.append(expr)
            holders.append(holder)
            return len(kinds) - 1

        pos = {s: add("symbol", s, s) for s in self.symbols}
        neg = {s: add("inverse", 1 / s, sympy.Dummy(f"inv_{s}")) for s in self.inverse}
        surd = {p: add("surd", sympy.sqrt(p), sympy.Dummy(f"sqrt{p}")) for p in primes}
        for n, X in enumerate(self.atoms):
            pos[X] = add("constant" if X.is_number else "atom", X, sympy.Dummy(f"atom{n}"))
        for X in inverted:
            neg[X] = add("inverse", 1 / X, sympy.Dummy(f"inv_atom{self.atoms.index(X)}"))
        self.ii = add("i", sympy.I, sympy.Dummy("i"))
        self.kinds, self.exprs, self.placeholders = tuple(kinds), tuple(exprs), tuple(holders)
        self.ngens = len(kinds)
        # conversion records: key -> (index for a positive power, index for a negative one, square)
        index = {}
        for b, i in pos.items():
            index[b] = index[holders[i]] = (i, neg.get(b), None)
        for b, j in neg.items():
            index[holders[j]] = (j, pos[b], None)
        for p, i in surd.items():
            index[p] = index[holders[i]] = (i, None, QQ(p))
        self._index = index
        self._pos, self._neg = pos, neg
        self.pairs = tuple((pos[b], j) for b, j in neg.items())
        self.squares = tuple((i, QQ(p)) for p, i in surd.items())
        self.relation = frozenset([self.ii, *(i for i, _ in self.squares), *(i for pr in self.pairs for i in pr)])
        #: index of the generator ``x`` of each inverse generator ``1/x``
        self._base_of = {j: pos[b] for b, j in neg.items()}
        #: whether any generator is a surd, a constant or an atom
        self.opaque = bool(self.atoms or self.squares)
        #: placeholder -> expression, for gap factors and factorisations done on placeholders
        self.back = {h: e for h, e, k in zip(holders, exprs, kinds) if k not in ("symbol", "i")}

    def _ring_maps(self, momenta):
        self.ring = PolyRing(self.placeholders, QQ)
        self._cring = PolyRing(self.placeholders[: self.ii], QQ_I)
        n = self.ngens
        # complex conjugation as a permutation of the generators (i's sign is separate)
        conj = list(range(n))
        for X in self.atoms:
            Y, s = self._atoms[X]["conj"]
            conj[self._pos[X]] = self._pos[Y] if s == 1 else self._neg[Y]
            if X in self._neg:
                conj[self._neg[X]] = self._neg[Y] if s == 1 else self._pos[Y]
        self.conj = None if conj == list(range(n)) else tuple(conj)
        # derivatives of the generators with respect to each momentum, as ring elements
        self._derivatives, self._failures = {}, {}
        for k in momenta:
            out, fail = [], {}
            if k in self._pos:
                out.append((self._pos[k], None))  # d k/dk = 1
                if k in self._neg:
                    u = self.ring.gens[self._neg[k]]
                    out.append((self._neg[k], -(u**2)))
            for X in self.atoms:
                rec = self._atoms[X]
                if k in rec["fail"]:
                    fail[self._pos[X]] = rec["d"][k]
                    if X in self._neg:
                        fail[self._neg[X]] = rec["d"][k]
                    continue
                if k not in rec["d"]:
                    continue
                dX = self.to_ring(rec["d"][k])
                if not dX:
                    continue
                out.append((self._pos[X], dX))
                if X in self._neg:
                    u = self.ring.gens[self._neg[X]]
                    out.append((self._neg[X], self.normalise(-(u**2) * dX)))
            self._derivatives[k], self._failures[k] = tuple(out), fail

    # -- conversion ---------------------------------------------------------------------

    def to_ring(self, expr):
        """A SymPy expression (in the generators' expressions or placeholders) as a reduced ring element."""
        ring, index, n, ii, pairs, squares = self.ring, self._index, self.ngens, self.ii, self.pairs, self.squares
        terms = {}
        zero = QQ.zero
        for c, powers in _decompose(expr):
            mono = [0] * n
            scale = QQ.one
            for key, e in powers.items():
                if not e:
                    continue
                rec = index.get(key)
                if rec is None:
                    raise UnknownGeneratorError(f"{_short(key)} is not a generator of this ring (in {_short(expr)})")
                i, j, sq = rec
                if sq is not None:
                    q, r = divmod(e, 2)
                    mono[i] += r
                    if q:
                        scale *= sq**q
                elif e > 0:
                    mono[i] += e
                elif j is None:
                    raise UnknownGeneratorError(
                        f"{_short(key)} appears in a denominator unexpectedly (in {_short(expr)})"
                    )
                else:
                    mono[j] -= e
            for i, j in pairs:
                common = min(mono[i], mono[j])
                if common:
                    mono[i] -= common
                    mono[j] -= common
            for i, sq in squares:  # a radicand given both as sqrt(p) and as its placeholder
                if mono[i] > 1:
                    q, mono[i] = divmod(mono[i], 2)
                    scale *= sq**q
            x, y = c.x * scale, c.y * scale
            if x:
                m = tuple(mono)
                terms[m] = terms.get(m, zero) + x
            if y:
                mono[ii] = 1
                m = tuple(mono)
                terms[m] = terms.get(m, zero) + y
        return ring.dtype({k: v for k, v in terms.items() if v})

    def covers(self, exprs):
        """Whether every expression is representable in this ring."""
        try:
            for e in exprs:
                self.to_ring(e)
        except (UnknownGeneratorError, _RefusedError):
            return False
        except Exception:  # left to a fresh table to report, naming the entry
            return False
        return True

    def is_plain(self, expr):
        """Whether ``expr`` is a polynomial in the symbols (no inverse, surd, constant or atom)."""
        return all(
            isinstance(k, sympy.Symbol) and e >= 0 and k in self.symbols
            for _, powers in _decompose(expr)
            for k, e in powers.items()
        )

    def gaussian(self, p):
        """A ring element as an element of the ring over ``QQ_I`` without ``i``."""
        ii = self.ii
        re, im = {}, {}
        for mono, c in p.items():
            (im if mono[ii] else re)[mono[:ii]] = c
        zero = QQ.zero
        return self._cring.dtype({m: QQ_I(re.get(m, zero), im.get(m, zero)) for m in re.keys() | im.keys()})

    def expr(self, p):
        """A ring element as a SymPy expression in the generators' expressions."""
        return self.gaussian(p).as_expr(*self.exprs[: self.ii])

    def placeholder_expr(self, p):
        """A ring element as a SymPy expression in the placeholders (for SymPy-side polynomial algebra)."""
        return self.gaussian(p).as_expr(*self.placeholders[: self.ii])

    def factorable_expr(self, p):
        """Like :meth:`expr`, with placeholders for surds, constants and atoms (``1/m`` stays ``1/m``)."""
        gens = [
            h if k != "symbol" and not (k == "inverse" and self.exprs[self._base_of[i]].is_Symbol) else e
            for i, (k, e, h) in enumerate(zip(self.kinds, self.exprs, self.placeholders))
        ]
        return self.gaussian(p).as_expr(*gens[: self.ii])

    def base_of(self, i):
        """Index of the generator ``x`` of an inverse generator ``1/x``."""
        return self._base_of[i]

    def canonical(self, expr):
        """``expr`` reduced (relations applied) and written in the placeholders."""
        return self.placeholder_expr(self.to_ring(expr))

    def to_user(self, expr):
        """An expression in placeholders written with the generators' expressions."""
        return expr.xreplace(self.back) if self.back else expr

    def is_unit_monomial(self, mono):
        """Whether a monomial is invertible in the ring (only Laurent-paired generators, surds, i)."""
        return all(not e or i in self.relation for i, e in enumerate(mono))

    def inverse_monomial(self, mono):
        """``1/mono`` for a unit monomial, as a ring element."""
        out = [0] * self.ngens
        scale = QQ.one
        partner = dict(self.pairs)
        partner.update({j: i for i, j in self.pairs})
        sq = dict(self.squares)
        for i, e in enumerate(mono):
            if not e:
                continue
            if i in partner:
                out[partner[i]] += e
            elif i in sq:  # 1/√p = √p/p
                out[i] += e
                scale /= sq[i] ** e
            else:  # 1/i = -i
                out[i] += e
                if e % 2:
                    scale = -scale
        return self.normalise(self.ring.dtype({tuple(out): scale}))

    def split_unit(self, expr):
        """``expr = unit · rest`` with ``rest``'s lex-leading coefficient a number when possible.

        For a gap polynomial from the Sylvester plan: ``2 E_g m_1 - ħ²k²`` with ``m_1``
        invertible becomes ``m_1 · (2 E_g - ħ²k²/m_1)``, a factor that exact division
        handles in linear time.  Returns placeholder expressions ``(unit, rest)``.
        """
        p = self.to_ring(expr)
        if not p:
            return sympy.Integer(1), expr
        if len(p) == 1:
            ((mono, _),) = p.items()
            if self.is_unit_monomial(mono):
                return self.placeholder_expr(p), sympy.Integer(1)
        lead = p.leading_expv()
        v = next(i for i, e in enumerate(lead) if e)
        if v in self.relation:
            return sympy.Integer(1), expr
        d = lead[v]
        top = [m for m in p if m[v] == d]
        if len(top) != 1:
            return sympy.Integer(1), expr
        rest = list(top[0])
        rest[v] = 0
        if not any(rest) or not self.is_unit_monomial(rest):
            return sympy.Integer(1), expr
        unit = self.ring.dtype({tuple(rest): QQ.one})
        return self.placeholder_expr(unit), self.placeholder_expr(self.normalise(p * self.inverse_monomial(rest)))

    # -- relations ------------------------------------------------------------------------

    def reduce_monomial(self, mono):
        """``(monomial, scale)`` with the relations applied (Laurent pairs, ``√p² = p``, ``i² = -1``)."""
        mono = list(mono)
        scale = QQ.one
        for i, j in self.pairs:
            common = min(mono[i], mono[j])
            if common:
                mono[i] -= common
                mono[j] -= common
        for i, sq in self.squares:
            if mono[i] > 1:
                q, mono[i] = divmod(mono[i], 2)
                scale *= sq**q
        ii = self.ii
        if mono[ii] > 1:
            q, mono[ii] = divmod(mono[ii], 2)
            if q % 2:
                scale = -scale
        return tuple(mono), scale

    def normalise(self, p):
        """A polynomial with the relations applied to its monomials."""
        ii, pairs, squares = self.ii, self.pairs, self.squares
        if squares:
            if not any(
                mono[ii] > 1 or any(mono[i] > 1 for i, _ in squares) or any(mono[i] and mono[j] for i, j in pairs)
                for mono in p
            ):
                return p
        elif not any(mono[ii] > 1 or any(mono[i] and mono[j] for i, j in pairs) for mono in p):
            return p
        out = {}
        zero = QQ.zero
        for mono, c in p.items():
            if pairs or squares:
                m = list(mono)
                for i, j in pairs:
                    common = min(m[i], m[j])
                    if common:
                        m[i] -= common
                        m[j] -= common
                for i, sq in squares:
                    if m[i] > 1:
                        q, m[i] = divmod(m[i], 2)
                        c = c * sq**q
                mono = tuple(m)
            if mono[ii] > 1:  # i² = -1 (exponent 2 after a product of reduced factors, more after powers)
                q, r = divmod(mono[ii], 2)
                mono = (*mono[:ii], r)
                if q % 2:
                    c = -c
            out[mono] = out.get(mono, zero) + c
        return self.ring.dtype({k: v for k, v in out.items() if v})

    # -- derivatives and numbers -------------------------------------------------------------

    def derivatives(self, k):
        """``((generator index, d gen/dk as a ring element or None for 1), ...)`` for momentum ``k``."""
        return self._derivatives.get(k, ())

    def derivative_failures(self, k):
        """``{generator index: d gen/dk as SymPy}`` for derivatives outside the closed atom set."""
        return self._failures.get(k, {})

    def values(self, values):
        """Numbers of the generators (all but ``i``) at ``values`` (symbol → number), a numpy array."""
        import numpy as np

        point = []
        for kind, e in zip(self.kinds[: self.ii], self.exprs[: self.ii]):
            if kind == "symbol":
                if e not in values:
                    raise ModelError(f"missing a value for {e}; pass a number for every symbol.")
                point.append(complex(values[e]))
                continue
            if kind == "surd":
                point.append(complex(float(e.evalf(30))))
                continue
            missing = sorted(map(str, e.free_symbols - set(values)))
            if missing:
                raise ModelError(f"missing a value for {', '.join(missing)}; pass a number for every symbol.")
            v = sympy.N(e.xreplace({s: sympy.sympify(values[s]) for s in e.free_symbols}), 30)
            try:
                point.append(complex(v))
            except TypeError:
                raise ModelError(f"{_short(e)} has no finite value at this point ({v}).") from None
        return np.array(point)


class _NewAtomError(Exception):
    """A derivative beyond the closed atom set (recorded; only that derivative is unavailable)."""

    def __init__(self, key):
        super().__init__(str(key))
        self.key = key


def resolve_backend(backend=None):
    """``backend``, else ``$SYMBOLIC_SW_BACKEND``, else ``"flint"``; a ModelError names a bad value."""
    import os

    chosen = backend if backend is not None else (os.environ.get(BACKEND_ENV) or "flint")
    if chosen not in BACKENDS:
        source = "backend" if backend is not None else f"${BACKEND_ENV}"
        raise ModelError(
            f"{source} = {chosen!r} is not an exact-algebra backend. Fix: use one of {', '.join(map(repr, BACKENDS))}."
        )
    return chosen


class RationalAlgebra:
    """Arithmetic on matrices of ``num / Π f_i**e_i`` entries.

    Parameters
    ----------
    gens : Generators
        The generator table (the ring and its relations).
    factors : list of sympy.Expr
        Gap factors (polynomials in the generators, in placeholders or expressions).
    block_of : tuple of int
        Block label of each basis index.
    """

    #: how polynomials are stored (:data:`BACKENDS`)
    backend = "sympy"
    #: who factors numerators for closed forms: ``"sympy"`` or ``"flint"`` (same unique factorisation)
    factoriser = "sympy"

    def __init__(self, gens, factors, block_of):
        self.gens = gens
        self.symbols = gens.symbols
        self.inverse = gens.inverse
        self.ring = gens.ring
        #: index of the imaginary unit's generator (the last one)
        self._ii = gens.ii
        self._pairs = gens.pairs
        self._gen_of = {s: i for i, s in enumerate(self.symbols)}
        self._factor_keys = list(factors)
        self.factor_exprs = [gens.to_user(f) for f in factors]
        self.factors = [gens.to_ring(f) for f in factors]
        self.nf = len(self.factors)
        self._divisors = [self._divisor(f) for f in self.factors]
        #: whether a gap factor holds generators with relations (then products with it are reduced)
        self._factor_relations = any(mono[i] for f in self.factors for mono in f for i in gens.relation)
        self._conj_signs = self._factor_conjugation()
        self._dfactors = {}
        self.zero_exps = (0,) * self.nf
        self._pow = {}
        #: caches of pure functions of ring elements (closed forms), shared by all operators
        self.memo = {}
        self.block_of = tuple(block_of)
        self.n = len(self.block_of)

    # -- conversion -----------------------------------------------------------

    def to_reference(self, entry):
        """``(algebra, entry)`` in which closed forms are computed: this one (a FLINT algebra converts)."""
        return self, entry

    def poly(self, expr):
        """An expression (generators' expressions or placeholders) as a ring element."""
        return self.gens.to_ring(expr)

    def factor_index(self, f):
        """Position of a gap factor (as the Sylvester plan wrote it)."""
        return self._factor_keys.index(f)

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

    def _normalise(self, p):
        """Apply the relations (Laurent pairs, surds, ``i² = -1``) to the monomials of a product."""
        return self.gens.normalise(p)

    def _gaussian(self, p):
        """A ring element as an element of the same ring over ``QQ_I`` (no ``i``)."""
        return self.gens.gaussian(p)

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
        """A ring element as a SymPy expression (``1/m``, ``sqrt(2)``, atoms as written)."""
        return self.gens.expr(p)

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
                    if self._factor_relations:
                        p = self._normalise(p)
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
                if self._factor_relations:
                    p = self._normalise(p)
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

    def _conj_num(self, num):
        ii, perm = self._ii, self.gens.conj
        if perm is None:
            return self.ring.dtype({m: -c if m[ii] else c for m, c in num.items()})
        n = len(perm)
        out = {}
        for m, c in num.items():
            image = [0] * n
            for g, e in enumerate(m):
                if e:
                    image[perm[g]] += e
            out[tuple(image)] = -c if m[ii] else c
        return self.ring.dtype(out)

    def _factor_conjugation(self):
        """Per gap factor ``s`` with ``conj(f) = s f`` (1 for the real factors of every polynomial model).

        A factor found over the Gaussian rationals or in complex atoms may be
        imaginary (``i(e^{-ika} - e^{ika})``); one that is neither real nor
        imaginary cannot be conjugated by a sign and is refused.
        """
        if self.gens.conj is None and not any(mono[self._ii] for f in self.factors for mono in f):
            return None
        signs = []
        for f, expr in zip(self.factors, self.factor_exprs):
            c = self._conj_num(f)
            if c == f:
                signs.append(1)
            elif c == -f:
                signs.append(-1)
            else:
                raise ModelError(
                    f"the gap factor {expr} of the diagonal blocks is neither real nor imaginary, so the "
                    f"Sylvester solution cannot be conjugated. Fix: write the diagonal blocks with real "
                    f"functions (cos, sin) instead of exp(I*...)."
                )
        return signs if -1 in signs else None

    def conj_entry(self, a):
        """The complex conjugate of an entry: ``i → −i`` and the generator map (the gap factors are real)."""
        if a is None:
            return None
        num = self._conj_num(a[0])
        if self._conj_signs is not None and sum(e for s, e in zip(self._conj_signs, a[1]) if s < 0) % 2:
            num = -num
        return (num, a[1])

    def _divisor(self, f):
        """``(v, d, c, lower, relations)`` when ``f = c v^d + Σ_(j<d) f_j v^j`` with a constant ``c``.

        ``v`` is the lex-leading generator of ``f`` (not one with a relation:
        ``i``, a surd, a Laurent pair); ``lower`` lists ``(j, f_j)`` as monomial
        dicts without ``v``; ``relations`` whether ``f`` holds generators with
        relations, so that products in the division must be reduced.  ``None``
        if ``f`` is not of this form.
        """
        lead = f.leading_expv()
        v = next(i for i, e in enumerate(lead) if e)
        d = lead[v]
        if v in self.gens.relation:
            return None
        if any(e for i, e in enumerate(lead) if i != v) or sum(1 for mono in f if mono[v] == d) != 1:
            return None
        lower = {}
        for mono, c in f.items():
            j = mono[v]
            if j < d:
                lower.setdefault(j, {})[(*mono[:v], 0, *mono[v + 1 :])] = c
        relations = any(mono[i] for mono in f for i in self.gens.relation)
        return v, d, f[lead], sorted(lower.items()), relations

    def divmod_factor(self, num, i):
        """``num.div(self.factors[i])``: quotient and remainder in the ring's lex order.

        The generic multivariate division rescans the whole dividend for its
        leading term at every step.  Gap factors are (so far always) of the form
        ``c v^d + lower powers of v`` with a constant ``c``, for which lex
        division is long division in ``v`` with polynomial coefficients, and the
        quotient and remainder (``deg_v r < d``) are unique, so this gives exactly
        ``num.div(f)`` in linear time.  The coefficients may hold generators with
        relations (surds, atoms with their inverses): their products are reduced,
        so this is division in ``R[v]`` with ``R`` the ring of the other
        generators, exact for a constant ``c``.  Other factors use ``num.div``
        with both results reduced (sound; a quotient that needs a relation may be missed).
        """
        spec = self._divisors[i]
        if spec is None:
            q, r = num.div(self.factors[i])
            return self._normalise(q), self._normalise(r)
        v, d, c, lower, relations = spec
        # coefficients of v^k as monomial dicts with the v exponent cleared
        parts = {}
        for mono, coeff in num.items():
            parts.setdefault(mono[v], {})[(*mono[:v], 0, *mono[v + 1 :])] = coeff
        if not parts or max(parts) < d:
            return self.ring.zero, num
        one = self.ring.domain.one
        inv_c = one / c
        mono_mul = self.ring.monomial_mul
        reduce_monomial = self.gens.reduce_monomial
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
                        prod = x1 * x2
                        if relations:
                            m, s = reduce_monomial(m)
                            prod = prod * s
                        y = target.get(m)
                        y = -prod if y is None else y - prod
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

    def diff_poly(self, p, symbol):
        """``∂p/∂k`` for a ring element: the chain rule through every generator that depends on ``k``."""
        gens = self.gens
        out = self.ring.zero
        ring_gens = self.ring.gens
        failures = gens.derivative_failures(symbol)
        if failures:
            for g, dX in failures.items():
                if any(mono[g] for mono in p):
                    raise ModelError(
                        f"the derivative of {gens.exprs[g]} with respect to {symbol} is {_short(dX)}, which "
                        f"brings in new functions after {DERIVATIVE_ROUNDS} rounds of derivatives. Fix: write "
                        f"the model with functions whose derivatives close (cos, sin, exp, powers)."
                    )
        for g, dg in gens.derivatives(symbol):
            if not any(mono[g] for mono in p):
                continue
            dp = p.diff(ring_gens[g])
            if dp:
                out += dp if dg is None else self._normalise(dp * dg)
        return out

    def _factor_derivative(self, i, symbol):
        key = (i, symbol)
        if key not in self._dfactors:
            self._dfactors[key] = self.diff_poly(self.factors[i], symbol)
        return self._dfactors[key]

    def diff_entry(self, a, symbol):
        """Derivative of an entry with respect to a momentum (or any symbol of the ring)."""
        if a is None:
            return None
        if symbol not in self.gens.symbols:
            raise ModelError(f"cannot differentiate with respect to {symbol}: it is not a symbol of this model.")
        num, exps = a
        terms = [(self.diff_poly(num, symbol), exps)]
        for i, e in enumerate(exps):
            if e:
                df = self._factor_derivative(i, symbol)
                if df:
                    up = list(exps)
                    up[i] += 1
                    terms.append((self._normalise(num * df) * QQ(-e), tuple(up)))
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

        point = self.gens.values(values)
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
