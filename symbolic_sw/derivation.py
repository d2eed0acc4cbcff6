"""Derivation specs: small, data-like Python modules in ``derivations/``.

A spec names a model factory of :mod:`symbolic_sw.models`, the order, the
operators to reduce and optional post-processing; :func:`load_derivation`
validates it into a :class:`Derivation`.  Fields (upper case, module level):

``MODEL``          the model, one of (required unless ``HAMILTONIAN`` is given):
                   a factory name in :mod:`symbolic_sw.models` (``"samokhin_c4v"``);
                   ``"my_models.py:kane"`` — a function in a Python file next to
                   the spec (or an absolute path); ``"package.module:kane"`` — a
                   function in an importable module.  The function returns a
                   :class:`~symbolic_sw.Model`; its file is part of the cache key.
``HAMILTONIAN``    instead of ``MODEL``: the Hamiltonian as a string, parsed safely
                   by :meth:`Model.from_string <symbolic_sw.Model.from_string>`
``BLOCKS``         with ``HAMILTONIAN``: block sizes (required), e.g. ``[2, 4]``
``SYMBOLS``        with ``HAMILTONIAN``: names of the parameters beyond the package's
``BASIS``          with ``HAMILTONIAN``: labels of the basis states (optional)
``COMMUTATORS``    with ``HAMILTONIAN``: non-commuting symbols (issue 16), ``{"a, b": "c"}``
                   meaning ``[a, b] = c``, e.g. ``{"k_x, k_y": "-I*e*B_z/hbar"}``; names
                   and values in the Hamiltonian's syntax, parsed the same safe way
                   (:func:`symbolic_sw.parsing.parse_commutators`). A ``MODEL`` function's
                   Model declares its own. Such a model is derived, shown and written as
                   kernels of the Weyl symbol; ``symbolic-sw check`` and ``OBSERVABLES``
                   (closed forms for commuting momenta) refuse it
``MODEL_OPTIONS``  keyword arguments of the factory / of ``Model.from_string``
                   (``spin``, ``time_reversal``, ``momenta``, ``perturbation`` …)
``ORDER``          powers of the inter-block coupling kept (required, ≥ 1)
``OPERATORS``      kinds of :data:`symbolic_sw.operators.KINDS` (``"H", "S", "T", "J", "dJ"``
                   by default; also ``"v"`` and any registered kind)
``EQUATIONS``      equation numbers of the paper the result reproduces
``PERTURBATIVE``   ``{name or tuple of names: degree}``: symbols inside the blocks
                   also treated as small, kept to that total degree
``LEADING_ORDER``  ``{"small": symbol, "order": n, "substitutions": {...}}``:
                   expand the result to ``order`` in ``small`` (Sec. V)
``VALUES``         a representative parameter point (checks, examples)
``SCALE``          parameters that ``symbolic-sw check`` scales to zero
``OBSERVABLES``    ``True``: also generate ``observables.py`` (J_s(μ, T), 2×2 models)

The module docstring is the derivation's description (first line: title).

The spec's file name (without ``.py``) is the derivation's name; it names the
generated folder and appears in the generated code, so it must be an ASCII
Python identifier (``my_model.py``, not ``my-model.py``).  Every field is checked
for its type when the spec is loaded, and ``MODEL_OPTIONS`` against the
parameters of the factory, so a mistake is reported before any work, as one
:class:`~symbolic_sw.ModelError` naming the field and what it must be.  A spec
that raises, or calls ``sys.exit()``, is reported the same way (``Ctrl-C`` still
interrupts).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.abc
import importlib.util
import inspect
import keyword
import math
import numbers
import os
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import sympy

from . import models
from . import operators as ops
from .errors import ModelError
from .model import Model
from .parsing import parse_commutators

__all__ = [
    "CHECKOUT",
    "DERIVATIONS",
    "Derivation",
    "list_derivations",
    "load_derivation",
    "parameter_values",
    "shipped_folder",
]

ROOT = Path(__file__).resolve().parent.parent


def _checkout(root: Path):
    """``root`` if the package runs from its development checkout (editable install, ``make``), else ``None``.

    A checkout is recognised by its ``pyproject.toml`` naming this project next to the package and
    its ``derivations/``; an installed package (a wheel in site-packages) has neither.
    """
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if re.search(r'^name\s*=\s*"symbolic-sw"\s*$', text, re.MULTILINE) and (root / "derivations").is_dir():
        return root
    return None


#: the development checkout the package runs from, or ``None`` for an installed package
CHECKOUT = _checkout(ROOT)


def shipped_folder(kind: str) -> Path:
    """The folder of the shipped ``"derivations"`` (specs) or ``"generated"`` (committed kernels).

    In the development checkout these are the repository's top-level folders; in an installed
    package, the copies shipped as package data (``symbolic_sw/_data/``, mapped there by the
    ``[tool.setuptools]`` tables of ``pyproject.toml``), found through :mod:`importlib.resources`.
    The installed copies are only read: derived output goes elsewhere (:mod:`symbolic_sw.pipeline`).
    """
    if CHECKOUT is not None:
        return CHECKOUT / kind
    return Path(str(resources.files(__package__).joinpath("_data", kind)))


#: folder of the shipped specs (override with $SYMBOLIC_SW_DERIVATIONS)
DERIVATIONS = Path(os.environ.get("SYMBOLIC_SW_DERIVATIONS") or shipped_folder("derivations"))
_FIELDS = {
    "MODEL",
    "MODEL_OPTIONS",
    "ORDER",
    "OPERATORS",
    "EQUATIONS",
    "PERTURBATIVE",
    "LEADING_ORDER",
    "VALUES",
    "SCALE",
    "OBSERVABLES",
    "HAMILTONIAN",
    "BLOCKS",
    "SYMBOLS",
    "BASIS",
    "COMMUTATORS",
}


@dataclass
class Derivation:
    """A validated derivation spec."""

    name: str
    path: Path
    source: str
    title: str
    description: str
    model_factory: str
    model_options: dict
    order: int
    operators: tuple
    equations: tuple = ()
    perturbative: dict = field(default_factory=dict)
    leading_order: dict | None = None
    values: dict = field(default_factory=dict)
    scale: tuple = ()
    observables: bool = False
    #: ``HAMILTONIAN``, ``BLOCKS``, ``SYMBOLS``, ``BASIS``, ``COMMUTATORS`` of a string model
    string_model: dict | None = None
    #: source text of a user model file (part of the digest)
    model_source: str = ""

    @property
    def declares_commutators(self) -> bool:
        """Whether the spec itself declares non-commuting symbols (``COMMUTATORS`` or the option).

        Known without building the model; a ``MODEL`` function that returns a field
        model by itself is found only when the model is built.
        """
        if self.string_model is not None and self.string_model.get("COMMUTATORS"):
            return True
        return bool(self.model_options.get("commutators"))

    def model(self):
        """Build the model (with the ``PERTURBATIVE`` symbols moved to the perturbation)."""
        if self.string_model is not None:
            sm = self.string_model
            model = _call_factory(
                self.name,
                "Model.from_string",
                Model.from_string,
                sm["HAMILTONIAN"],
                sm["BLOCKS"],
                symbols=sm["SYMBOLS"],
                basis=sm["BASIS"],
                name=self.name,
                # COMMUTATORS, or (never both: checked on load) the older MODEL_OPTIONS["commutators"]
                **({"commutators": sm["COMMUTATORS"]} if sm.get("COMMUTATORS") is not None else {}),
                **self.model_options,
            )
        else:
            function = _model_function(self.model_factory, self.path)[0]
            model = _call_factory(self.name, self.model_factory, function, **self.model_options)
            if not isinstance(model, Model):
                raise ModelError(
                    f"derivation {self.name!r}: MODEL {self.model_factory!r} returned "
                    f"{type(model).__name__}, not a symbolic_sw Model."
                )
        if self.observables and model.commutators:
            raise ModelError(_observables_refusal(self.name, model))
        if self.perturbative:
            names = [s for group in self.perturbative for s in group]
            model = model.with_perturbative([_symbol(model, s, self.name) for s in names])
        return model

    @property
    def digest(self) -> str:
        """SHA-256 of the spec file's bytes (and of the user model's file, if any)."""
        return hashlib.sha256((self.source + "\0" + self.model_source).encode()).hexdigest()


def _observables_refusal(spec, model) -> str:
    """One line: why a spec with ``OBSERVABLES = True`` cannot have this field model."""
    pairs = ", ".join(f"[{a}, {b}]" for a, b in model.commutators)
    return (
        f"derivation {spec!r}: OBSERVABLES = True, but the model declares commutators ({pairs}); the closed-form "
        f"equilibrium current (Eqs. 49-52) assumes commuting momenta. Fix: remove OBSERVABLES from the spec."
    )


def _call_factory(spec, label, function, *args, **options):
    """``function(*args, **options)``; whatever goes wrong in it is a :class:`ModelError` naming the spec."""
    try:
        return function(*args, **options)
    except ModelError:
        raise
    except (Exception, SystemExit) as exc:
        raise ModelError(
            f"derivation {spec!r}: building the model with {label}(...) failed: {_exception(exc)}. "
            f"Fix: check MODEL_OPTIONS and the model function."
        ) from exc


def _exception(exc) -> str:
    """``Type: message`` of an exception, on one line and clipped."""
    try:
        if isinstance(exc, SystemExit):
            return f"it called sys.exit({_show(exc.code)}) (SystemExit)"
        text = " ".join(str(exc).split())
    except Exception:  # a message that cannot be printed (e.g. an integer beyond the str() limit)
        text = "(the message cannot be printed)"
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _TextLoader(importlib.abc.Loader):
    """Runs the text that was read (and hashed into the digest), not a re-read of the file.

    Unlike the default loader it writes no ``__pycache__`` next to the file: a shipped spec
    lives in the installed package, where nothing may be written.
    """

    def __init__(self, path, text):
        self.path, self.text = path, text

    def create_module(self, _spec):
        return None

    def exec_module(self, module):
        exec(compile(self.text, str(self.path), "exec", dont_inherit=True), module.__dict__)


def _module_from_text(name, path, text):
    """``(spec, module)`` for a spec or model file whose text has been read."""
    spec = importlib.util.spec_from_file_location(name, path, loader=_TextLoader(path, text))
    return spec, importlib.util.module_from_spec(spec)


def _run_module(spec, module, what):
    """Execute a spec or user model file: any exception, or ``SystemExit``, becomes a ModelError."""
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt passes: Ctrl-C still interrupts
        raise ModelError(f"{what} fails to load: {_exception(exc)}. Fix: correct the file.") from exc


def _read_text(path, what) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{what} {path} is not UTF-8 text ({exc.reason}). Fix: save it as UTF-8.") from None
    except OSError as exc:
        raise ModelError(f"{what} {path} cannot be read: {exc.strerror or exc}.") from None


def _model_function(target, spec_path):
    """``(function, source text)`` for a MODEL field: a factory name or ``where:function``."""
    if ":" not in target:
        if target not in models.FACTORIES:
            raise ModelError(
                f"MODEL {target!r} is not a factory in symbolic_sw.models "
                f"({', '.join(models.FACTORIES)}); for your own model use "
                f"'my_models.py:function' or 'package.module:function'."
            )
        return getattr(models, target), ""
    where, _, func = target.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        path = path if path.is_absolute() else Path(spec_path).parent / path
        if not path.is_file():
            raise ModelError(
                f"MODEL {target!r}: no file {path}. Fix: give a path relative to "
                f"the spec ({Path(spec_path).parent}) or an absolute one."
            )
        source = _read_text(path, f"MODEL {target!r}: the model file")
        spec, module = _module_from_text(f"_ssw_user_model_{path.stem}", path, source)
        _run_module(spec, module, f"MODEL {target!r}: {path}")
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ModelError(
                f"MODEL {target!r}: cannot import {where!r} ({exc}). Fix: install "
                f"it, or give a file path 'my_models.py:{func}'."
            ) from exc
        except (Exception, SystemExit) as exc:
            raise ModelError(f"MODEL {target!r}: importing {where!r} fails: {_exception(exc)}.") from exc
        file = getattr(module, "__file__", None)
        source = _read_text(file, f"MODEL {target!r}: the module") if file else ""
    function = getattr(module, func, None)
    if not callable(function):
        raise ModelError(f"MODEL {target!r}: {where} has no function {func!r}.")
    return function, source


def _symbol(model, name, spec):
    for s in model.H.free_symbols:
        if str(s) == name:
            return s
    raise ModelError(
        f"derivation {spec!r}: {name!r} is not a symbol of the model "
        f"(symbols: {', '.join(sorted(map(str, model.H.free_symbols)))})."
    )


def list_derivations(folder=None) -> list[str]:
    """Names of the specs in ``derivations/``."""
    folder = Path(folder or DERIVATIONS)
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def load_derivation(name, folder=None) -> Derivation:
    """Load and validate a spec by name (``derivations/NAME.py``) or by path."""
    folder = Path(folder or DERIVATIONS)
    name = str(name)
    path = Path(name) if name.endswith(".py") else folder / f"{name}.py"
    if not path.is_file():
        known = ", ".join(list_derivations(folder)) or "(none)"
        raise ModelError(
            f"no derivation {name!r}; known: {known}. Fix: run `symbolic-sw list`, or give a path to a spec file."
        )
    _check_name(path)
    source = _read_text(path, "the spec")
    spec, module = _module_from_text(f"_ssw_derivation_{path.stem}", path, source)
    _run_module(spec, module, f"derivation {path}: the spec")
    return _validate(path, source, module)


def _check_name(path):
    """The file stem names the derivation, its folder and its generated code: an ASCII identifier."""
    stem = path.stem
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stem) and not keyword.iskeyword(stem):
        return
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    better = re.sub(r"[^A-Za-z0-9]+", "_", ascii_stem).strip("_") or "my_model"
    better = f"spec_{better}" if better[0].isdigit() or keyword.iskeyword(better) else better
    raise ModelError(
        f"the spec file name {path.name!r} cannot name a derivation: the name ({stem!r}) becomes the "
        f"generated folder and appears in the generated code, so it must be a Python identifier of "
        f"ASCII letters, digits and _ (not a keyword). Fix: rename the file, e.g. to {better}.py."
    )


# -- validation of the fields ---------------------------------------------------------------


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x) -> bool:
    """A finite real number (not a bool, not a string, not complex)."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, sympy.Basic)):
        return False
    if isinstance(x, sympy.Basic) and not (x.is_number and x.is_extended_real):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError, OverflowError):
        return False


def _show(x) -> str:
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_sequence(x) -> bool:
    return isinstance(x, (list, tuple))


def _strings(bad, field_name, value, what="names", allow_symbols=False) -> tuple:
    """A list/tuple of strings (or SymPy symbols) as a tuple."""
    ok = (str, sympy.Symbol) if allow_symbols else (str,)
    if not _is_sequence(value) or not all(isinstance(v, ok) for v in value):
        kind = "strings or SymPy symbols" if allow_symbols else "strings"
        example = {"SCALE": '["a_tilde", "b_tilde"]', "EQUATIONS": '["33", "F6"]', "BASIS": '["s up", "s dn"]'}
        raise bad(
            f"{field_name} must be a list of {kind} ({what}), got {_show(value)}. "
            f"Fix: e.g. {field_name} = {example.get(field_name, '[...]')}."
        )
    return tuple(value)


def _check_blocks(bad, blocks):
    if not _is_sequence(blocks) or not blocks or not all(_is_int(n) and n >= 1 for n in blocks):
        raise bad(
            f"BLOCKS must be a non-empty list of block sizes (integers ≥ 1), got {_show(blocks)}. "
            f"Fix: e.g. BLOCKS = [2, 4]."
        )


def _check_symbols(bad, symbols):
    if symbols is None:
        return
    if isinstance(symbols, dict):
        if not all(isinstance(k, str) for k in symbols):
            raise bad(f"SYMBOLS as a dict must map names (strings) to SymPy objects, got {_show(symbols)}.")
        return
    _strings(bad, "SYMBOLS", symbols, "the parameters beyond the package's", allow_symbols=True)


def _check_commutators(bad, commutators, symbols, observables):
    """``COMMUTATORS``: parsed now (cheap, nothing evaluated), so a bad entry is reported before any work.

    Whether each value is central and imaginary is checked when the model is built.
    """
    if commutators is None:
        return
    if not isinstance(commutators, dict) or not commutators:
        raise bad(
            f'COMMUTATORS must be a non-empty dict {{"a, b": "c"}} meaning [a, b] = c, got '
            f'{_show(commutators)}. Fix: e.g. COMMUTATORS = {{"k_x, k_y": "-I*e*B_z/hbar"}}.'
        )
    try:
        parsed = parse_commutators(commutators, symbols=symbols)
    except ModelError as exc:
        raise bad(str(exc).replace("commutators", "COMMUTATORS", 1)) from None
    if observables is True and any(c != 0 for c in parsed.values()):
        raise bad(
            "OBSERVABLES = True, but COMMUTATORS declares non-commuting symbols; the closed-form equilibrium "
            "current (Eqs. 49-52) assumes commuting momenta. Fix: remove OBSERVABLES from the spec."
        )


def _check_values(bad, values) -> dict:
    if not isinstance(values, dict):
        raise bad(
            f"VALUES must be a dict of parameter name → real number, got {type(values).__name__}. "
            f'Fix: e.g. VALUES = {{"hbar": 1.0, "m": 1.0}}.'
        )
    for key, value in values.items():
        if not isinstance(key, str):
            raise bad(
                f"VALUES keys must be parameter names (strings), got {_show(key)}. Fix: write it as {str(key)!r}."
            )
        if not _is_real(value):
            raise bad(f"VALUES[{key!r}] must be a finite real number, got {_show(value)}. Fix: e.g. {key!r}: 1.0.")
    return dict(values)


def _check_perturbative(bad, value) -> dict:
    if not isinstance(value, dict):
        raise bad(
            f"PERTURBATIVE must be a dict {{name or tuple of names: degree}}, got {type(value).__name__}. "
            f'Fix: e.g. PERTURBATIVE = {{("gamma_1", "gamma_2"): 1}}.'
        )
    out = {}
    for key, degree in value.items():
        group = (key,) if isinstance(key, str) else key
        if not isinstance(group, tuple) or not group or not all(isinstance(n, str) for n in group):
            raise bad(f"PERTURBATIVE keys must be names or tuples of names (strings), got {_show(key)}.")
        if not _is_int(degree) or degree < 0:
            raise bad(f"PERTURBATIVE degree for {key!r} must be an integer ≥ 0, got {_show(degree)}.")
        out[group] = degree
    return out


def _check_leading_order(bad, lo):
    if lo is None:
        return None
    keys = {"small", "order", "substitutions"}
    if not isinstance(lo, dict) or not isinstance(lo.get("small"), sympy.Symbol) or set(lo) - keys:
        extra = sorted(map(str, set(lo) - keys)) if isinstance(lo, dict) else []
        more = f" (unknown key(s) {', '.join(extra)})" if extra else ""
        raise bad(
            f"LEADING_ORDER must be a dict with a SymPy symbol under 'small' and optionally 'order' "
            f"(an integer ≥ 1) and 'substitutions' (a dict symbol → expression){more}, got {_show(lo)}."
        )
    order = lo.get("order", 1)
    if not _is_int(order) or order < 1:
        raise bad(f"LEADING_ORDER['order'] must be an integer ≥ 1, got {_show(order)}.")
    subs = lo.get("substitutions", {})
    if not isinstance(subs, dict) or not all(
        isinstance(k, sympy.Symbol) and isinstance(v, (sympy.Basic, numbers.Number)) and not isinstance(v, bool)
        for k, v in subs.items()
    ):
        raise bad(
            f"LEADING_ORDER['substitutions'] must be a dict SymPy symbol → SymPy expression or number, "
            f"got {_show(subs)}."
        )
    return {"small": lo["small"], "order": order, "substitutions": dict(subs)}


def _keyword_parameters(function) -> set | None:
    """The names ``function`` accepts as keywords, or ``None`` if it takes ``**kwargs`` (or has no signature)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in parameters if p.kind in kinds}


def _string_model_options() -> set:
    """The MODEL_OPTIONS of a HAMILTONIAN spec: Model.from_string's keywords, and Model's it passes on."""
    given = {"text", "blocks", "symbols", "basis", "name", "source", "H"}  # the other fields supply these
    outer = {
        p.name
        for p in inspect.signature(Model.from_string).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    inner = _keyword_parameters(Model.__init__) or set()
    return (outer | inner) - given - {"self"}


def _check_options(bad, options, function, label) -> dict:
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise bad(
            f"MODEL_OPTIONS must be a dict of keyword arguments (name → value) of {label}, got {_show(options)}. "
            f'Fix: e.g. MODEL_OPTIONS = {{"spin": False}}.'
        )
    accepted = _string_model_options() if function is None else _keyword_parameters(function)
    if accepted is None:
        return dict(options)
    unknown = sorted(set(options) - accepted)
    if unknown:
        hints = [f"{c[0]} for {u}" for u in unknown if (c := difflib.get_close_matches(u, accepted, n=1))]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        extra = " (SYMBOLS and BASIS are fields of their own)" if {"symbols", "basis"} & set(unknown) else ""
        raise bad(
            f"MODEL_OPTIONS: unknown option(s) {', '.join(unknown)}{hint} for {label}; it accepts "
            f"{', '.join(sorted(accepted)) or 'no options'}{extra}. Fix: remove or correct them."
        )
    return dict(options)


def _validate(path, source, module) -> Derivation:
    name = path.stem

    def bad(msg):
        return ModelError(f"derivation {name!r} ({path}): {msg}")

    fields = {k: getattr(module, k) for k in dir(module) if k.isupper() and not k.startswith("_")}
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise bad(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}.")
    if "ORDER" not in fields:
        raise bad("missing ORDER.")
    string_model, model_source, function = None, "", None
    string_fields = sorted({"HAMILTONIAN", "BLOCKS", "SYMBOLS", "BASIS", "COMMUTATORS"} & set(fields))
    if "HAMILTONIAN" in fields:
        if "MODEL" in fields:
            raise bad("give either MODEL or HAMILTONIAN, not both.")
        if not isinstance(fields["HAMILTONIAN"], str) or "BLOCKS" not in fields:
            raise bad("HAMILTONIAN must be a string, and BLOCKS (block sizes) must be given.")
        _check_blocks(bad, fields["BLOCKS"])
        _check_symbols(bad, fields.get("SYMBOLS"))
        if fields.get("BASIS") is not None:
            _strings(bad, "BASIS", fields["BASIS"], "labels of the basis states")
        _check_commutators(bad, fields.get("COMMUTATORS"), fields.get("SYMBOLS"), fields.get("OBSERVABLES"))
        string_model = {k: fields.get(k) for k in ("HAMILTONIAN", "BLOCKS", "SYMBOLS", "BASIS", "COMMUTATORS")}
        factory = "Model.from_string"
    elif string_fields:
        own = " (a MODEL function's Model declares its own commutators)" if "COMMUTATORS" in string_fields else ""
        raise bad(f"{', '.join(string_fields)} only go with HAMILTONIAN (a string model){own}.")
    elif "MODEL" not in fields:
        raise bad("missing MODEL (a factory name or 'file.py:function') or HAMILTONIAN.")
    else:
        factory = fields["MODEL"]
        if not isinstance(factory, str):
            raise bad(f"MODEL must be a string, got {type(factory).__name__}.")
        try:
            function, model_source = _model_function(factory, path)
        except ModelError as exc:
            raise bad(str(exc)) from None
    order = fields["ORDER"]
    if not _is_int(order) or order < 1:
        raise bad(f"ORDER must be an integer ≥ 1, got {order!r}.")
    options = _check_options(bad, fields.get("MODEL_OPTIONS", {}), function, factory)
    if string_model is not None and string_model["COMMUTATORS"] is not None and "commutators" in options:
        raise bad("give the commutators once: as COMMUTATORS or in MODEL_OPTIONS, not both.")
    kinds = tuple(ops.KINDS)
    operators = fields.get("OPERATORS", ops.default_kinds())
    if not _is_sequence(operators) or not all(isinstance(o, str) for o in operators):
        raise bad(f"OPERATORS must be a list of kinds among {kinds}, got {_show(operators)}.")
    operators = tuple(operators)
    wrong = [o for o in operators if o not in kinds]
    if wrong or "H" not in operators:
        raise bad(f"OPERATORS must contain 'H' and be among {kinds}, got {list(operators)}.")
    equations = fields.get("EQUATIONS", ())
    if not _is_sequence(equations) or not all(isinstance(e, str) or _is_int(e) for e in equations):
        raise bad(f"EQUATIONS must be a list of equation numbers (strings), got {_show(equations)}.")
    observables = fields.get("OBSERVABLES", False)
    if not isinstance(observables, bool):
        raise bad(f"OBSERVABLES must be True or False, got {_show(observables)}.")
    doc = (module.__doc__ or name).strip()
    title, _, rest = doc.partition("\n")
    return Derivation(
        name=name,
        path=path,
        source=source,
        title=title.strip(),
        description=rest.strip(),
        model_factory=factory,
        model_options=options,
        order=order,
        operators=operators,
        equations=tuple(map(str, equations)),
        perturbative=_check_perturbative(bad, fields.get("PERTURBATIVE", {})),
        leading_order=_check_leading_order(bad, fields.get("LEADING_ORDER")),
        values=_check_values(bad, fields.get("VALUES", {})),
        scale=_strings(bad, "SCALE", fields.get("SCALE", ()), "parameters sent to zero by `symbolic-sw check`"),
        observables=observables,
        string_model=string_model,
        model_source=model_source,
    )


def parameter_values(derivation, parameters, given=None, where="--param") -> dict:
    """The values of ``parameters`` (SymPy symbols): the spec's ``VALUES``, overridden by ``given``.

    Refuses, as one :class:`ModelError`, names that are not parameters, missing ones, values
    that are not finite real numbers, and values against a symbol's assumptions (``hbar``
    and ``m`` are positive: ``hbar = 0`` would divide by zero in the kernels).
    """
    names = {str(p): p for p in parameters}
    given = dict(given or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        hints = [f"{c[0]} for {u}" for u in unknown if (c := difflib.get_close_matches(u, names, n=1))]
        hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
        raise ModelError(
            f"unknown parameter(s) {', '.join(unknown)}{hint}; {derivation.name} has "
            f"{', '.join(names) or 'no parameters'}. Fix: use {where} with one of these names."
        )
    values = {**{k: v for k, v in derivation.values.items() if k in names}, **given}
    missing = [n for n in names if n not in values]
    if missing:
        raise ModelError(
            f"missing value(s) for {', '.join(missing)}: the spec's VALUES do not give them. "
            f"Fix: pass {where} {missing[0]}=NUMBER."
        )
    out = {}
    for key in names:
        value = values[key]
        if not _is_real(value):
            raise ModelError(f"{key} = {_show(value)} is not a finite real number. Fix: pass {where} {key}=NUMBER.")
        value = float(value)
        symbol = names[key]
        if symbol.is_positive and not value > 0:
            raise ModelError(
                f"{key} = {value:g}, but {key} is positive. Fix: pass {where} {key}=NUMBER with NUMBER > 0."
            )
        if symbol.is_nonnegative and not value >= 0:
            raise ModelError(f"{key} = {value:g}, but {key} is ≥ 0. Fix: pass {where} {key}=NUMBER with NUMBER ≥ 0.")
        out[key] = value
    return out
