"""Runtime of the generated mpmath kernels: argument checks and matrix assembly.

A real module, linted and unit-tested; the generated ``kernels_mpmath.py`` files
stay standalone because the code below the marker is copied into each of them
verbatim, after :mod:`.runtime_common` (see
:func:`symbolic_sw.codegen.kernels.runtime_source`).
"""

import functools
import inspect

import mpmath

from .runtime_common import _explain

PARAMETERS: tuple = ()
MOMENTA: tuple = ()

# ---- inlined into every generated kernel module from here on (symbolic_sw.codegen.runtime_source) ----


def _kernel(f):
    """Bind and check the arguments, then convert them to ``mpmath.mpf``."""
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
        return f(*[values.pop(k) for k in MOMENTA], **values)

    return checked


def _pauli(c_0, c_x, c_y, c_z):
    j = mpmath.mpc(0, 1)
    return mpmath.matrix([[c_0 + c_z, c_x - j * c_y], [c_x + j * c_y, c_0 - c_z]])


def _entries(n, entries):
    out = mpmath.matrix(n, n)
    for (i, j), value in entries.items():
        out[i, j] = value
    return out
