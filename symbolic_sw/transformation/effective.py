"""``effective(model, order)``: effective H, S, J, T (and any operator) in closed form."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Mapping

import numpy as np
import sympy

from .. import operators as ops
from .. import symbols as paper_symbols
from ..errors import ModelError
from ..model import Model
from ..notation import operator_layout, operator_symbol, paper_matrix
from ..pauli import SIGMA, kron
from .algebra import Generators, resolve_backend
from .closed_form import entry_to_expr, from_pauli, pauli_coefficients
from .flint_algebra import make_algebra
from .numeric import NumericAlgebra, NumericSylvester, check_convergence, check_gap, real_number
from .progress import reporter
from .series import CanonicalSeries
from .sylvester import SylvesterPlan, SylvesterSolver
from .weyl import WeylAlgebra

__all__ = ["BuildContext", "Effective", "check_order", "effective", "effective_numeric"]


def check_order(order):
    """Validate a perturbative order (an integer ≥ 1)."""
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        raise ModelError(
            f"order must be an integer ≥ 1, got {order!r} ({type(order).__name__}). Fix: pass e.g. order=2."
        )
    if order < 1:
        raise ModelError(
            f"order must be ≥ 1 (it counts powers of the inter-block "
            f"coupling), got {order}. Fix: pass order=2 or higher."
        )
    return int(order)


def _common_scalar(H0):
    """The part of H0 proportional to the identity: terms shared by every diagonal entry.

    It commutes with everything, so it drops out of the Sylvester equations;
    removing it (e.g. the common ħ²k²/2m) keeps the gap polynomial k-independent.
    """
    dicts = [sympy.expand(H0[i, i]).as_coefficients_dict() for i in range(H0.rows)]
    common = set(dicts[0].items())
    for d in dicts[1:]:
        common &= set(d.items())
    return sympy.Add(*[c * t for t, c in sorted(common, key=lambda tc: sympy.default_sort_key(tc[0]))])


class _Engine:
    """Algebra, Sylvester solvers and the series for one model and symbol set."""

    def __init__(self, model: Model, extra_exprs=(), backend=None):
        self.model = model
        H0, H1 = model.central_split()
        n = model.dim
        # every entry the ring must represent, named for error messages (H0 + H1 = H entry by entry)
        labelled = [(f"H[{i},{j}]", M[i, j]) for M in (H0, H1) for i in range(n) for j in range(n) if M[i, j] != 0]
        labelled += [("1/hbar", 1 / model.hbar)] + [("an operator entry", e) for e in extra_exprs]
        # commutator values are star-product coefficients; non-commuting symbols (z) are differentiated like momenta
        labelled += [(f"[{a}, {b}]", c) for (a, b), c in model.commutators.items()]
        variables = tuple(model.momenta) + tuple(s for s in model.noncommuting if s not in model.momenta)
        self.gens = gens = Generators([e for _, e in labelled], variables, [label for label, _ in labelled])
        # H0 holds no non-commuting symbol (Model moved those terms into H1), so its common scalar is central
        shift = _common_scalar(H0)
        H0s = (H0 - shift * sympy.eye(n)).applyfunc(sympy.expand)
        # surds, atoms or 1/m in the diagonal blocks: the plans work on placeholders (polynomials)
        ring = None if all(gens.is_plain(e) for e in H0s) else gens
        if ring is not None:
            H0s = H0s.applyfunc(gens.canonical)
        nb = len(model.blocks)
        self.plans = {}
        factors = []
        for a in range(nb):
            for b in range(a + 1, nb):
                plan = self._plan(model.block(H0s, a), model.block(H0s, b), (a, b), ring)
                self.plans[a, b] = plan
                for f in plan.gap_factors():
                    if f not in factors:
                        factors.append(f)
        self.alg = alg = make_algebra(gens, factors, model.block_of, backend)
        # H0 is central: the Sylvester solve needs only commutative products
        self.solvers = {ab: SylvesterSolver(p, alg) for ab, p in self.plans.items()}
        if model.commutators:  # operator-valued momenta: every other product is a star product
            self.alg = alg = WeylAlgebra(alg, model.commutators)
        self.index = [list(range(s.start, s.stop)) for s in model.block_slices]
        self.series = CanonicalSeries(alg, alg.matrix(H0), alg.matrix(H1), self._solve)

    def _plan(self, h_a, h_b, labels, ring):
        try:
            return SylvesterPlan(h_a, h_b, self.model.momenta, labels=labels, ring=ring)
        except ModelError:
            raise
        except Exception as exc:  # SymPy's failures on exotic blocks never reach the user raw
            raise ModelError(
                f"the Sylvester equation (Eq. 19) between blocks {labels[0]} and {labels[1]} could not be "
                f"solved exactly ({type(exc).__name__}: {str(exc)[:200]}). Fix: move the exotic terms of "
                f"the diagonal blocks into the perturbation (Model(..., perturbation=...)), or simplify them."
            ) from None

    def _solve(self, Y):
        """``V`` with ``[V, H0] = Y`` (Y off-diagonal Hermitian), block pair by pair."""
        alg = self.alg
        if Y is None:
            return None
        V = [[None] * alg.n for _ in range(alg.n)]
        for (a, b), solve in self.solvers.items():
            ia, ib = self.index[a], self.index[b]
            C = [[alg.scale_entry(Y[i][j], alg.ring.domain(-1)) for j in ib] for i in ia]
            if all(e is None for r in C for e in r):
                continue
            X = solve(C)
            if X is None:
                continue
            for r, i in enumerate(ia):
                for c, j in enumerate(ib):
                    V[i][j] = X[r][c]
                    V[j][i] = alg.scale_entry(alg.conj_entry(X[r][c]), alg.ring.domain(-1))
        return V if any(e is not None for r in V for e in r) else None

    def covers(self, exprs):
        """Whether the ring represents every expression (else a new engine is built for them)."""
        return self.gens.covers(exprs)


class BuildContext:
    """What an operator kind's ``algebra`` recipe builds from (:class:`~symbolic_sw.operators.OperatorKind`).

    Algebra matrices of one model: ``H`` (the parts ``H0``, ``H1``), spin matrices,
    derivatives by direction, and the products a recipe combines them with.
    """

    def __init__(self, engine: _Engine, model: Model):
        self.alg, self.model = engine.alg, model
        # operators keep the model's split (kinetic velocity of order 0), also where the recursion moved terms
        self.H = (
            (engine.series.H0, engine.series.H1)
            if not model.commutators
            else (self.alg.matrix(model.H0), self.alg.matrix(model.H1))
        )
        self.hbar = model.hbar
        self._spin = {}

    def spin(self, mu):
        """``1 ⊗ σ_μ`` (Eq. 7), converted once per context."""
        if mu not in self._spin:
            self._spin[mu] = self.alg.matrix(ops.spin(self.model, mu).matrix)
        return self._spin[mu]

    def derivative(self, M, direction):
        """``∂M/∂k_i`` entrywise (chain rule in the ring)."""
        k = ops._momentum(self.model, direction)
        return None if M is None else [[self.alg.diff_entry(x, k) for x in row] for row in M]

    def times(self, M, c):
        """``c M`` for a SymPy number or expression ``c``."""
        if M is None:
            return None
        c = sympy.sympify(c)
        if c.is_number:
            return self.alg.scale(M, c)
        e = self.alg.entry(c)
        return [[self.alg.mul_entries(x, e) for x in row] for row in M]

    def commutator(self, A, B):
        """``[A, B] = A B − B A`` in the exact algebra."""
        return self.alg.add([self.alg.mul(A, B), self.alg.scale(self.alg.mul(B, A), -1)])

    def anticommutator(self, A, B):
        """``{A, B} = A B + B A`` in the exact algebra."""
        return self.alg.add([self.alg.mul(A, B), self.alg.mul(B, A)])


class _LazyMap(Mapping):
    def __init__(self, keys, compute):
        self._keys, self._compute, self._cache = list(keys), compute, {}

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(f"{key!r}; available: {self._keys}")
        if key not in self._cache:
            self._cache[key] = self._compute(key)
        return self._cache[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


class Effective:
    """Effective operators in one block of a model, to a given order.

    Attributes
    ----------
    H : sympy.Matrix
        Effective Hamiltonian (absolute energy), Eq. (18) to all orders.
    S, T : mapping "x"|"y"|"z" → sympy.Matrix
        Effective spin (Eq. 22) and spin torque (Eq. 21).
    J, dJ, J_standard : mapping (mu, i) → sympy.Matrix
        Effective spin current ``J_{μ,i}`` (Eq. 20), its part beyond the standard
        definition ``δJ`` (Eq. 27), and the standard ``½{(1/ħ)∂H_eff/∂k_i, 1⊗σ_μ}`` (Eq. 2).
    """

    def __init__(self, model: Model, order: int, block: int = 0, truncate=None, backend=None, progress=None):
        self.model = model
        self.backend = resolve_backend(backend)
        # the engine works in the declared gap variables (ε2 → ε1 + 𝓔_g); results are restored
        self._model = model.in_gap_variables()
        self._restore = dict(model.gaps)
        self.order = check_order(order)
        if not 0 <= block < len(model.blocks):
            raise ModelError(f"block {block} does not exist; the model has {len(model.blocks)} blocks.")
        self.block = block
        self._engine = _Engine(self._model, backend=self.backend)
        # one line per order and per operator (progress=True: stderr), never inside the products
        self._progress = reporter(progress, getattr(model, "name", "") or "")
        self._engine.series.extend(self.order, progress=self._progress)
        self.truncate = self._degree_limits(truncate)
        self.rows = self._engine.index[block]
        self._raw = {}
        dirs = [str(k).removeprefix("k_") for k in model.momenta]
        spins = ops.SPIN_COMPONENTS if model.spin else ()
        self.J_standard = _LazyMap(
            [(mu, i) for mu in spins for i in dirs], lambda key: self._closed(self._standard_raw(*key))
        )

    def __getattr__(self, attribute):
        """A registered operator kind as a mapping key → closed form: ``eff.S["x"]``, ``eff.J["x", "y"]``.

        Also ``eff.velocity["x"]`` and any other kind; made on first use, so kinds
        registered later work too.
        """
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        kind = next((k for k in ops.KINDS.values() if k.name == attribute and not k.hamiltonian), None)
        if kind is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attribute!r}")
        keys = kind.keys(self.model)
        unwrap = len(kind.axes) == 1  # eff.S["x"], not eff.S["x",]
        mapping = _LazyMap(
            [key[0] for key in keys] if unwrap else keys,
            lambda key: self._closed_kind(kind, (key,) if unwrap else key, kind.kernel_name((key,) if unwrap else key)),
        )
        self.__dict__[attribute] = mapping
        return mapping

    def operator(self, name: str) -> sympy.Matrix:
        """The closed form of a kernel name (``"H"``, ``"S_x"``, ``"J_x_y"``, ``"dJ_z_x"``, …)."""
        kind, key = ops.kind_of(name)
        if self._progress is not None:
            self._progress(f"operator {name}")
        if kind.hamiltonian:
            return self.H
        if tuple(key) not in kind.keys(self.model):
            raise ModelError(
                f"no operator {name!r} for this model; its {kind.symbol} keys are "
                f"{', '.join(kind.kernel_name(k) for k in kind.keys(self.model))}."
            )
        return self._closed_kind(kind, tuple(key), name)

    # -- raw (exact algebra) results ---------------------------------------------

    def _degree_limits(self, truncate):
        """``{symbol or tuple of symbols: max total degree}`` → algebra generator indices."""
        if not truncate:
            return ()
        alg, limits = self._engine.alg, []
        for key, degree in truncate.items():
            group = tuple(key) if isinstance(key, (tuple, list, frozenset, set)) else (key,)
            unknown = [str(s) for s in group if s not in alg.symbols or s in alg.inverse]
            if unknown:
                raise ModelError(
                    f"cannot truncate in {', '.join(unknown)}: not a polynomial "
                    f"parameter of the model (parameters: "
                    f"{', '.join(map(str, self.model.parameters))})."
                )
            inside = [(str(s), X) for s in group for X in alg.gens.atoms if s in X.free_symbols]
            if inside:
                raise ModelError(
                    f"cannot truncate in {inside[0][0]}: it appears inside {inside[0][1]}, which is kept "
                    f"exactly (not expanded in powers of {inside[0][0]}). Fix: expand that function by hand "
                    f"(a series in {inside[0][0]}) before building the model, or do not truncate in it."
                )
            in_gap = [str(f) for f in alg.factor_exprs if set(group) & f.free_symbols]
            if in_gap:
                raise ModelError(
                    f"cannot truncate in {', '.join(map(str, group))}: it appears in the "
                    f"energy denominator {in_gap[0]}. Fix: move its terms into the "
                    f"perturbation (Model(..., perturbation=...))."
                )
            if isinstance(degree, bool) or not isinstance(degree, numbers.Integral) or degree < 0:
                raise ModelError(f"truncation degree for {key} must be an integer ≥ 0, got {degree!r}.")
            limits.append((tuple(alg.symbols.index(s) for s in group), int(degree)))
        return tuple(limits)

    def _sub(self, M):
        out = [[M[i][j] if M is not None else None for j in self.rows] for i in self.rows]
        if self.truncate:
            out = [[self._engine.alg.truncate_entry(e, self.truncate) for e in row] for row in out]
        return out

    def _sum_orders(self, terms):
        alg = self._engine.alg
        return self._sub(alg.reduce(alg.add(terms[: self.order + 1])))

    @property
    def _H_raw(self):
        if "H" not in self._raw:
            self._raw["H"] = self._sum_orders(self._engine.series.H_eff)
        return self._raw["H"]

    def _op_raw(self, op: ops.Operator, engine=None, cache=False, reduce=True):
        engine = engine or self._engine
        # keyed on content, so a user operator never collides with a built-in one
        key = ("op", tuple(sympy.ImmutableMatrix(p) for p in op.parts), reduce) if cache else None
        if key is not None and key in self._raw:
            return self._raw[key]
        out = self._transform_raw([engine.alg.matrix(p) for p in op.parts], engine, reduce)
        if key is not None:
            self._raw[key] = out
        return out

    def _transform_raw(self, parts, engine, reduce=True):
        """``U† O U`` in the block, to this order, for an operator given by algebra parts."""
        alg = engine.alg
        total = alg.add(engine.series.transform(parts, self.order, self.rows))
        return self._sub(alg.reduce(total) if reduce else total)

    def _kind_raw(self, kind, *key):
        """The effective operator of a registered kind in the exact algebra (Eqs. 18-22, 27)."""
        cache_key = (kind.symbol, *key)
        if cache_key in self._raw:
            return self._raw[cache_key]
        alg = self._engine.alg
        if kind.hamiltonian:
            out = self._H_raw
            self._raw[("bare", *cache_key)] = self._sub(alg.matrix(self._model.H0))
        elif kind.beyond_standard:
            alg = self._engine.alg
            base = self._kind_raw(ops.KINDS[kind.beyond_standard], *key)
            out = alg.reduce(alg.add([base, alg.scale(self._standard_raw(*key), -1)]))
        elif kind.algebra is not None:
            parts = kind.algebra(self._context(), *key)
            out = self._transform_raw(parts, self._engine)
            self._raw[("bare", *cache_key)] = self._sub(parts[0])
        else:
            op = kind.build(self._model, *key)
            out = self._op_raw(op)
            self._raw[("bare", *cache_key)] = self._sub(alg.matrix(op.parts[0]))
        self._raw[cache_key] = out
        return out

    def _builtin_raw(self, symbol, *key):
        """The kind ``symbol`` (``"S"``, ``"T"``, ``"J"``, ``"v"``, …) built in the algebra."""
        return self._kind_raw(ops.KINDS[symbol], *key)

    def _context(self):
        if "context" not in self._raw:
            self._raw["context"] = BuildContext(self._engine, self._model)
        return self._raw["context"]

    def _standard_raw(self, mu, i):
        """``½{(1/ħ)∂H_eff/∂k_i, 1⊗σ_μ}`` in the effective block (Eq. 27, first term)."""
        alg, model = self._engine.alg, self.model
        k = ops._momentum(model, i)
        inv_hbar = alg.entry(1 / model.hbar)
        dH = [[alg.mul_entries(alg.diff_entry(e, k), inv_hbar) for e in row] for row in self._H_raw]
        sigma = alg.matrix(kron(sympy.eye(len(self.rows) // 2), SIGMA[mu]))
        anti = alg.add([alg.mul(dH, sigma), alg.mul(sigma, dH)])
        return alg.reduce(alg.scale(anti, sympy.Rational(1, 2)))

    # -- closed forms -------------------------------------------------------------

    def _closed(self, raw, engine=None, name=None, bare=None):
        """The closed form of an algebra result, in the declared parameters, displayed in the paper's notation.

        ``bare`` is the operator's order-0 block (``H0`` in the block for H): it is
        written apart from the corrections, as in Eqs. (34)-(36) (``ε1 + ħ²k²/2m + …``),
        so that it is not put over the corrections' gap denominators.
        """
        if bare is not None and raw is not None:
            alg = (engine or self._engine).alg
            rest = alg.reduce(alg.add([raw, alg.scale(bare, -1)]))
            M = self._closed_form(bare, engine) + self._closed_form(rest, engine)
        else:
            M = self._closed_form(raw, engine)
        return paper_matrix(self._restored(M), name)

    def _closed_kind(self, kind, key, name):
        """The closed form of a registered kind's operator (``key`` a tuple), with its order-0 block apart."""
        raw = self._kind_raw(kind, *key)
        return self._closed(raw, name=name, bare=self._raw.get(("bare", kind.symbol, *key)))

    def _restored(self, M):
        """``M`` with every gap written back as its declared difference (𝓔_g → ε2 - ε1)."""
        return M.xreplace(self._restore) if self._restore else M

    def _closed_form(self, raw, engine=None):
        alg, model = (engine or self._engine).alg, self.model
        n = len(self.rows)
        if raw is None:
            return sympy.zeros(n)
        if model.spin:
            coeffs = pauli_coefficients(alg, raw)
            exprs = {
                pq: {mu: entry_to_expr(alg, c, model.momenta) for mu, c in cs.items()} for pq, cs in coeffs.items()
            }
            return from_pauli(exprs, n)
        return sympy.Matrix(n, n, lambda i, j: entry_to_expr(alg, raw[i][j], model.momenta))

    @property
    def H(self) -> sympy.Matrix:
        """The effective Hamiltonian of the block (absolute energy), Eq. (18), in closed form."""
        if "H_closed" not in self._raw:
            self._raw["H_closed"] = self._closed_kind(ops.KINDS["H"], (), "H")
        return self._raw["H_closed"]

    def pauli(self, M):
        """Pauli coefficients ``{"0", "x", "y", "z"}`` of a 2×2 effective operator."""
        M = sympy.Matrix(M)
        if M.shape != (2, 2):
            raise ModelError("pauli() takes a 2×2 effective operator.")
        return {mu: sympy.together((SIGMA[mu] * M).trace() / 2) for mu in "0xyz"}

    def transform(self, O, name="O") -> sympy.Matrix:
        """Effective version ``(U† O U)`` in this block, to this order, of any operator.

        ``O`` is a full-size SymPy matrix (order 0 in the perturbation) or an
        :class:`~symbolic_sw.operators.Operator` with graded parts.
        """
        op = self._user_operator(O, name)
        engine = self._engine_for(op)
        bare = self._sub(engine.alg.matrix(op.parts[0]))
        return self._closed(self._op_raw(op, engine), engine, bare=bare)

    def _engine_for(self, op):
        """The model's engine, or a new one whose ring also holds the operator's symbols and atoms."""
        exprs = [e for p in op.parts for e in p]
        engine = self._engine
        if not engine.covers(exprs):
            engine = _Engine(self._model, extra_exprs=exprs, backend=self.backend)
            engine.series.extend(self.order)
        return engine

    def _user_operator(self, O, name="O"):
        """A user operator in this model's basis (permuted if blocks were regrouped)."""
        perm = self.model.basis_order
        is_function = callable(O) and not isinstance(O, (ops.Operator, sympy.MatrixBase))
        if is_function and self.model.commutators:
            raise ModelError(
                f"operator {name!r} is a function of H, which SymPy would multiply as if "
                f"{', '.join(map(str, self.model.noncommuting))} commuted. Fix: pass the operator's Weyl symbol "
                f"as a matrix (products of non-commuting symbols written symmetrised)."
            )
        if perm is not None and not is_function:  # f(H) already sees the permuted H
            parts = O.parts if isinstance(O, ops.Operator) else (O,)
            try:
                parts = [sympy.Matrix(p).extract(list(perm), list(perm)) for p in parts]
            except (IndexError, TypeError, ValueError) as exc:
                raise ModelError(
                    f"operator must be a {self.model.dim}x{self.model.dim} matrix in the original basis."
                ) from exc
            O = ops.Operator(parts, getattr(O, "name", name), getattr(O, "time_reversal", None))
        if self._restore and isinstance(O, (ops.Operator, sympy.MatrixBase)):  # into the gap variables
            forward = self.model.gap_substitution
            parts = [sympy.Matrix(p).xreplace(forward) for p in (O.parts if isinstance(O, ops.Operator) else (O,))]
            O = ops.Operator(parts, getattr(O, "name", name), getattr(O, "time_reversal", None))
        return ops.operator(self._model, O, name=name)

    @property
    def fine_blocks(self):
        """The original blocks inside this effective block: ``{block: slice}``."""
        return dict(self.model.fine_blocks[self.block])

    def sub(self, M, a, b=None):
        """The ``(a, b)`` sub-block of an effective operator, by original block index.

        After selective elimination (``effective(..., eliminate=...)``) the
        effective block holds several original blocks; ``eff.sub(eff.H, 0, 1)``
        is the effective coupling between blocks 0 and 1.
        """
        b = a if b is None else b
        fine = self.fine_blocks
        missing = [x for x in (a, b) if x not in fine]
        if missing:
            raise ModelError(
                f"block {missing[0]} is not part of this effective block; it holds the original blocks {sorted(fine)}."
            )
        return sympy.Matrix(M)[fine[a], fine[b]]

    def evaluate(self, O, values):
        """Numeric value of the exact effective operator at one point, without closed forms.

        ``O`` is ``"H"`` or an operator; ``values`` maps every symbol (a SymPy symbol or
        its name, ``{"b": 0.1}``) to a real number; an unknown name is a ModelError.
        Useful when the closed form is large (e.g. exact in γ1, γ2 for Eq. A19).
        """
        engine = self._engine
        if isinstance(O, str) and O == "H":
            raw = self._sub(engine.alg.add(engine.series.H_eff[: self.order + 1]))
        else:
            op = self._user_operator(O)
            engine = self._engine_for(op)
            raw = self._op_raw(op, engine, cache=engine is self._engine, reduce=False)
        # string keys ({"b": 0.1}) as the specs and kernels take them; numbers only, never parsed
        needed = self.model.H.free_symbols | set(self.model.momenta) | {self.model.hbar}
        needed |= set().union(*(sympy.sympify(c).free_symbols for c in getattr(self.model, "commutators", {}).values()))
        if not (isinstance(O, str) and O == "H"):
            needed |= set().union(*(p.free_symbols for p in op.parts))
        # a declared gap (E_g = ε2 − ε1) is computed from its difference when that is given
        names = {str(k) for k in values} if isinstance(values, Mapping) else set()
        for gap, difference in self._restore.items():
            if str(gap) not in names and {str(s) for s in difference.free_symbols} <= names:
                needed = (needed - {gap}) | difference.free_symbols
        values = _numeric_values(values, {s for s in needed if isinstance(s, sympy.Symbol)}, "evaluate()")
        return engine.alg.evaluate(raw, self._gap_values(values))

    def _gap_values(self, values):
        """``values`` with the value of every declared gap added (𝓔_g = ε2 - ε1), for the engine."""
        if not self._restore or not isinstance(values, Mapping):
            return values
        out = dict(values)
        for gap, difference in self._restore.items():
            if gap not in out and difference.free_symbols <= set(values):
                out[gap] = difference.xreplace({s: sympy.sympify(values[s]) for s in difference.free_symbols})
        return out

    def order_terms(self, O="H"):
        """Per-order terms ``[O_0, O_1, ..., O_order]`` of an effective operator.

        ``O`` is ``"H"`` or an operator (matrix or graded Operator); the terms are
        unsimplified SymPy matrices of the effective block.
        """
        engine = self._engine
        if isinstance(O, str) and O == "H":
            terms = engine.series.H_eff[: self.order + 1]
        else:
            op = self._user_operator(O)
            engine = self._engine_for(op)
            terms = engine.series.transform([engine.alg.matrix(p) for p in op.parts], self.order, self.rows)
        alg = engine.alg
        return [self._restored(alg.to_sympy(alg.reduce(t), self.rows, self.rows)) for t in terms]

    # -- any block of a transformed operator, order by order (issue 17) -----------

    def block_terms(self, O="H", rows="A", cols="A", values=None):
        """Closed forms of one block of ``U†OU``, order by order: ``[Õ_0, Õ_1, ..., Õ_order]``.

        Response functions need more than the effective block: the remote block
        ``(U†HU)_BB`` (energy denominators) and the off-diagonal blocks
        ``(U†OU)_AB`` (virtual transitions) of the same order-``order`` ``U``,
        term by term, since a product of two of them is truncated in the sum of
        their orders. ``Õ_n = Σ_(i+l+j=n) U_i† O_l U_j`` (Eqs. 20-22, F5).

        Parameters
        ----------
        O : str, Operator or sympy.Matrix
            ``"H"``; the kernel name of a registered kind (``"J_z_x"``, ``"v_y"``,
            ``"S_z"``; not ``δJ``, defined in block A only); or any operator, as
            for :meth:`transform`.
        rows, cols : "A", "B" or int
            ``"A"``: this effective block; ``"B"``: every other block together;
            an integer: that block of the model.
        values : mapping, optional
            Numbers for every symbol (momenta included): the terms are then
            evaluated in the exact algebra, without closed forms (as :meth:`evaluate`).

        Returns
        -------
        list of sympy.Matrix (or of complex ndarray with ``values``)
            ``len(rows) × len(cols)`` per order ``0..order``, in the declared parameters.

        Notes
        -----
        Diagonal blocks of ``H`` (``rows == cols``) are the series' ``H_eff,n``
        (Eqs. 18, D6) of every block; the others transform ``H = H0 + H1`` as an
        operator, so ``block_terms("H", "A", "B")`` checks block-diagonality (zero up to
        ``order``, order by order). Closed forms are cached per operator and block.
        """
        r, c = self._block_index(rows, "rows"), self._block_index(cols, "cols")
        key, build = self._block_operator(O)
        cache_key = ("block", key, tuple(r), tuple(c))
        if cache_key not in self._raw:
            engine, parts = build()
            alg = engine.alg
            if parts is None and r == c:
                terms = engine.series.H_eff[: self.order + 1]
            else:
                if parts is None:
                    parts = (engine.series.H0, engine.series.H1)
                terms = engine.series.transform(parts, self.order, r, c)
            raw = []
            for t in terms:
                t = None if t is None else alg.reduce(t)
                sub = [[None if t is None else t[i][j] for j in c] for i in r]
                if self.truncate:
                    sub = [[alg.truncate_entry(e, self.truncate) for e in row] for row in sub]
                raw.append(sub)
            self._raw[cache_key] = alg, raw  # a user operator's ring may be another engine's
        alg, raw = self._raw[cache_key]
        if values is not None:
            needed = self.model.H.free_symbols | set(self.model.momenta) | {self.model.hbar}
            if not isinstance(O, str):
                needed |= set().union(*(p.free_symbols for p in self._user_operator(O).parts))
            names = {str(k) for k in values} if isinstance(values, Mapping) else set()
            for gap, difference in self._restore.items():
                if str(gap) not in names and {str(s) for s in difference.free_symbols} <= names:
                    needed = (needed - {gap}) | difference.free_symbols
            given = _numeric_values(values, {s for s in needed if isinstance(s, sympy.Symbol)}, "block_terms()")
            return [alg.evaluate(sub, self._gap_values(given)) for sub in raw]
        closed_key = ("block closed", *cache_key[1:])
        if closed_key not in self._raw:
            momenta = self._model.momenta
            self._raw[closed_key] = [
                self._restored(sympy.Matrix(len(r), len(c), lambda i, j: entry_to_expr(alg, sub[i][j], momenta)))
                for sub in raw
            ]
        return [M.copy() for M in self._raw[closed_key]]

    def _block_index(self, which, what):
        """Basis indices of ``"A"``, ``"B"`` or a block number (:meth:`block_terms`)."""
        index, n = self._engine.index, len(self.model.blocks)
        if isinstance(which, str) and which == "A":
            return list(self.rows)
        if isinstance(which, str) and which == "B":
            out = [i for b, ix in enumerate(index) if b != self.block for i in ix]
            if not out:
                raise ModelError(f"{what}='B': model {self.model.name!r} has one block only. Fix: use 'A'.")
            return out
        if isinstance(which, numbers.Integral) and not isinstance(which, bool) and 0 <= which < n:
            return list(index[which])
        raise ModelError(
            f"{what}={which!r} is not a block: use 'A' (block {self.block}, the effective one), 'B' (every "
            f"other block) or a block number 0..{n - 1}. Fix: e.g. eff.block_terms('J_z_x', rows='A', cols='B')."
        )

    def _block_operator(self, O):
        """``(cache key, build)`` of an operator for :meth:`block_terms`; ``build() -> (engine, parts | None)``."""
        if isinstance(O, str):
            kind, key = ops.kind_of(O)
            if kind.hamiltonian:
                return "H", lambda: (self._engine, None)
            if tuple(key) not in kind.keys(self.model):
                raise ModelError(
                    f"no operator {O!r} for this model; its {kind.symbol} keys are "
                    f"{', '.join(kind.kernel_name(k) for k in kind.keys(self.model))}."
                )
            if kind.beyond_standard:
                raise ModelError(
                    f"{O!r} is defined in the effective block only (it subtracts the textbook operator of H_eff). "
                    f"Fix: ask for {kind.beyond_standard}_{'_'.join(key)} or use eff.operator({O!r})."
                )
            if kind.algebra is not None:
                return O, lambda: (self._engine, kind.algebra(self._context(), *key))
            op = kind.build(self._model, *key)
            return O, lambda: (self._engine, [self._engine.alg.matrix(p) for p in op.parts])
        op = self._user_operator(O)

        def build():
            engine = self._engine_for(op)
            return engine, [engine.alg.matrix(p) for p in op.parts]

        return ("op", tuple(sympy.ImmutableMatrix(p) for p in op.parts)), build

    @property
    def gap_factors(self):
        """The gap factors that appear in denominators."""
        return [sympy.expand(f.xreplace(self._restore)) for f in self._engine.alg.factor_exprs]

    @property
    def counts(self):
        """Matrix products and Sylvester solves done so far (for cost guards)."""
        return dict(self._engine.series.counts)

    def unitary_terms(self):
        """Terms ``U_n`` (n = 0..order) of ``U = exp(iQ)`` as SymPy matrices (full size)."""
        alg, s = self._engine.alg, self._engine.series
        return [self._restored(alg.to_sympy(s.U(n))) for n in range(self.order + 1)]

    def __repr__(self):
        """Model name, order and block, e.g. ``Effective('rashba_toy', order=2, block=0)``."""
        return f"Effective({self.model.name!r}, order={self.order}, block={self.block})"

    def _repr_latex_(self):
        """Jupyter: the effective Hamiltonian in the paper's notation (Pauli form)."""
        rows = [" ".join(text for _, text in row if text) for row in operator_layout(self.H)]
        body = r" \\ &".join(rows)
        return (
            rf"$\begin{{aligned}}{operator_symbol('H')} ={{}}& {body}\end{{aligned}}$"
            f"  (order {self.order})"
        )


def effective(
    model: Model, order: int = 2, block: int = 0, truncate=None, eliminate=None, backend=None, progress=False
) -> Effective:
    """Effective operators in ``block`` of ``model`` to ``order`` in the perturbation.

    The diagonal blocks are kept exactly (the Sylvester equations, Eq. 19, are
    solved in closed form even when the blocks are not diagonal), so for Eq. (33)
    the result is exact in ``b`` (Appendix F).

    Parameters
    ----------
    model : Model
    order : int
        Highest power of the perturbation kept (≥ 1).
    block : int
        Which block's effective operators to return (default: the first).
    truncate : dict, optional
        ``{symbol or tuple of symbols: max degree}``: drop terms of higher total
        degree in those symbols, for a double expansion — e.g. order 2 in the
        inter-orbital coupling and 1 in an intrinsic SOC placed in the perturbation
        (``order`` then counts both, and ``truncate`` separates them).
    eliminate : sequence of (int, int), optional
        Selective elimination: only the couplings between these block pairs are
        removed; blocks joined by a kept coupling are treated as one block
        (:meth:`Model.grouped`), and ``block`` selects the group containing it.
        Default: every pair — full block-diagonalisation, any number of blocks.
        Use :meth:`Effective.sub` to read the original blocks of the result.
    backend : {"flint", "sympy"}, optional
        How the exact algebra stores its polynomials: FLINT (default; python-flint,
        in C) or SymPy's sparse rings (the pure-Python reference).  Same closed
        forms either way.  Default: ``$SYMBOLIC_SW_BACKEND``, else ``"flint"``.
    progress : bool or callable, optional
        ``True``: one line on stderr per order of the series and per operator built
        by :meth:`Effective.operator`, with the elapsed time (for derivations of more
        than a few seconds); a callable receives the same lines as text.  Default: silent.
    """
    if not isinstance(model, Model):
        raise ModelError(f"effective() takes a symbolic_sw Model, got {type(model).__name__}.")
    if not isinstance(block, numbers.Integral) or not 0 <= block < len(model.blocks):
        raise ModelError(
            f"block {block!r} does not exist; the model has {len(model.blocks)} blocks (0..{len(model.blocks) - 1})."
        )
    if eliminate is not None:
        groups = model.groups_eliminating(eliminate)
        model = model.grouped(groups)
        block = next(i for i, g in enumerate(groups) if block in g)
    return Effective(model, order, block, truncate, backend, progress)


def _numeric_values(values, needed, what):
    """``values`` as ``{Symbol: float}`` for the symbols ``needed``: numbers only, keys resolved by name.

    Keys are SymPy symbols or their names (``{"b": 0.1}``); a key naming none of
    ``needed`` is an error unless it is one of the paper's symbols
    (:mod:`symbolic_sw.symbols`), so that one dict serves every built-in model.
    Values go through :func:`~.numeric.real_number`: never ``sympify``, never ``eval``.
    """
    if not isinstance(values, Mapping):
        raise ModelError(
            f"{what}: values must be a mapping {{symbol or name: number}}, got {type(values).__name__}. "
            f"Fix: pass e.g. {{'b': 0.1, 'k_x': 0.2, ...}}."
        )
    by_name = {str(s): s for s in needed}
    shared = {str(s) for s in vars(paper_symbols).values() if isinstance(s, sympy.Symbol)}
    out, unknown = {}, []
    for key, value in values.items():
        if not isinstance(key, (str, sympy.Symbol)):
            raise ModelError(f"{what}: value keys must be SymPy symbols or their names, got {key!r}.")
        name = str(key)
        symbol = by_name.get(name)
        if symbol is None:
            if name not in shared:
                unknown.append(name)
            continue
        number = real_number(value, f"the value of {name}", symbol)
        if symbol in out and out[symbol] != number:
            raise ModelError(f"{what}: two different values for {name} ({out[symbol]!r} and {number!r}).")
        out[symbol] = number
    if unknown:
        close = [m for n in sorted(unknown) for m in difflib.get_close_matches(n, sorted(by_name), n=1)]
        hint = f" (did you mean {', '.join(dict.fromkeys(close))}?)" if close else ""
        raise ModelError(
            f"{what}: unknown symbol(s) {', '.join(sorted(unknown))}{hint}; the model's symbols are "
            f"{', '.join(sorted(by_name))}. Fix: remove them or use these names."
        )
    missing = sorted(set(by_name) - {str(s) for s in out})
    if missing:
        raise ModelError(
            f"{what}: missing values for {', '.join(missing)}; pass a number for every symbol of the model "
            f"and the operators (momenta included)."
        )
    return out


def _numeric_matrix(M, values, what):
    """A SymPy matrix at numbers ``values`` as a complex array; a pole is a ModelError, not inf or nan."""
    entries = sympy.Matrix(M).subs(values)
    try:
        out = np.array(entries.evalf(), dtype=complex)
    except (TypeError, ValueError):  # zoo or nan entries have no complex value
        out = np.array([np.nan])
    if not np.all(np.isfinite(out)):
        bad = [e for e in entries if e.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)]
        raise ModelError(
            f"{what} is not finite at these values{f' (an entry becomes {bad[0]})' if bad else ''}: a parameter "
            f"sits at a pole of the model (a denominator vanishes). Fix: move the values away from it."
        )
    return out


def effective_numeric(model: Model, order: int, values, operators=(), block: int = 0):
    """Floating-point effective operators at one parameter point (any order).

    The recursion of Appendix D in floats (:mod:`.numeric`), with the same
    exact-in-the-blocks Sylvester solve (Eq. 19) in the blocks' eigenbases.
    Before a result is returned, the gap between the blocks of ``H0`` is
    compared with the coupling order by order
    (:func:`~.numeric.check_convergence`).

    Parameters
    ----------
    model : Model
    order : int
        Highest power of the perturbation kept (≥ 1).
    values : mapping
        A real number for every symbol of the model and the operators (momenta
        included); keys are SymPy symbols or their names (``{"b": 0.1}``).
        Values must be numbers (int, float, numpy reals, Fraction, SymPy
        numbers): strings are refused, never evaluated.  Keys naming one of the
        paper's symbols that the model lacks are ignored, other unknown keys are
        an error.
    operators : sequence of Operator or matrices
        Extra operators to transform.
    block : int
        The block whose effective operators are returned.

    Returns
    -------
    H_eff, [O_eff, ...] : numpy arrays of the block, summed to ``order``.

    Raises
    ------
    ModelError
        Bad or missing values; a closed gap between the blocks of ``H0``; a
        coupling too large for the gap (the series diverges, ρ ≥ 1 in
        :class:`~.numeric.Convergence`).

    Warns
    -----
    SeriesConvergenceWarning
        The gap is comparable to the coupling (1/2 ≤ ρ < 1): the result is
        only a rough approximation.
    """
    if not isinstance(model, Model):
        raise ModelError(f"effective_numeric() takes a symbolic_sw Model, got {type(model).__name__}.")
    order = check_order(order)
    if isinstance(block, bool) or not isinstance(block, numbers.Integral) or not 0 <= block < len(model.blocks):
        raise ModelError(
            f"block {block!r} does not exist; the model has {len(model.blocks)} blocks (0..{len(model.blocks) - 1})."
        )
    if model.commutators:
        raise ModelError(
            "effective_numeric() multiplies numbers, which commute; this model has non-commuting symbols "
            f"({', '.join(map(str, model.noncommuting))}). Fix: use effective() (exact star products) and "
            "evaluate its result (Effective.evaluate or the kernels)."
        )
    op_list = [ops.operator(model, O) for O in operators]
    needed = model.H.free_symbols.union(*(p.free_symbols for op in op_list for p in op.parts))
    given = _numeric_values(values, needed, "effective_numeric()")

    alg = NumericAlgebra(model.block_of)
    H0 = _numeric_matrix(model.H0, given, "H0")
    H1 = alg.matrix(_numeric_matrix(model.H1, given, "H1"))
    solve = NumericSylvester(H0, model.block_of)
    check_gap(H0, H1, solve)  # before any solve divides by the gap
    series = CanonicalSeries(alg, H0, H1, solve)
    # two orders beyond the result (for two blocks only odd orders of V are nonzero):
    # V_(order+1), V_(order+2) show a small gap that the coupling reaches only indirectly
    series.extend(order + 2)
    check_convergence(H1, series.V, solve, order)
    idx = list(range(model.block_slices[block].start, model.block_slices[block].stop))

    def cut(M):
        return np.zeros((len(idx), len(idx)), complex) if M is None else M[np.ix_(idx, idx)]

    H = cut(alg.add(series.H_eff[: order + 1]))
    outs = []
    for op in op_list:
        parts = [alg.matrix(_numeric_matrix(p, given, f"operator {op.name!r}")) for p in op.parts]
        outs.append(cut(alg.add(series.transform(parts, order, idx))))
    return H, outs
