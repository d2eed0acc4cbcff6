"""The application pipeline: derivation spec → closed forms → ``generated/<name>/``.

- :mod:`.derive` — run a spec: the closed-form effective operators it asks for;
- :mod:`.files` — render the files (kernels of every backend, LaTeX, README), the cache,
  writing, and loading generated modules;
- :mod:`.observables` — observables of a spec by name.
"""

from .derive import Derived, derive, parameter_order
from .files import FILES, GENERATED, build, generate, generate_all, load_kernels, render
from .observables import equilibrium_spin_current

__all__ = [
    "FILES",
    "GENERATED",
    "Derived",
    "build",
    "derive",
    "equilibrium_spin_current",
    "generate",
    "generate_all",
    "load_kernels",
    "parameter_order",
    "render",
]
