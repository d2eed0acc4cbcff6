"""The application pipeline: derivation spec → closed forms → ``generated/<name>/``.

- :mod:`.derive` — run a spec: the closed-form effective operators it asks for;
- :mod:`.files` — render the files (kernels of every backend, LaTeX, README), the cache,
  writing, and loading generated modules;
- :mod:`.observables` — observables of a spec by name.
"""

from .files import FILES, GENERATED, build, generate, generate_all, load_kernels, render
from .derive import Derived, derive, parameter_order
from .observables import equilibrium_spin_current

__all__ = ["FILES", "GENERATED", "build", "generate", "generate_all", "load_kernels", "render", "Derived",
           "derive", "parameter_order", "equilibrium_spin_current"]
