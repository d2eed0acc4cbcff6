"""Runtime of the generated mpmath kernels: argument checks, poles and matrix assembly.

A real module, linted and unit-tested; the generated ``kernels_mpmath.py`` files
stay standalone because the code below the marker is copied into each of them
verbatim, after :mod:`.runtime_common` (see
:func:`symbolic_sw.codegen.kernels.runtime_source`).
"""

import functools
import inspect

import mpmath

from .runtime_common import _explain, _pole

PARAMETERS: tuple = ()
MOMENTA: tuple = ()

# ---- inlined into every generated kernel module from here on (symbolic_sw.codegen.runtime_source) ----


def _kernel(f):
    """Bind and check the arguments, convert them to ``mpmath.mpf``; ValueError at a pole."""
    signature = inspect.signature(f)

    @functools.wraps(f)
    def checked(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(_explain(f.__name__, kwargs, error)) from None
        values = {}
        for key, value in bound.arguments.items():
            try:
                values[key] = mpmath.mpf(value)
            except (TypeError, ValueError):
                raise TypeError(f"{f.__name__}(): {key} must be a real number, got {value!r}.") from None
        try:
            return f(**values)
        except ZeroDivisionError:
            raise ValueError(_pole(f.__name__, values, functools.partial(_finite, f))) from None

    return checked


def _finite(f, point):
    """Whether ``f(**point)`` is finite (no division by zero, no inf/nan entry)."""
    try:
        value = f(**point)
    except ZeroDivisionError:
        return False
    return all(mpmath.isfinite(x) for row in value.tolist() for x in row)


def _pauli(c_0, c_x, c_y, c_z):
    j = mpmath.mpc(0, 1)
    return mpmath.matrix([[c_0 + c_z, c_x - j * c_y], [c_x + j * c_y, c_0 - c_z]])


def _entries(n, entries):
    out = mpmath.matrix(n, n)
    for (i, j), value in entries.items():
        out[i, j] = value
    return out
