"""Code generation: closed-form effective operators → numeric kernels (a backend registry) and LaTeX.

- :mod:`.kernels` — printers, the backends (:data:`~.kernels.BACKENDS`) and kernel bodies;
- :mod:`.runtime_common`, :mod:`.runtime_numpy`, :mod:`.runtime_mpmath` — the runtime every
  generated module carries (real modules, inlined verbatim);
- :mod:`.observables` — ``observables.py``: the equilibrium spin current in closed form;
- ``templates/`` — the jinja2 skeletons.
"""

from .kernels import BACKENDS, Backend, kernel_functions, polynomial_terms, runtime_source

__all__ = ["BACKENDS", "Backend", "kernel_functions", "polynomial_terms", "runtime_source"]
