"""Runtime of the generated numpy kernels: argument checks, poles, the fast path, ``evaluate``.

A real module, linted and unit-tested; the generated ``kernels.py`` files stay
standalone because the code below the marker is copied into each of them
verbatim, after :mod:`.runtime_common` (see
:func:`symbolic_sw.codegen.kernels.runtime_source`).  The names above the
marker are stand-ins for what every generated module defines: its constants,
its ``OPERATORS`` and the common runtime.
"""

import difflib
import functools
import inspect

import numpy

from .runtime_common import _explain, _pole

PARAMETERS: tuple = ()
MOMENTA: tuple = ()
SHAPE: tuple = (2, 2)
OPERATORS: dict = {}

# ---- inlined into every generated kernel module from here on (symbolic_sw.codegen.runtime_source) ----


def _arguments(name, signature, args, kwargs):
    """Bind a call to ``signature`` and convert every argument to a float array (0-d for scalars)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(_explain(name, kwargs, error)) from None
    values = {}
    for key, value in bound.arguments.items():
        array = numpy.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name}(): {key} must be a real number or an array of reals, got {value!r}.")
        values[key] = array.astype(float)
    return values


def _kernel(terms, coefficients):
    """Decorate the general path of an operator: check the arguments, take the fast path if possible.

    ``terms``/``coefficients`` are the operator's coefficient table (None when it
    is not a polynomial in the momenta); the decorated function evaluates the
    closed form elementwise and stays reachable as ``kernel.__wrapped__``.
    """

    def decorate(f):
        signature = inspect.signature(f)

        @functools.wraps(f)
        def checked(*args, **kwargs):
            values = _arguments(f.__name__, signature, args, kwargs)
            momenta = [values.pop(k) for k in MOMENTA]
            if terms is None or not _fast(values, momenta):
                return _general(checked, momenta, values)
            return _polynomials(momenta, ((terms, coefficients, _scalars(values)),))[0]

        checked.terms, checked.coefficients = terms, coefficients
        return checked

    return decorate


def _general(kernel, momenta, values):
    """The general path of a kernel (its closed form, elementwise); ValueError at a pole."""
    with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the ValueError below says it
        result = kernel.__wrapped__(*momenta, **values)
    if not numpy.isfinite(result).all():
        _check_pole(kernel, result, momenta, values)
    return result


def _value(f, point):
    """``f(**point)`` (an array or a tuple of coefficients) as a complex array, or None if not finite."""
    try:
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = numpy.asarray(f(**point), dtype=complex)
    except ArithmeticError:  # ZeroDivisionError, OverflowError of scalar arithmetic
        return None
    return value if numpy.isfinite(value).all() else None


def _finite(f, point):
    """Whether ``f(**point)`` is finite everywhere."""
    return _value(f, point) is not None


def _check_pole(kernel, result, momenta, values):
    """Raise ValueError if ``result`` is inf/nan at a point where every argument is finite.

    Non-finite arguments give non-finite results, as numpy does.  For an
    operator polynomial in the momenta the pole is in its k-free coefficients
    (checked there, as on the fast path, so that huge momenta overflow alike on
    both paths); otherwise the closed form is re-evaluated at the point.
    """
    shape = result.shape[: result.ndim - 2]
    suspect = ~numpy.isfinite(result.reshape(*shape, -1)).all(axis=-1)
    for a in (*momenta, *values.values()):
        suspect &= numpy.isfinite(numpy.broadcast_to(a, shape))
    if not suspect.any():
        return
    index = numpy.unravel_index(numpy.argmax(suspect), shape)
    arguments = {**dict(zip(MOMENTA, momenta)), **values}
    point = {k: float(numpy.broadcast_to(v, shape)[index]) for k, v in arguments.items()}
    if kernel.terms is not None:
        point = {p: point[p] for p in PARAMETERS}
    finite = functools.partial(_finite, kernel.__wrapped__ if kernel.terms is None else kernel.coefficients)
    if not finite(point):
        raise ValueError(_pole(kernel.__name__, point, finite))


def _pauli(shape, c_0, c_x, c_y, c_z):
    """``c_0 σ_0 + c_x σ_x + c_y σ_y + c_z σ_z`` on a grid."""
    out = numpy.empty((*shape, 2, 2), dtype=complex)
    out[..., 0, 0] = c_0 + c_z
    out[..., 0, 1] = c_x - 1j * c_y
    out[..., 1, 0] = c_x + 1j * c_y
    out[..., 1, 1] = c_0 - c_z
    return out


def _entries(shape, n, entries):
    """An n×n matrix on a grid from its nonzero entries ``{(i, j): value}``."""
    out = numpy.zeros((*shape, n, n), dtype=complex)
    for (i, j), value in entries.items():
        out[..., i, j] = value
    return out


# -- fast path ------------------------------------------------------------------------
# Every operator here is a polynomial in the momenta (MOMENTA) whose coefficients depend on the
# parameters only: the denominators are gap factors, free of the momenta.  With scalar
# parameters a call on many points therefore
#   1. evaluates each coefficient once, in scalar arithmetic (_<name>_coefficients);
#   2. builds the monomials (k_x**a k_y**b ...) once per block of points, shared by every
#      operator asked for (blocks of a few thousand points stay in cache);
#   3. gets every real output column (Re and Im of each matrix entry) as a product
#      coefficients @ monomials.  Symmetric models (k_i -> -k_i) make each column
#      use one parity class (a % 2, b % 2, ...) of monomials only, so there is one
#      small product per class; identical columns (σ_x gives entries 01 and 10 alike)
#      and negated ones (σ_y) are computed once, zero columns not at all;
#   4. copies the columns into the complex output, one gather per operator.
# Writing the output is most of the time that remains.  The products are kept below
# OpenBLAS's multithreading threshold (m·n·k = 2**18): threads woken for products
# this small cost far more than they save, and on a busy machine a lot more.  Below
# _FAST_MIN_POINTS points the fixed cost of steps 1-4 exceeds the elementwise path.

_SIGMA = {"c_0": ((1, 0), (0, 1)), "c_x": ((0, 1), (1, 0)), "c_y": ((0, -1j), (1j, 0)), "c_z": ((1, 0), (0, -1))}
_BLOCK = 4096  # points per block, at most
_PRODUCT_SIZE = 2**18  # m·n·k of one product, at most
_FAST_MIN_POINTS = 2048  # fewer points: the general path


def _fast(values, momenta):
    """Whether the fast path applies: finite scalar parameters and enough points."""
    return (
        all(v.ndim == 0 for v in values.values())
        and numpy.broadcast(*momenta).size >= _FAST_MIN_POINTS
        and numpy.isfinite(sum(map(float, values.values())))  # else nan/inf propagate as on the general path
    )


def _parity(monomial):
    """Sort key of a monomial (a, b, ...): parity class first, then degree."""
    return (*(a % 2 for a in monomial), sum(monomial), *monomial)


@functools.lru_cache(maxsize=None)
def _layout(terms):
    """``(monomials, select, weights)`` of a terms tuple: the parameter-independent part of :func:`_table`."""
    n = SHAPE[0]
    monomials = tuple(sorted({tuple(powers) for _, *powers in terms}, key=_parity))
    row = {mono: r for r, mono in enumerate(monomials)}
    select = numpy.zeros((len(monomials), len(terms)))
    weights = numpy.zeros((len(terms), n * n), dtype=complex)
    for t, (component, *powers) in enumerate(terms):
        select[row[tuple(powers)], t] = 1
        if isinstance(component, str):
            weights[t] = numpy.asarray(_SIGMA[component]).ravel()
        else:
            weights[t, component[0] * n + component[1]] = 1
    return monomials, select, weights


def _scalars(values):
    """Scalar parameter values as a hashable key: ``((name, float), ...)`` in PARAMETERS order."""
    return tuple((p, float(values[p])) for p in PARAMETERS)


@functools.lru_cache(maxsize=32)
def _prepared(keys):
    """The plan (:func:`_plan`) of operators given as ``(terms, coefficients, scalars)`` keys.

    Cached: calls on chunks of points with the same parameters evaluate the
    coefficients and plan the products only once.
    """
    return _plan([_table(terms, _coefficients(coefficients, dict(scalars))) for terms, coefficients, scalars in keys])


def _coefficients(coefficients, point):
    """The coefficients at finite scalar parameters, as a complex array; ValueError at a pole."""
    value = _value(coefficients, point)
    if value is None:
        name = coefficients.__name__.removeprefix("_").removesuffix("_coefficients")
        raise ValueError(_pole(name, point, functools.partial(_finite, coefficients)))
    return value


def _table(terms, coefficients):
    """``(monomials, E)``: ``E[r, j]`` is the coefficient of ``monomials[r]`` in real output column j.

    The columns are the real and imaginary parts of the matrix entries, in the
    memory order of a complex ``SHAPE`` array.
    """
    monomials, select, weights = _layout(terms)
    E = select @ (weights * numpy.asarray(coefficients, dtype=complex).reshape(-1, 1))
    return monomials, numpy.ascontiguousarray(E).view(float)


def _plan(tables):
    """How to evaluate several coefficient tables together (steps 2-4 above).

    Returns ``(monomials, products, negations, gathers, rows, fill)``: the
    monomials in parity order; ``(lo, hi, C, first)`` per product ``Y[first:first
    + len(C)] = C @ X[lo:hi]``; ``(source, target)`` rows of Y to negate; per
    table the rows of Y that are its output columns (the last row of Y stays
    zero); the number of rows of Y; how to fill X (:func:`_fill_plan`).
    """
    monomials = sorted({mono for mons, _ in tables for mono in mons}, key=_parity)
    index = {mono: r for r, mono in enumerate(monomials)}
    classes = {}
    for r, mono in enumerate(monomials):
        parity = tuple(a % 2 for a in mono)
        lo, _ = classes.get(parity, (r, r))
        classes[parity] = (lo, r + 1)
    groups, seen, references = {}, {}, []  # columns by row range; column bytes -> reference
    for mons, E in tables:
        full = numpy.zeros((len(monomials), E.shape[1]))
        full[[index[mono] for mono in mons]] = E
        refs = []
        for column in full.T:
            support = numpy.flatnonzero(column)
            if support.size == 0:
                refs.append(None)
                continue
            key, negated = (column + 0.0).tobytes(), (-column + 0.0).tobytes()  # + 0.0: no -0.0
            if key in seen or negated in seen:
                refs.append((1, seen[key]) if key in seen else (-1, seen[negated]))
                continue
            parities = {tuple(a % 2 for a in monomials[r]) for r in support}
            span = classes[parities.pop()] if len(parities) == 1 else (0, len(monomials))
            groups.setdefault(span, []).append(column[span[0] : span[1]])
            seen[key] = (span, len(groups[span]) - 1)
            refs.append((1, seen[key]))
        references.append(refs)
    products, first, count = [], {}, 0
    for (lo, hi), columns in sorted(groups.items()):
        first[lo, hi] = count
        products.append((lo, hi, numpy.array(columns), count))
        count += len(columns)
    negations, negated_row, gathers = [], {}, []
    for refs in references:
        gather = []
        for ref in refs:
            if ref is None:
                gather.append(-1)
                continue
            sign, (span, position) = ref
            source = first[span] + position
            if sign < 0 and source not in negated_row:
                negated_row[source] = count + len(negations)
                negations.append((source, negated_row[source]))
            gather.append(source if sign > 0 else negated_row[source])
        gathers.append(gather)
    rows = count + len(negations) + 1
    gathers = [numpy.array([g if g >= 0 else rows - 1 for g in gather]) for gather in gathers]
    for array in (*gathers, *(C for _, _, C, _ in products)):
        array.flags.writeable = False  # shared by every call through the cache
    return monomials, products, negations, gathers, rows, _fill_plan(monomials)


def _polynomials(momenta, keys, results=None):
    """The operators of ``keys`` (see :func:`_prepared`) on the broadcast points: a list of arrays.

    ``results``: arrays to write into (checked by :func:`_outputs`), else new ones.
    """
    shape = numpy.broadcast(*momenta).shape
    ks = [numpy.broadcast_to(k, shape).ravel() for k in momenta]
    size = ks[0].size
    _monomials, products, negations, gathers, rows, fill = _prepared(keys)
    width = 2 * SHAPE[0] * SHAPE[1]
    if results is None:
        results = [numpy.empty(shape + SHAPE, dtype=complex) for _ in keys]
    outs = [r.reshape(size, width // 2).view(float) for r in results]  # views: (Re, Im) columns
    widest = max([C.shape[0] * C.shape[1] for _, _, C, _ in products], default=1)
    block = max(1, min(_BLOCK, size, _PRODUCT_SIZE // widest))
    X = numpy.empty((fill[1], block))
    Y = numpy.zeros((rows, block))
    for start in range(0, size, block):
        parts = [k[start : start + block] for k in ks]
        m = parts[0].size
        _fill_monomials(X[:, :m], parts, fill)
        for lo, hi, C, first in products:
            numpy.matmul(C, X[lo:hi, :m], out=Y[first : first + C.shape[0], :m])
        for source, target in negations:
            numpy.negative(Y[source, :m], out=Y[target, :m])
        for out, gather in zip(outs, gathers):
            out[start : start + m] = Y[gather, :m].T
    return results


def _fill_plan(monomials):
    """How to build the rows of X, lowest degree first: steps ``(row, source, i)``, and the row count.

    A step means ``X[row] = X[source] * k_i`` (``source`` None: ``X[row] = k_i``,
    ``i`` None: ``X[row] = 1``).  A lower monomial that is not a row of X itself
    becomes an extra row, after the ``len(monomials)`` rows :func:`_polynomials`
    multiplies.
    """
    index = {mono: r for r, mono in enumerate(monomials)}
    steps, done = [], {}

    def build(mono):
        if mono in done:
            return done[mono]
        r = index.get(mono)
        if r is None:
            r = index[mono] = len(index)
        if not any(mono):
            steps.append((r, None, None))
        else:
            i = next(i for i, a in enumerate(mono) if a)
            lower = (*mono[:i], mono[i] - 1, *mono[i + 1 :])
            steps.append((r, build(lower) if any(lower) else None, i))
        done[mono] = r
        return r

    for mono in sorted(monomials, key=sum):
        build(mono)
    return tuple(steps), len(index)


def _fill_monomials(X, ks, fill):
    """Fill X (rows: monomials of :func:`_plan`, then helpers) at the points ``ks``."""
    steps, _ = fill
    for r, source, i in steps:
        if i is None:
            X[r] = 1.0
        elif source is None:
            X[r] = ks[i]
        else:
            numpy.multiply(X[source], ks[i], out=X[r])


def _evaluate(momenta, operators, out, parameters):
    """The body of the module's ``evaluate(*momenta, operators=None, out=None, **parameters)``."""
    names = _operator_names(operators)
    signature = inspect.signature(next(iter(OPERATORS.values())).__wrapped__)  # every kernel's
    arguments = tuple(momenta)
    values = _arguments("evaluate", signature, arguments, parameters)
    momenta = [values.pop(k) for k in MOMENTA]
    shape = _broadcast_shape(*momenta, *values.values()) + SHAPE
    targets = _outputs(out, names, shape, {**dict(zip(MOMENTA, arguments)), **parameters})
    fast = [n for n in names if OPERATORS[n].terms is not None] if _fast(values, momenta) else []
    results = {n: _general(OPERATORS[n], momenta, values) for n in names if n not in fast}
    if targets is not None:
        for n, value in results.items():
            targets[n][...] = value
            results[n] = targets[n]
    if fast:
        scalars = _scalars(values)
        keys = tuple((OPERATORS[n].terms, OPERATORS[n].coefficients, scalars) for n in fast)
        given = None if targets is None else [targets[n] for n in fast]
        results.update(zip(fast, _polynomials(momenta, keys, given)))
    return {n: results[n] for n in names}


def _broadcast_shape(*arrays):
    """The broadcast shape of any number of arrays (``numpy.broadcast`` takes at most 32 before numpy 2)."""
    if len(arrays) <= 32:
        return numpy.broadcast(*arrays).shape
    return numpy.broadcast_shapes(*(numpy.shape(a) for a in arrays))


def _outputs(out, names, shape, inputs=None):
    """The ``out`` arrays of :func:`evaluate`, checked (None if not given).

    Each must be a writeable C-contiguous complex array of the result's shape,
    sharing no memory with another one or with an array among ``inputs``
    (``{argument: value}``, as passed).
    """
    if out is None:
        return None
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(
            f"evaluate(): out has no array for {', '.join(missing)}; give one "
            f"complex array of shape {shape} per operator asked for."
        )
    for n in names:
        a = out[n]
        if not (
            isinstance(a, numpy.ndarray)
            and a.dtype == complex
            and a.shape == shape
            and a.flags.c_contiguous
            and a.flags.writeable
        ):
            got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, numpy.ndarray) else type(a).__name__
            raise ValueError(
                f"evaluate(): out[{n!r}] must be a writeable C-contiguous complex "
                f"array of shape {shape}, got a {got}. Fix: "
                f"numpy.empty({shape}, dtype=complex)."
            )
    _disjoint(out, names, shape, inputs or {})
    return out


def _disjoint(out, names, shape, inputs):
    """ValueError if two ``out`` arrays, or one and an input array, share memory (a wrong result otherwise).

    Arrays are grouped by the array owning their memory (following ``.base``):
    two different owners never overlap, so only arrays with the same owner, or
    whose memory numpy does not own (``frombuffer``, ``as_strided`` …), are
    compared, exactly, with ``numpy.shares_memory``.
    """
    arrays = [(n, None, out[n]) for n in names]
    arrays += [(None, k, v) for k, v in inputs.items() if isinstance(v, numpy.ndarray)]
    owners, foreign = {}, []
    for i, (_, _, root) in enumerate(arrays):
        while isinstance(root.base, numpy.ndarray):
            root = root.base
        if root.base is None and root.flags.owndata:
            owners.setdefault(id(root), []).append(i)
        else:
            foreign.append(i)
    pairs = [(i, j) for group in owners.values() for n, i in enumerate(group) for j in group[:n]]
    pairs += [(i, j) for i in foreign for j in range(len(arrays)) if j != i and (j not in foreign or j < i)]
    for i, j in pairs:
        (name, key, a), (other, other_key, b) = arrays[i], arrays[j]
        if (name is None and other is None) or not numpy.shares_memory(a, b):
            continue  # inputs may share memory with each other
        if name is not None and other is not None:
            first, second = sorted((name, other), key=names.index)
            raise ValueError(
                f"evaluate(): out[{first!r}] and out[{second!r}] share memory: one result would overwrite "
                f"the other. Fix: give every operator its own array, numpy.empty({shape}, dtype=complex)."
            )
        name, key = (name, other_key) if name is not None else (other, key)
        raise ValueError(
            f"evaluate(): out[{name!r}] shares memory with the argument {key}: the result would "
            f"overwrite it while it is read. Fix: pass a copy ({key}.copy()) or another out array."
        )


def _operator_names(operators):
    """The names asked of :func:`evaluate`, checked, without repeats."""
    names = [operators] if isinstance(operators, str) else list(OPERATORS if operators is None else operators)
    unknown = [name for name in names if name not in OPERATORS]
    if unknown:
        hints = [
            repr(name)
            + "".join(f" (did you mean {close!r}?)" for close in difflib.get_close_matches(str(name), OPERATORS, n=1))
            for name in unknown
        ]
        raise ValueError(
            f"evaluate(): unknown operator(s) {', '.join(hints)}; the operators are {', '.join(OPERATORS)}."
        )
    return list(dict.fromkeys(names))
