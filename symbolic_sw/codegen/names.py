"""Names that become Python identifiers in generated code, checked before anything is rendered.

The parameters, momenta and operators of a derivation are written into the
generated modules as identifiers: function arguments (``def H(k_x, k_y, *, b)``),
local variables of the kernel bodies and module-level functions.  Every other
user text (spec name, title, model) enters only as a literal or inside a
docstring or comment (see :mod:`.environment`).  :func:`check_identifiers` (called
as :func:`symbolic_sw.codegen.kernels.check_names` with the registered backends) refuses a
name that is not a plain identifier, or that would clash with a name the
generated module uses itself (an import, a constant, the inlined runtime, a
local of the kernel bodies, a Python built-in the printers may emit such as
``abs``), with a :class:`~symbolic_sw.errors.ModelError` naming the clash and
the fix.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re
import unicodedata

from ..errors import ModelError

__all__ = ["check_identifiers", "reserved_identifiers"]

#: names of every generated kernel module besides the inlined runtime, and what they are
_MODULE = {
    "numpy": "the numpy module the kernels import",
    "mpmath": "the mpmath module the kernels import",
    "functools": "a module the kernels import",
    "inspect": "a module the kernels import",
    "difflib": "a module the kernels import",
    "MODEL": "a constant of the generated module",
    "DERIVATION": "a constant of the generated module",
    "ORDER": "a constant of the generated module",
    "PARAMETERS": "a constant of the generated module",
    "MOMENTA": "a constant of the generated module",
    "SHAPE": "a constant of the generated module",
    "OPERATORS": "a constant of the generated module",
    "evaluate": "the function evaluate() of the generated module",
    "operators": "a keyword argument of evaluate()",
    "out": "a keyword argument of evaluate()",
    "parameters": "the **parameters argument of evaluate()",
    "shape": "a local variable of every kernel (the broadcast shape)",
}

#: names of ``observables.py`` (only reserved for a spec with ``OBSERVABLES = True``)
_OBSERVABLES = {
    "mu": "the argument mu of J_s(mu, T) in observables.py",
    "T": "the temperature argument of J_s(mu, T) in observables.py",
    "k": "the radial momentum k of the quadratures in observables.py",
    "J_s": "the function J_s of observables.py",
    "J_s_standard": "the function J_s_standard of observables.py",
    "numbers": "a module observables.py imports",
    "zero_T": "a local variable of J_s in observables.py",
    "sectors": "a local variable of J_s in observables.py",
}

#: built-ins that ``site`` adds (absent under ``python -S``): reserved either way
_SITE = ("copyright", "credits", "exit", "help", "license", "quit")
_CSE = re.compile(r"cse[0-9]+")


@functools.lru_cache(maxsize=None)
def _runtime_names(sources: tuple) -> dict:
    """Top-level names of the inlined runtime sources (functions, constants, imports)."""
    names = {}
    for source in sources:
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found = [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found = [(a.asname or a.name).partition(".")[0] for a in node.names]
            else:
                found = []
            for name in found:
                names.setdefault(name, f"a name of the kernel runtime inlined into every generated module ({name})")
    return names


def reserved_identifiers(runtime=(), observables: bool = False) -> dict:
    """``{name: what it is}``: every identifier a parameter, momentum or operator may not take.

    Python keywords and built-ins, the generated module's imports, constants,
    ``evaluate`` and its keyword arguments, the runtime's top-level names and
    the kernels' locals (``shape``; ``cse0``, ``cse1`` … are refused by pattern,
    as is any name starting with ``_``).  ``runtime``: the source texts inlined
    into the generated modules.  ``observables``: also the names of
    ``observables.py`` (``mu``, ``T``, ``k``, ``J_s`` …).
    """
    names = {n: "a Python built-in (the generated code may call it)" for n in (*dir(builtins), *_SITE)}
    names.update({n: "a Python keyword" for n in keyword.kwlist})
    names.update(_runtime_names(tuple(runtime)))
    names.update(_MODULE)
    if observables:
        names.update(_OBSERVABLES)
    return names


def _suggestion(name: str) -> str:
    text = re.sub(r"\W", "_", unicodedata.normalize("NFKC", name)).strip("_") or "p"
    if text[0].isdigit():
        text = "p_" + text
    return text + "_1" if text == name or keyword.iskeyword(text) or text in dir(builtins) else text


def _problem(name, reserved):
    """Why ``name`` cannot be an identifier of the generated code, or None."""
    if not isinstance(name, str) or not name.isidentifier():
        return "is not a Python identifier (letters, digits and '_', not starting with a digit)"
    if unicodedata.normalize("NFKC", name) != name:
        return f"is read by Python as {unicodedata.normalize('NFKC', name)!r} (NFKC normalisation of identifiers)"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name.startswith("_"):
        return "starts with '_' (reserved for the generated module's own names)"
    if _CSE.fullmatch(name):
        return "clashes with the common-subexpression variables cse0, cse1, … of the kernel bodies"
    if name in reserved:
        return f"clashes with {reserved[name]}"
    return None


def check_identifiers(parameters, momenta, operators, *, backends=(), observables: bool = False) -> None:
    """Refuse names that cannot be written into the generated modules as they are; ModelError if any.

    Parameters
    ----------
    parameters, momenta : iterable of sympy.Symbol or str
        Keyword-only parameters and positional momenta of every kernel; SymPy
        symbols must also print as their name (a keyword such as ``lambda`` is
        printed ``lambda_``).
    operators : iterable of str
        Kernel names (module-level functions).
    backends : iterable of :class:`~symbolic_sw.codegen.kernels.Backend`
        Their printers must print each symbol as its name; their runtime's names are reserved.
    observables : bool
        The spec also generates ``observables.py``: its names are reserved too.
    """
    backends = tuple(backends)
    reserved = reserved_identifiers([b.source() for b in backends], observables)
    printers = [b.printer for b in backends]
    operators = [str(o) if not isinstance(o, str) else o for o in operators]
    problems, seen = [], {}
    taken = {**reserved, **{o: f"the kernel {o}() of the generated module" for o in operators}}
    entries = [("parameter", p) for p in parameters] + [("momentum", k) for k in momenta]
    for role, symbol in entries:
        name = str(symbol)
        problem = _problem(name, taken)
        if problem is None and not isinstance(symbol, str):
            printed = {p(symbol) for p in printers}
            if printed != {name}:
                problem = f"is printed as {sorted(printed)[0]!r} by the code printers"
        if problem is None and name in seen:
            problem = f"is also the name of a {seen[name]} (two SymPy symbols of that name, e.g. other assumptions)"
        seen.setdefault(name, role)
        if problem:
            problems.append(f"{role} {name!r} {problem}; fix: rename the symbol (e.g. to {_suggestion(name)!r})")
    kernels = set()
    for name in operators:
        problem = _problem(name, reserved)
        if problem is None and name in kernels:
            problem = "appears twice"
        kernels.add(name)
        if problem:
            problems.append(
                f"operator {name!r} {problem}; fix: rename the operator kind or the momentum its name is built from"
            )
    if problems:
        raise ModelError(
            "names that cannot be written into the generated kernels: "
            + "; ".join(problems)
            + ". Every parameter, momentum and operator becomes a Python identifier of the generated modules."
        )
