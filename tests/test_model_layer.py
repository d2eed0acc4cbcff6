"""The model layer: declared Model fields, their passing to derived models, and the module layering.

``Model`` declares every attribute the constructors set (``basis``, ``source``,
``family``, ``equation``, ...), so no module sets attributes on a model from
outside and ``with_perturbative``/``grouped`` pass them on explicitly. The
paper-specific ``paper_mapping`` lives in :mod:`symbolic_sw.models`, so that the
generic :mod:`symbolic_sw.symmetry` never imports the paper's models.
"""

import ast
import inspect
import pathlib

import pytest
import sympy

import symbolic_sw as ssw
import symbolic_sw.symmetry
from symbolic_sw.errors import ModelError
from symbolic_sw.symbols import b, epsilon_2

PACKAGE = pathlib.Path(ssw.__file__).parent
BASIS = ("Γ1↑", "Γ1↓", "Γ5x↑", "Γ5x↓", "Γ5y↑", "Γ5y↓")
RASHBA = "hbar**2*(k_x**2 + k_y**2)/(2*m)*sigma_0 + alpha_0*(k_y*sigma_x - k_x*sigma_y)"


def _plain():
    return ssw.Model(ssw.models.samokhin_c4v().H, [2, 4])


# -- declared fields ------------------------------------------------------------------------------

# field → its value on a model built without it
DEFAULTS = [
    ("basis", None),
    ("source", None),
    ("family", None),
    ("equation", ""),
    ("name", "model"),
    ("basis_order", None),
    ("perturbative", ()),
    ("fine_blocks", (((0, slice(0, 2)),), ((1, slice(0, 4)),))),
]


@pytest.mark.parametrize("field, default", DEFAULTS, ids=[f for f, _ in DEFAULTS])
def test_a_plain_model_has_every_declared_field_with_its_default(field, default):
    model = _plain()
    assert field in vars(model), f"{field} is not set by Model.__init__"
    assert getattr(model, field) == default
    assert field in ssw.Model.__annotations__


@pytest.mark.parametrize(
    "field, default",
    [d for d in DEFAULTS if d[0] in ("basis", "source", "family", "equation")],
    ids=["basis", "source", "family", "equation"],
)
def test_descriptive_fields_are_keyword_only_constructor_arguments(field, default):
    parameter = inspect.signature(ssw.Model).parameters[field]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default == default


def test_basis_must_label_every_state():
    with pytest.raises(ModelError, match="basis has 2 labels but H is 6x6"):
        ssw.Model(ssw.models.samokhin_c4v().H, [2, 4], basis=["a", "b"])


# -- derived models keep the descriptive fields ---------------------------------------------------

FAMILY = object()  # any object: the model only carries it
DESCRIBED = dict(basis=BASIS, source="the source text", family=FAMILY, equation="33", name="described")

DERIVED = [
    ("with_perturbative", lambda m: m.with_perturbative([epsilon_2])),
    ("grouped", lambda m: m.grouped([[0, 1], [2]])),
    ("grouped_permuted", lambda m: m.grouped([[0, 2], [1]])),
    ("grouped_then_perturbative", lambda m: m.grouped([[0, 2], [1]]).with_perturbative([b])),
]


@pytest.mark.parametrize("field", sorted(DESCRIBED))
@pytest.mark.parametrize("derive", [d for _, d in DERIVED], ids=[n for n, _ in DERIVED])
def test_derived_models_keep_the_descriptive_fields(derive, field):
    model = ssw.Model(ssw.models.samokhin_c4v().H, [2, 2, 2], **DESCRIBED)
    new = derive(model)
    assert new is not model
    assert getattr(new, field) == DESCRIBED[field]


@pytest.mark.parametrize(
    "derive, perturbative",
    [(DERIVED[0][1], (epsilon_2,)), (DERIVED[3][1], (b,))],
    ids=["with_perturbative", "grouped_then_perturbative"],
)
def test_derived_models_still_derive(derive, perturbative):
    model = ssw.Model(ssw.models.samokhin_c4v().H, [2, 2, 2], **DESCRIBED)
    new = derive(model)
    assert new.perturbative == perturbative
    assert (new.H0 + new.H1 - new.H).applyfunc(sympy.expand).is_zero_matrix


def test_grouped_records_the_permutation():
    new = ssw.Model(ssw.models.samokhin_c4v().H, [2, 2, 2], **DESCRIBED).grouped([[0, 2], [1]])
    assert new.blocks == (4, 2)
    assert new.basis_order == (0, 1, 4, 5, 2, 3)
    assert new.fine_blocks == (((0, slice(0, 2)), (2, slice(2, 4))), ((1, slice(0, 2)),))


# -- from_string, the paper's models, from_symmetry -----------------------------------------------


@pytest.mark.parametrize("basis", [None, ["up", "down"]], ids=["no_basis", "basis"])
def test_from_string_sets_basis_and_source(basis):
    model = ssw.Model.from_string(RASHBA, [2], basis=basis)
    assert model.source == RASHBA
    assert model.basis == (None if basis is None else tuple(basis))
    assert model.family is None and model.equation == ""


EQUATIONS = [
    ("samokhin_c4v", {}, "33"),
    ("samokhin_c4v", {"intrinsic_soc": True}, "A19"),
    ("samokhin_c4v", {"variant": "g4g5", "intrinsic_soc": True}, "A20"),
    ("samokhin_c4v", {"variant": "g4g5"}, "A20 (γ = 0)"),
    ("rashba_toy", {}, "C1"),
    ("isolated_gamma5", {}, "G2"),
]


@pytest.mark.parametrize("factory, options, equation", EQUATIONS, ids=[f"{f}-{e}" for f, _, e in EQUATIONS])
def test_paper_models_carry_their_equation(factory, options, equation):
    model = getattr(ssw.models, factory)(**options)
    assert model.equation == equation
    assert model.basis is None and model.source is None and model.family is None


def test_from_symmetry_sets_the_family():
    pytest.importorskip("qsymm")
    model = ssw.models.from_symmetry("C4v", ["Γ1", "Γ5"], k_order=0)
    assert isinstance(model.family, symbolic_sw.symmetry.SymmetryFamily)
    assert model.equation is None
    assert model.with_perturbative([]).family is model.family


# -- layering -------------------------------------------------------------------------------------


def _imports(path, module_level_only):
    """``(module, names)`` of the imports in a file (relative ones as ``.name``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), tuple(a.name for a in node.names)))
    return found


def _imports_module(imports, target):
    for module, names in imports:
        if module in (f".{target}", f"symbolic_sw.{target}"):
            return True
        if module in (".", "symbolic_sw") and target in names:
            return True
    return False


# (file, module it must not import, only checked at module level?)
LAYERING = [
    ("symmetry.py", "models", False),
    ("model.py", "models", False),
    ("model.py", "symmetry", False),
    ("model.py", "parsing", True),
    ("parsing.py", "model", True),
    ("parsing.py", "models", False),
]


@pytest.mark.parametrize("file, target, module_level_only", LAYERING, ids=[f"{f}-not-{t}" for f, t, _ in LAYERING])
def test_layering(file, target, module_level_only):
    imports = _imports(PACKAGE / file, module_level_only)
    assert imports, f"no imports found in {file}"
    assert not _imports_module(imports, target), f"{file} imports {target}"


def test_the_import_walker_sees_function_level_imports():
    # the layering test would pass vacuously if function-level imports were missed
    assert _imports_module(_imports(PACKAGE / "model.py", False), "parsing")


@pytest.mark.parametrize("name", ["paper_mapping", "PaperMapping"])
def test_paper_mapping_lives_in_models(name):
    assert name in ssw.models.__all__
    assert callable(getattr(ssw.models, name))
    assert not hasattr(symbolic_sw.symmetry, name)
    assert name not in symbolic_sw.symmetry.__all__


def test_paper_mapping_from_models():
    pytest.importorskip("qsymm")
    mapping = ssw.models.paper_mapping("g1g5")
    assert isinstance(mapping, ssw.models.PaperMapping)
    assert mapping.paper.equation == "A19"
    assert len(mapping.omitted) == 2
    assert (mapping.restrict() - mapping.paper.H).applyfunc(sympy.expand).is_zero_matrix
    with pytest.raises(ModelError, match="unknown variant 'g2g5'"):
        ssw.models.paper_mapping("g2g5")
