"""Run a derivation spec: the closed-form effective operators it asks for."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy

from ..derivation import Derivation, load_derivation
from ..errors import ModelError
from ..operators import operator_names
from ..transformation import effective, leading_order
from ..transformation.expansion import coupling_symbols

__all__ = ["Derived", "derive", "parameter_order"]

#: the order parameters are listed in (keyword-only, so this is only for reading)
_CANONICAL = (
    "hbar",
    "m",
    "epsilon_1",
    "epsilon_2",
    "E_g",
    "a_tilde",
    "b_tilde",
    "b",
    "gamma_1",
    "gamma_2",
    "gamma_tilde",
    "alpha_0",
)


def parameter_order(symbols):
    """Sort parameters: the paper's usual order first, then others by name."""
    rank = {n: i for i, n in enumerate(_CANONICAL)}
    return tuple(sorted(symbols, key=lambda s: (rank.get(str(s), len(rank)), str(s))))


@dataclass
class Derived:
    """The closed-form result of a derivation.

    Attributes
    ----------
    operators : dict name → sympy.Matrix
        In contract order (``H``, ``S_x`` …, ``J_x_x`` …, ``dJ_x_x`` …).
    parameters : tuple of sympy.Symbol
        Every parameter the operators depend on, momenta excluded.
    """

    derivation: Derivation
    order: int
    momenta: tuple
    operators: dict
    parameters: tuple
    equation: str = ""
    timings: dict = field(default_factory=dict)
    #: what the model is, so that nothing downstream rebuilds it: ħ's symbol, the number
    #: of blocks, whether nothing is eliminated, and the inter-block couplings (empty for
    #: one block; None when not needed by the spec: not every model's couplings are linear)
    hbar: sympy.Symbol = None
    n_blocks: int = 1
    exact: bool = False
    couplings: tuple | None = None

    @property
    def name(self):
        """The derivation's name (its spec's, and the folder ``generated/<name>``)."""
        return self.derivation.name

    @property
    def shape(self):
        """The matrix shape shared by every effective operator (that of the retained block)."""
        return next(iter(self.operators.values())).shape


def derive(spec, order=None, log=None, names=None, progress=None) -> Derived:
    """Closed-form effective operators of a derivation spec (name, path or :class:`Derivation`).

    Parameters
    ----------
    order : int, optional
        Override the spec's ``ORDER``.
    log : callable, optional
        Receives one line per step, with its timing.
    names : sequence of str, optional
        Only these operators (kernel names, e.g. ``["H"]`` for ``symbolic-sw show NAME H``);
        default: every operator the spec asks for. An unknown name is a ModelError
        listing the available ones, raised before any work.
    progress : callable, optional
        Receives a line per order of the series (Appendix D) and per operator, before it
        is computed (:mod:`symbolic_sw.transformation.progress`).
    """
    derivation = spec if isinstance(spec, Derivation) else load_derivation(spec)
    order = derivation.order if order is None else order
    log = log or (lambda _line: None)
    t_start = time.perf_counter()
    model = derivation.model()
    truncate, engine_order = None, order
    if derivation.perturbative:
        # a PERTURBATIVE symbol inside a diagonal block (η in the Γ5 block) is moved to the
        # perturbation, as with Model.with_perturbative; inter-block ones already are there
        small = {str(s) for group in derivation.perturbative for s in group}
        inside = [
            s
            for s in model.parameters
            if str(s) in small and s not in model.perturbative and s in model.H0.free_symbols
        ]
        if inside:
            model = model.with_perturbative(inside)
        truncate = {coupling_symbols(model): order}
        for group, degree in derivation.perturbative.items():
            truncate[tuple(s for s in model.parameters if str(s) in group)] = degree
            engine_order += degree
    available = operator_names(derivation.operators, model)
    wanted = available if names is None else list(names)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise ModelError(
            f"no operator {unknown[0]!r} in {derivation.name!r}; available: {', '.join(available)}. "
            f"Fix: use one of these names."
        )
    eff = effective(model, order=engine_order, truncate=truncate, progress=progress)

    raw = {}
    timings = {}
    for name in wanted:  # eff.operator reports each one to progress
        t0 = time.perf_counter()
        M = eff.operator(name)
        if derivation.leading_order:
            lo = derivation.leading_order
            M = leading_order(
                M, small=lo["small"], substitutions=lo["substitutions"], order=lo["order"], momenta=model.momenta
            )
        raw[name] = sympy.ImmutableMatrix(M)
        timings[name] = time.perf_counter() - t0
        if timings[name] > 0.5:
            log(f"{derivation.name}: {name} ({timings[name]:.1f} s)")
    timings["total"] = time.perf_counter() - t_start
    log(f"{derivation.name}: {len(raw)} operators at order {order} in {timings['total']:.1f} s")
    params = set().union(*(M.free_symbols for M in raw.values())) - set(model.momenta)
    # keep every model parameter that survives the post-processing, even if unused
    substituted = set(derivation.leading_order["substitutions"]) if derivation.leading_order else set()
    params |= {s for s in model.parameters if s not in substituted}
    if derivation.leading_order:
        params |= set().union(
            *(sympy.sympify(v).free_symbols for v in derivation.leading_order["substitutions"].values())
        )
    return Derived(
        derivation=derivation,
        order=order,
        momenta=model.momenta,
        operators=raw,
        parameters=parameter_order(params),
        equation=getattr(model, "equation", ""),
        timings=timings,
        hbar=model.hbar,
        n_blocks=len(model.blocks),
        exact=model.H1.is_zero_matrix,
        couplings=_couplings(derivation, model),
    )


def _couplings(derivation, model):
    if len(model.blocks) == 1:
        return ()
    return coupling_symbols(model) if derivation.observables or derivation.perturbative else None
