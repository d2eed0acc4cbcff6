"""Runtime shared by the generated kernel modules (numpy and mpmath): argument errors.

A real module, linted and unit-tested; the generated files stay standalone
because the code below the marker is copied into each of them verbatim (see
:func:`symbolic_sw.codegen.kernels.runtime_source`).  The names above the
marker are stand-ins for the constants every generated module defines.
"""

import difflib

PARAMETERS: tuple = ()
MOMENTA: tuple = ()

# ---- inlined into every generated kernel module from here on (symbolic_sw.codegen.runtime_source) ----


def _explain(name, kwargs, error):
    missing = [p for p in PARAMETERS if p not in kwargs]
    unknown = [k for k in kwargs if k not in PARAMETERS + MOMENTA]
    parts = []
    for k in unknown:
        close = difflib.get_close_matches(k, PARAMETERS, n=1)
        parts.append(f"unknown parameter {k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if missing:
        parts.append("missing parameter(s) " + ", ".join(missing))
    if not parts:
        parts.append(str(error))
    return (
        f"{name}(): " + "; ".join(parts) + ". Call as "
        f"{name}(" + ", ".join([*MOMENTA, *(f"{p}=..." for p in PARAMETERS)]) + ")."
    )
