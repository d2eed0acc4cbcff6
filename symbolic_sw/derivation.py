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
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import sympy

from . import models
from . import operators as ops
from .errors import ModelError
from .model import Model

__all__ = ["DERIVATIONS", "Derivation", "list_derivations", "load_derivation"]

ROOT = Path(__file__).resolve().parent.parent
#: folder of the shipped specs (override with $SYMBOLIC_SW_DERIVATIONS)
DERIVATIONS = Path(os.environ.get("SYMBOLIC_SW_DERIVATIONS", ROOT / "derivations"))
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
    #: ``HAMILTONIAN``, ``BLOCKS``, ``SYMBOLS``, ``BASIS`` of a string model
    string_model: dict | None = None
    #: source text of a user model file (part of the digest)
    model_source: str = ""

    def model(self):
        """Build the model (with the ``PERTURBATIVE`` symbols moved to the perturbation)."""
        if self.string_model is not None:
            sm = self.string_model
            model = Model.from_string(
                sm["HAMILTONIAN"],
                sm["BLOCKS"],
                symbols=sm["SYMBOLS"],
                basis=sm["BASIS"],
                name=self.name,
                **self.model_options,
            )
        else:
            model = _model_function(self.model_factory, self.path)[0](**self.model_options)
            if not isinstance(model, Model):
                raise ModelError(
                    f"derivation {self.name!r}: MODEL {self.model_factory!r} returned "
                    f"{type(model).__name__}, not a symbolic_sw Model."
                )
        if self.perturbative:
            names = [s for group in self.perturbative for s in group]
            model = model.with_perturbative([_symbol(model, s, self.name) for s in names])
        return model

    @property
    def digest(self) -> str:
        """SHA-256 of the spec file's bytes (and of the user model's file, if any)."""
        return hashlib.sha256((self.source + "\0" + self.model_source).encode()).hexdigest()


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
        spec = importlib.util.spec_from_file_location(f"_ssw_user_model_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise ModelError(f"MODEL {target!r}: {path} fails to load: {exc}") from exc
        source = path.read_text(encoding="utf-8")
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ModelError(
                f"MODEL {target!r}: cannot import {where!r} ({exc}). Fix: install "
                f"it, or give a file path 'my_models.py:{func}'."
            ) from exc
        file = getattr(module, "__file__", None)
        source = Path(file).read_text(encoding="utf-8") if file else ""
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
    source = path.read_text(encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"_ssw_derivation_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ModelError(f"derivation {path}: the spec fails to load: {exc}") from exc
    return _validate(path, source, module)


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
    string_model, model_source = None, ""
    string_fields = sorted({"HAMILTONIAN", "BLOCKS", "SYMBOLS", "BASIS"} & set(fields))
    if "HAMILTONIAN" in fields:
        if "MODEL" in fields:
            raise bad("give either MODEL or HAMILTONIAN, not both.")
        if not isinstance(fields["HAMILTONIAN"], str) or "BLOCKS" not in fields:
            raise bad("HAMILTONIAN must be a string, and BLOCKS (block sizes) must be given.")
        string_model = {k: fields.get(k) for k in ("HAMILTONIAN", "BLOCKS", "SYMBOLS", "BASIS")}
        factory = "Model.from_string"
    elif string_fields:
        raise bad(f"{', '.join(string_fields)} only go with HAMILTONIAN (a string model).")
    elif "MODEL" not in fields:
        raise bad("missing MODEL (a factory name or 'file.py:function') or HAMILTONIAN.")
    else:
        factory = fields["MODEL"]
        if not isinstance(factory, str):
            raise bad(f"MODEL must be a string, got {type(factory).__name__}.")
        try:
            _, model_source = _model_function(factory, path)
        except ModelError as exc:
            raise bad(str(exc)) from None
    order = fields["ORDER"]
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise bad(f"ORDER must be an integer ≥ 1, got {order!r}.")
    operators = tuple(fields.get("OPERATORS", ops.default_kinds()))
    kinds = tuple(ops.KINDS)
    wrong = [o for o in operators if o not in kinds]
    if wrong or "H" not in operators:
        raise bad(f"OPERATORS must contain 'H' and be among {kinds}, got {list(operators)}.")
    perturbative = {}
    for key, degree in dict(fields.get("PERTURBATIVE", {})).items():
        group = (key,) if isinstance(key, str) else tuple(key)
        if not isinstance(degree, int) or degree < 0:
            raise bad(f"PERTURBATIVE degree for {key!r} must be an integer ≥ 0.")
        perturbative[group] = degree
    lo = fields.get("LEADING_ORDER")
    if lo is not None:
        if not isinstance(lo, dict) or not isinstance(lo.get("small"), sympy.Symbol):
            raise bad("LEADING_ORDER must be a dict with a SymPy symbol under 'small'.")
        lo = {
            "small": lo["small"],
            "order": int(lo.get("order", 1)),
            "substitutions": dict(lo.get("substitutions", {})),
        }
    doc = (module.__doc__ or name).strip()
    title, _, rest = doc.partition("\n")
    return Derivation(
        name=name,
        path=path,
        source=source,
        title=title.strip(),
        description=rest.strip(),
        model_factory=factory,
        model_options=dict(fields.get("MODEL_OPTIONS", {})),
        order=order,
        operators=operators,
        equations=tuple(map(str, fields.get("EQUATIONS", ()))),
        perturbative=perturbative,
        leading_order=lo,
        values=dict(fields.get("VALUES", {})),
        scale=tuple(fields.get("SCALE", ())),
        observables=bool(fields.get("OBSERVABLES", False)),
        string_model=string_model,
        model_source=model_source,
    )
