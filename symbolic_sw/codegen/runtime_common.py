"""Runtime shared by the generated kernel modules (numpy and mpmath): argument errors, poles.

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


def _pole(name, point, finite):
    """The message of a kernel whose closed form is not finite at ``point`` (``{argument: value}``).

    ``finite(point)`` re-evaluates it elsewhere: the arguments that, moved
    slightly on their own, make it finite are named as the pole's location.
    """
    where = [k for k, v in point.items() if finite({**point, k: v + 1e-6 * max(1, abs(v))})]
    if where:
        return (
            f"{name}(): the effective operator has a pole at "
            + ", ".join(f"{k}={point[k]}" for k in where)
            + ": a denominator of its closed form vanishes there (for an energy denominator: the gap "
            "between the blocks closes), so its value is infinite. Fix: move "
            + (", ".join(where[:-1]) + " or " if len(where) > 1 else "")
            + where[-1]
            + " away from the pole."
        )
    return (
        f"{name}(): the effective operator is not finite at "
        + ", ".join(f"{k}={v}" for k, v in point.items())
        + ": a denominator of its closed form vanishes there (for an energy denominator: the gap "
        "between the blocks closes) or a value overflows. Fix: choose other values."
    )
