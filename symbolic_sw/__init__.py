"""symbolic-sw: effective Hamiltonians *and* effective observables of multi-orbital k·p models.

Implements Samokhin, Sigrist & Fischer (2025): the canonical transformation
``U = exp(iQ)`` that eliminates distant orbitals changes every operator, and the
effective spin current carries the extra terms δJ of Eqs. (26)-(27).

>>> import symbolic_sw as ssw
>>> eff = ssw.effective(ssw.models.samokhin_c4v(), order=2)
>>> eff.H, eff.J["x", "y"], eff.dJ["x", "y"]      # doctest: +SKIP
"""

from . import models, operators, symbols
from ._version import __version__
from .derivation import list_derivations, load_derivation
from .errors import ModelError
from .model import Model
from .notation import latex
from .pipeline import equilibrium_spin_current, generate, load_kernels
from .pipeline.sweep import sweep
from .transformation import Effective, effective, effective_numeric, leading_order

__all__ = [
    "Effective",
    "Model",
    "ModelError",
    "__version__",
    "effective",
    "effective_numeric",
    "equilibrium_spin_current",
    "generate",
    "latex",
    "leading_order",
    "list_derivations",
    "load_derivation",
    "load_kernels",
    "models",
    "operators",
    "sweep",
    "symbols",
]
