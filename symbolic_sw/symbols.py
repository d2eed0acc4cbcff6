r"""The paper's symbols, with names chosen so that SymPy prints them as the paper does.

All are real; ``hbar`` and ``m`` are positive.  ``E_g`` is the crystal-field gap
:math:`\mathcal{E}_g = \epsilon_2 - \epsilon_1` used in the paper's closed forms.
"""

import sympy

__all__ = [
    "MOMENTA",
    "E_g",
    "a_tilde",
    "alpha_0",
    "b",
    "b_tilde",
    "epsilon_1",
    "epsilon_2",
    "gamma_1",
    "gamma_2",
    "gamma_tilde",
    "hbar",
    "k_x",
    "k_y",
    "k_z",
    "m",
]

k_x, k_y, k_z = sympy.symbols("k_x k_y k_z", real=True)
hbar, m = sympy.symbols("hbar m", positive=True)
epsilon_1, epsilon_2 = sympy.symbols("epsilon_1 epsilon_2", real=True)
a_tilde, b_tilde, b = sympy.symbols("a_tilde b_tilde b", real=True)
gamma_1, gamma_2, gamma_tilde = sympy.symbols("gamma_1 gamma_2 gamma_tilde", real=True)
alpha_0 = sympy.Symbol("alpha_0", real=True)
E_g = sympy.Symbol("E_g", positive=True)

MOMENTA = (k_x, k_y, k_z)
