"""Exact (all-orders) reference, re-exported from :mod:`symbolic_sw.certify`, plus test helpers."""

import numpy as np
import sympy

from symbolic_sw.certify import direct_rotation, exact_effective, fit_exponent  # noqa: F401


def numeric(M, values):
    """A SymPy matrix at numbers."""
    f = sympy.lambdify(list(values), sympy.Matrix(M), modules="numpy")
    return np.array(f(*values.values()), dtype=complex)
