"""Code generation: closed-form effective operators → numeric kernels (a backend registry) and LaTeX.

- :mod:`.kernels` — printers, the backends (:data:`~.kernels.BACKENDS`) and kernel bodies;
- :mod:`.names` — the names that become identifiers of the generated code, checked
  (:func:`~.kernels.check_names`);
- :mod:`.environment` — the jinja2 environment and the filters that put user text into
  generated files only as literals, docstrings or comments;
- :mod:`.runtime_common`, :mod:`.runtime_numpy`, :mod:`.runtime_mpmath` — the runtime every
  generated module carries (real modules, inlined verbatim);
- :mod:`.observables` — ``observables.py``: the equilibrium spin current in closed form;
- ``templates/`` — the jinja2 skeletons.
"""

from .environment import environment
from .kernels import BACKENDS, Backend, check_names, kernel_functions, polynomial_terms, runtime_source

__all__ = [
    "BACKENDS",
    "Backend",
    "check_names",
    "environment",
    "kernel_functions",
    "polynomial_terms",
    "runtime_source",
]
