"""Readable closed forms from exact algebra entries.

An effective operator in a spinful block is written as ``Σ c_μ σ_μ`` (per pair
of orbitals), each coefficient ``c_μ`` collected by momentum monomials, each
monomial's coefficient reduced by exact division by the gap factors and then
factored on its own (small) numerator.  No global ``simplify``.  Surds,
constants and atoms are factored through their placeholders
(:class:`~.algebra.Generators`) and printed as the user wrote them.
"""

from __future__ import annotations

import math

import sympy
import sympy.core.random
from sympy.core.mul import _keep_coeff
from sympy.polys.domains import QQ
from sympy.polys.polyutils import _sort_gens

__all__ = ["entry_to_expr", "from_pauli", "pauli_coefficients"]

#: numerators with more terms than this are left expanded instead of factored
FACTOR_LIMIT = 80


def pauli_coefficients(alg, M):
    """Pauli coefficients of a 2d×2d algebra block: ``{(p, q): {"0": c0, "x": ..}}``."""
    I = sympy.I
    half, ihalf = sympy.Rational(1, 2), I / 2
    d = len(M) // 2
    out = {}
    for p in range(d):
        for q in range(d):
            m00, m01 = M[2 * p][2 * q], M[2 * p][2 * q + 1]
            m10, m11 = M[2 * p + 1][2 * q], M[2 * p + 1][2 * q + 1]

            def comb(terms):
                return alg.reduce_entry(alg.add_entries([alg.scale_entry(e, c) for e, c in terms if e is not None]))

            out[p, q] = {
                "0": comb([(m00, half), (m11, half)]),
                "x": comb([(m01, half), (m10, half)]),
                "y": comb([(m01, ihalf), (m10, -ihalf)]),
                "z": comb([(m00, half), (m11, -half)]),
            }
    return out


def _seeded(f, *args):
    # Wang's multivariate factorisation draws random evaluation points; a fixed
    # seed makes its running time reproducible (an unlucky draw can cost minutes).
    rng = sympy.core.random.rng
    state = rng.getstate()
    rng.seed(0x55_57)
    try:
        return f(*args)
    finally:
        rng.setstate(state)


def _factor(expr):
    if len(sympy.Add.make_args(expr)) > FACTOR_LIMIT:
        return expr
    return _seeded(sympy.factor, expr)


def factor_numerator(alg, num):
    """``sympy.factor(alg.poly_expr(num))``, computed from the ring element.

    ``sympy.factor`` first rebuilds the polynomial from the expression
    (``together``, ``gcd_terms``, domain detection), which costs more than the
    factorisation itself.  Here the common monomial (including the inverse
    generators such as ``1/ħ``) is split off directly and only the remaining
    polynomial goes to ``Poly.factor_list``.  The factorisation into primitive
    irreducible factors with positive leading coefficient (in SymPy's generator
    order) is unique, so the assembled product is the same expression
    ``sympy.factor`` returns; numerators with non-real coefficients take the
    ``sympy.factor`` path.  Results are memoised per algebra: the same
    coefficient recurs across entries, orders and operators.
    """
    cache = alg.memo.setdefault("factor", {})
    key = frozenset(num.items())
    out = cache.get(key)
    if out is None:
        out = cache[key] = _factor_numerator(alg, num)
    return out


def _factor_numerator(alg, num):
    if len(num) > FACTOR_LIMIT:
        return alg.poly_expr(num)
    gens = alg.gens
    ii = alg._ii
    if any(mono[ii] for mono in num):
        if not gens.opaque:
            return _factor(alg.poly_expr(num))
        # with surds, constants or atoms, factoring over the Gaussian rationals (an algebraic
        # extension in SymPy) can take seconds: the real and imaginary parts are factored apart
        ring = alg.ring
        re = ring.dtype({m: c for m, c in num.items() if not m[ii]})
        im = ring.dtype({(*m[:ii], 0): c for m, c in num.items() if m[ii]})
        return _factor_real(alg, re) + sympy.I * _factor_real(alg, im)
    return _factor_real(alg, num)


def _factor_real(alg, num):
    """:func:`_factor_numerator` for a numerator without ``i``."""
    if not num:
        return sympy.Integer(0)
    gens = alg.gens
    bases = _bases(gens)
    terms = []
    for mono, c in num.items():
        terms.append(([mono[i] - (mono[j] if j is not None else 0) for i, j, _, _ in bases], c))
    n = len(bases)
    low = [min(e[i] for e, _ in terms) for i in range(n)]
    high = [max(e[i] for e, _ in terms) for i in range(n)]
    content = [bases[i][2] ** low[i] for i in range(n) if low[i]]
    used = [i for i in range(n) if high[i] > low[i]]
    if not used:
        coeff, factors = QQ.to_sympy(terms[0][1]), []
    else:
        order = {bases[i][3]: i for i in used}
        syms = _sort_gens([bases[i][3] for i in used])
        idx = [order[s] for s in syms]
        rep = {tuple(e[i] - low[i] for i in idx): c for e, c in terms}
        if alg.factoriser == "flint":
            coeff, factors = flint_factor_exprs(rep, syms, alg.memo.setdefault("factor_expr", {}))
        else:
            poly = sympy.Poly.from_dict(rep, *syms, domain=QQ)
            coeff, factors = _irreducible(poly) or _seeded(poly.factor_list)
            factors = [(f.as_expr(), k) for f, k in factors]
    pieces = [f for f, _ in factors]
    if gens.opaque:
        pieces = [p.xreplace(gens.back) for p in pieces]
    return _keep_coeff(coeff, sympy.Mul(*[p**k for p, (_, k) in zip(pieces, factors)], *content))


def flint_factor_exprs(rep, gens, cache=None):
    """``Poly.from_dict(rep, *gens, domain=QQ).factor_list()`` as ``(content, [(factor expression, k)])``, by FLINT.

    The factorisation over the integers into primitive irreducible factors, each
    with a positive leading coefficient in the lex order of ``gens``, is unique;
    FLINT's ``fmpz_mpoly.factor`` normalises exactly so in a lex context over the
    same generators, so the factors and the rational content in front are
    SymPy's, up to their order in the list (irrelevant in a product).  Factor
    expressions are built as ``Poly.as_expr`` builds them, and memoised in
    ``cache`` (gap-like factors recur across entries and operators).
    """
    import flint

    den = math.lcm(*(int(c.denominator) for c in rep.values()))
    ctx = flint.fmpz_mpoly_ctx.get(tuple(f"x{i}" for i in range(len(gens))), "lex")
    content, factors = ctx.from_dict({m: int(c * den) for m, c in rep.items()}).factor()
    cache = {} if cache is None else cache
    out = []
    for f, k in factors:
        terms = f.to_dict()
        key = (tuple(gens), frozenset(terms.items()))
        expr = cache.get(key)
        if expr is None:
            expr = cache[key] = sympy.Add(
                *[sympy.Mul(sympy.Integer(int(c)), *[g**e for g, e in zip(gens, m) if e]) for m, c in terms.items()]
            )
        out.append((expr, int(k)))
    return sympy.Rational(int(content), den), out


def _bases(gens):
    """Per base: ``(index, inverse index or None, expression, Poly generator)``.

    A symbol and its inverse make one base with a Laurent exponent (``1/m``
    becomes content ``m**-1``, as always); a surd, a constant, an atom and an
    atom's inverse are each a base of their own, factored through a placeholder,
    so that ``E_g + exp(-k²)`` and ``2 - exp(ika) - exp(-ika)`` stay as written.
    """
    inverse = dict(gens.pairs)
    out = []
    for i, (k, e, h) in enumerate(zip(gens.kinds, gens.exprs, gens.placeholders)):
        if k == "symbol":
            out.append((i, inverse.get(i), e, h))
        elif k == "inverse":
            if not gens.exprs[gens.base_of(i)].is_Symbol:
                out.append((i, None, e, h))
        elif k != "i":
            out.append((i, None, e, h))
    return out


def _irreducible(poly):
    """``poly.factor_list()`` when ``poly`` is provably irreducible, else None.

    ``poly = A g + B`` of degree 1 in a generator ``g`` with ``gcd(A, B) = 1`` is
    irreducible over QQ (a factor free of ``g`` would divide both A and B).
    Most numerators are of this kind, and a gcd is much cheaper than Wang's
    multivariate factorisation.  The result is normalised as ``factor_list``
    normalises it: a primitive integer polynomial with positive leading
    coefficient and the rational content in front.
    """
    if poly.is_ground:
        return None
    rep = poly.as_dict()
    for i, g in enumerate(poly.gens):
        if poly.degree(g) != 1:
            continue
        others = poly.gens[:i] + poly.gens[i + 1 :]
        if not others:
            break  # linear in one variable: irreducible
        parts = [{m[:i] + m[i + 1 :]: c for m, c in rep.items() if m[i] == d} for d in (1, 0)]
        if not parts[1]:
            return None  # g divides poly: not irreducible
        A, B = (sympy.Poly.from_dict(p, *others, domain=poly.domain) for p in parts)
        if A.gcd(B).is_ground:
            break
    else:
        return None
    den, integer = poly.clear_denoms(convert=True)
    content, primitive = integer.primitive()
    if primitive.LC() < 0:
        content, primitive = -content, -primitive
    return QQ.to_sympy(QQ.convert(content) / QQ.convert(den)), [(primitive, 1)]


def entry_to_expr(alg, entry, momenta):
    """An algebra entry as a SymPy expression collected by momentum monomials.

    When a gap factor holds ``1/m`` (a band-dependent mass in the gap) the entry
    is first split by exact division (:func:`_split`) and each piece collected on
    its own: collecting first would cut ``ħ²k²/2m_1 - g²k²/(E_g - ħ²k²/2m_1)``
    across powers of ``k`` and leave nothing to divide.
    """
    if entry is None:
        return sympy.Integer(0)
    alg, entry = alg.to_reference(entry)  # FLINT numerators become SymPy ones here, once per entry
    entry = alg.reduce_entry(entry)
    split_first = _laurent_factors(alg)
    if any(entry[1][i] for i in split_first):
        return sympy.Add(*[_collect(alg, piece, momenta) for piece in _split(alg, entry)])
    return _collect(alg, entry, momenta)


def _laurent_factors(alg):
    """Indices of the gap factors that hold an inverse generator (cached per algebra)."""
    out = alg.memo.get("laurent_factors")
    if out is None:
        inverse = [j for _, j in alg._pairs]
        out = alg.memo["laurent_factors"] = [
            i for i, f in enumerate(alg.factors) if any(mono[j] for mono in f for j in inverse)
        ]
    return out


def _collect(alg, entry, momenta):
    num, exps = entry
    ring = alg.ring
    idx = [alg.symbols.index(k) for k in momenta if k in alg.symbols]
    groups = {}
    for mono, c in num.items():
        key = tuple(mono[i] for i in idx)
        rest = list(mono)
        for i in idx:
            rest[i] = 0
        groups.setdefault(key, {})[tuple(rest)] = c
    terms = []
    for key in sorted(groups):
        k_mono = sympy.Mul(*[alg.symbols[i] ** e for i, e in zip(idx, key)])
        for sub_num, sub_exps in _split(alg, alg.reduce_entry((ring.dtype(groups[key]), exps))):
            coeff = factor_numerator(alg, sub_num)
            den = sympy.Mul(*[f**e for f, e in zip(alg.factor_exprs, sub_exps) if e])
            terms.append(coeff / den * k_mono)
    return sympy.Add(*terms)


def _split(alg, entry):
    """Write ``N / D`` as ``q / (D/f) + r / D`` while that shortens the numerators.

    Turns e.g. ``((E_g-b)² - 2b̃²)/(E_g-b)²`` into ``1 - 2b̃²/(E_g-b)²``, the
    paper's way of writing renormalisation factors.
    """
    num, exps = entry
    for i in range(alg.nf):
        if exps[i] == 0:
            continue
        q, r = alg.divmod_factor(num, i)
        if q and len(q) + len(r) < len(num):
            lower = list(exps)
            lower[i] -= 1
            pieces = _split(alg, (q, tuple(lower)))
            return pieces + ([(r, exps)] if r else [])
    return [(num, exps)]


def from_pauli(coefficients, size):
    """Rebuild a SymPy matrix from ``{(p, q): {"0": c0, ...}}`` with SymPy entries."""
    M = sympy.zeros(size)
    I = sympy.I
    for (p, q), cs in coefficients.items():
        c0, cx, cy, cz = (cs[mu] for mu in "0xyz")
        # c0 σ0 + cx σx + cy σy + cz σz entry by entry (matrix arithmetic costs 10× more)
        M[2 * p, 2 * q], M[2 * p, 2 * q + 1] = c0 + cz, cx - I * cy
        M[2 * p + 1, 2 * q], M[2 * p + 1, 2 * q + 1] = cx + I * cy, c0 - cz
    return M
