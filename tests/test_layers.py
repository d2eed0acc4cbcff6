"""The package's import structure: layers that import one way, and no import cycle.

Every ``import`` of a ``symbolic_sw`` module, at module level or inside a
function, is an edge; a module may import only from its own layer or the ones
below it, and the whole graph is acyclic.  A new module must be given a layer
here (the test names it otherwise).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symbolic_sw"

#: lowest first; a module belongs to the first layer whose prefix matches its name
LAYERS = (
    ("base", ("symbolic_sw._version", "symbolic_sw.errors", "symbolic_sw.pauli", "symbolic_sw.symbols")),
    ("model", ("symbolic_sw.model", "symbolic_sw.parsing", "symbolic_sw.symmetry", "symbolic_sw.models")),
    ("operators", ("symbolic_sw.operators", "symbolic_sw.notation")),
    ("transformation", ("symbolic_sw.transformation",)),
    ("observables", ("symbolic_sw.observables",)),
    ("codegen", ("symbolic_sw.codegen",)),
    ("pipeline", ("symbolic_sw.derivation", "symbolic_sw.pipeline", "symbolic_sw.certify", "symbolic_sw.plot")),
    ("application", ("symbolic_sw.cli", "symbolic_sw.__main__", "symbolic_sw")),
)


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module):
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"module {module} has no layer: add it to LAYERS in {__file__}")


def _imports(module):
    """The symbolic_sw modules ``module`` imports (submodules resolved, packages as themselves)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "symbolic_sw"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "symbolic_sw":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    out.discard(module)
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    upward = sorted(t for t in GRAPH[module] if _layer(t) > _layer(module))
    assert not upward, f"{module} (layer {LAYERS[_layer(module)][0]}) imports " + ", ".join(
        f"{t} (layer {LAYERS[_layer(t)][0]})" for t in upward
    )


def test_no_import_cycle():
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "active"
        for target in sorted(GRAPH[node]):
            if state.get(target) == "active":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_upward_and_cyclic_imports():
    """The walk resolves relative imports and function-level ones (it would miss nothing silently)."""
    assert "symbolic_sw.errors" in GRAPH["symbolic_sw.model"]
    assert "symbolic_sw.parsing" in GRAPH["symbolic_sw.model"]  # inside Model.from_string
    assert "symbolic_sw.pipeline.files" in GRAPH["symbolic_sw.pipeline.observables"]
    assert "symbolic_sw.operators" in GRAPH["symbolic_sw.derivation"]  # from . import operators as ops
    assert _layer("symbolic_sw.codegen.kernels") > _layer("symbolic_sw.observables.closed_form")


def test_both_algebras_implement_the_series_interface():
    """The recursion (series.py) is written against MatrixAlgebra; both backends provide all of it."""
    from symbolic_sw.transformation.algebra import RationalAlgebra
    from symbolic_sw.transformation.numeric import NumericAlgebra
    from symbolic_sw.transformation.series import MatrixAlgebra

    wanted = {n for n in vars(MatrixAlgebra) if not n.startswith("_")} - {"block_of"}
    assert wanted >= {"mul", "add", "scale", "dagger", "diag", "offdiag", "identity"}
    for cls in (RationalAlgebra, NumericAlgebra):
        missing = sorted(n for n in wanted if not callable(getattr(cls, n, None)))
        assert not missing, f"{cls.__name__} lacks {missing}"
    assert isinstance(NumericAlgebra((0, 0, 1, 1)), MatrixAlgebra)
