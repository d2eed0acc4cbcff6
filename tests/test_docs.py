r"""Every code block of README.md and docs/tutorials/*.md runs, and every value it shows is checked (issue 15).

How the documents are run:

- **Units.** A README ``## `` section (the text before the first heading is a section too) or a
  whole tutorial is one unit: its blocks run in order in one namespace, like a notebook, in a
  fresh temporary working folder with a fresh cache (``$SYMBOLIC_SW_CACHE``). README sections
  are independent examples; a tutorial is one story.
- **```python** blocks are executed statement by statement. A block whose first line is
  ``# file: NAME`` is written to ``NAME`` in the working folder instead (a model module, a spec).
- **```sh** blocks: every command line (``\`` continues a line, ``#`` starts a comment) that
  starts with ``symbolic-sw`` runs through :func:`symbolic_sw.cli.main` and must exit 0; other
  commands (``make``, ``pip install``) are in :data:`NOT_RUN`, each with the reason.
- **```console** blocks: ``$ symbolic-sw ...`` lines run the same way, and the lines after each
  command are its shown standard output, compared as text (see below).
- **Shown values.** A python line ending in ``# -> SHOWN`` closes an expression statement whose
  value the document shows. ``SHOWN`` made only of numbers (``0.0123``, ``1.4e-06``,
  ``(2, 4)``, ``[0.1, 0.2]``; a numpy array is shown as a list) or ``True``/``False`` is compared
  as numbers: each value must round to the number shown, i.e. lie within half a unit of its last
  shown digit (``0.0123`` means 0.01225 … 0.01235; an integer means exactly that integer).
  Any other ``SHOWN`` is text and equals ``str(value)`` exactly, where
  ``...`` stands for any text (doctest's ELLIPSIS); when the value is ``None`` (``print``), the
  printed text is compared instead.
- A block that is neither run nor listed in :data:`NOT_RUN`/:data:`UNCHECKED` fails, with its
  document and line, and so does a run python block that shows no checked value and is not in
  :data:`UNCHECKED` (a new block without a check cannot be added silently).
- **Slow blocks** (first line ``# slow``, or listed in :data:`SLOW` with the reason) run only under
  ``-m slow``, where the whole unit runs again; only ```sh/```console blocks can be left out of
  the fast run (they do not feed the namespace), a slow python block makes its whole unit slow.
- Three README sections are run, each once, by their own tests, which check their claims in
  detail (:data:`RUN_ELSEWHERE`); here it is asserted that those tests exist, read that section
  and run every kind of block in it, and that the section has no ``# ->`` marker they would miss.
"""

import ast
import contextlib
import decimal
import io
import re
import shlex
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from symbolic_sw.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TUTORIALS = ROOT / "docs" / "tutorials"
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
SHOWN = re.compile(r"#\s*->\s*(.*?)\s*$")
FILE = re.compile(r"#\s*file:\s*(\S+)\s*$")

#: ``(document, section heading) -> (the test file that runs it, the kinds of block it runs)``
RUN_ELSEWHERE = {
    ("README.md", "Your own model"): ("tests/test_readme.py", {"python", "sh"}),
    ("README.md", "What a model may contain"): ("tests/test_any_model.py", {"python"}),
    ("README.md", "Fields: non-commuting momenta (g-factors, Rashba)"): ("tests/test_fields.py", {"python"}),
}

#: blocks or command lines that are not run: ``(document, first line or command prefix) -> why``
NOT_RUN = {
    ("README.md", "make"): "builds the venv and regenerates generated/, which is what this test suite runs in",
    ("README.md", "make test"): "runs this test suite",
    ("README.md", "pip install ."): "installs the package; tests/test_packaging.py installs a wheel into a fresh venv",
    ("README.md", "symbolic-sw list                          # the specs"): (
        "a synopsis of every command with placeholders (NAME, N, DIR); each command runs in tests/test_cli*.py"
    ),
    ("README.md", "pauli, symbols, errors            base: Pauli matrices, the paper's symbols, ModelError"): (
        "a diagram of the layers, not code; tests/test_layers.py checks the layers themselves"
    ),
}

#: blocks that run only under ``-m slow``: ``(document, section, first line) -> why``
SLOW = {
    ("README.md", "Sweeps", "symbolic-sw sweep samokhin_c4v J_s --grid mu=0.05:0.3:26 --grid b_tilde=0.01:0.1:10 \\"): (
        "starts a local Dask cluster, one worker process per core (15 s); the python block above runs the same sweep"
    ),
}

#: run python blocks that show no checked value: ``(document, section, first line) -> why``
UNCHECKED = {
    ("README.md", "", "import symbolic_sw as ssw"): (
        "the API at a glance (O is a placeholder, given in GIVEN); docs/tutorials/01_first_model.md shows the values"
    ),
    (
        "README.md",
        "",
        "ssw.models.samokhin_c4v(intrinsic_soc=True)              "
        "# Eq. (A19): γ1, γ2, γ̃ (kept exactly: k-dependent gap)",
    ): ("more of the API at a glance (H, O, values are placeholders, given in GIVEN)"),
    (
        "README.md",
        "Generated kernels and LaTeX",
        '"""Eq. (33), Γ1 + Γ5 in C4v: second order in the inter-orbital coupling, exact in b."""',
    ): "a spec's fields (data); tests/test_pipeline.py derives the shipped specs",
}


#: placeholders the README's API overview uses, defined before its section runs: ``(document, section) -> code``
GIVEN = {
    ("README.md", ""): (
        "import sympy\n"
        "from symbolic_sw.symbols import E_g, b, b_tilde, epsilon_1, epsilon_2\n"
        "H = ssw.models.samokhin_c4v().H\n"
        "O = sympy.diag(1, 1, -1, -1, -1, -1)  # any 6x6 operator: here the orbital parity\n"
        "values = dict(hbar=1, m=1, epsilon_1=0, epsilon_2=1, a_tilde=0.3, b_tilde=0.2, b=0.1, k_x=0.1, k_y=0.2)\n"
    ),
}


@dataclass
class Block:
    """One fenced block: its language, text and the document line of its first code line."""

    doc: str
    section: str
    lang: str
    code: str
    line: int

    @property
    def first(self) -> str:
        return next((s.strip() for s in self.code.splitlines() if s.strip()), "")

    @property
    def slow(self) -> bool:
        return self.first == "# slow" or (self.doc, self.section, self.first) in SLOW

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class Unit:
    """Blocks run in one namespace and one working folder: a README section or a tutorial."""

    doc: str
    section: str
    blocks: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.doc}::{self.section}" if self.section else self.doc

    @property
    def slow(self) -> bool:
        """Whether the unit can only run under ``-m slow`` (a slow python block)."""
        return any(b.slow and b.lang == "python" for b in self.blocks)

    @property
    def has_slow(self) -> bool:
        return any(b.slow for b in self.blocks)


def blocks_of(path: Path, doc: str) -> list:
    """Every fenced block of a markdown file, with the ``## `` section it sits in."""
    text = path.read_text(encoding="utf-8")
    headings = [(m.start(), m.group(1).strip()) for m in re.finditer(r"^## (.*)$", text, re.M)]
    out = []
    for m in FENCE.finditer(text):
        section = ""
        for start, title in headings:
            if start < m.start():
                section = title
        line = text.count("\n", 0, m.start(2)) + 1
        out.append(Block(doc, section, m.group(1), m.group(2), line))
    return out


def documents() -> list:
    """``[(name, blocks)]``: README.md, then the tutorials in order."""
    docs = [("README.md", blocks_of(README, "README.md"))]
    for path in sorted(TUTORIALS.glob("*.md")):
        docs.append((f"docs/tutorials/{path.name}", blocks_of(path, f"docs/tutorials/{path.name}")))
    return docs


def units() -> list:
    out = []
    for doc, blocks in documents():
        per_section = doc == "README.md"
        for block in blocks:
            key = block.section if per_section else ""
            if (doc, block.section) in RUN_ELSEWHERE:
                continue
            if not out or out[-1].doc != doc or out[-1].section != key:
                out.append(Unit(doc, key))
            out[-1].blocks.append(block)
    return out


# -- shown values --------------------------------------------------------------------------------------------


def _numbers(text):
    """The shown text as a nested structure of ``(value, unit of the last digit)``, or None if it is not numeric."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def walk(node):
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [walk(e) for e in node.elts]
            return None if any(i is None for i in items) else items
        sign = 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return ("bool", node.value)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            digits = decimal.Decimal(ast.get_source_segment(text, node).replace("_", ""))
            return (sign * float(digits), 10.0 ** digits.as_tuple().exponent if isinstance(node.value, float) else 0)
        return None

    return walk(tree)


def _matches(pattern: str, text: str) -> bool:
    """``text == pattern`` where ``...`` in the pattern stands for any text."""
    return re.fullmatch(".*?".join(map(re.escape, pattern.split("..."))), text, re.S) is not None


BOOLEANS = ("bool", "bool_", "BooleanTrue", "BooleanFalse")


def check_shown(shown: str, value, printed: str, where: str):
    """Assert that ``value`` (or, for None, the printed text) is what the document shows."""
    expected = _numbers(shown)
    if expected is not None and value is not None:

        def compare(exp, got, path):
            if isinstance(exp, list):
                got = list(got)
                assert len(got) == len(exp), f"{where}: shows {len(exp)} values{path}, got {len(got)}: {got}"
                for i, (e, g) in enumerate(zip(exp, got)):
                    compare(e, g, f"{path}[{i}]")
            elif exp[0] == "bool":
                # Python's, numpy's or SymPy's booleans, never a number that happens to be 0 or 1
                assert type(got).__name__ in BOOLEANS and bool(got) == exp[1], (
                    f"{where}: shows {exp[1]}{path}, got {got!r}"
                )
            else:
                number = complex(got)
                assert abs(number.imag) <= exp[1] / 2 and abs(number.real - exp[0]) <= exp[1] * (0.5 + 1e-9), (
                    f"{where}: shows {exp[0]!r}{path} (± {exp[1] / 2:g}), got {got!r}"
                )

        compare(expected, value, "")
        return
    got = printed.rstrip("\n") if value is None else str(value)
    assert _matches(shown, got), f"{where}: shows\n  {shown}\ngot\n  {got}"


# -- running ------------------------------------------------------------------------------------------------


def _statements(block: Block):
    """``[(node, shown or None)]`` of a python block, line numbers those of the document."""
    tree = ast.parse(block.code, filename=block.doc)
    markers = {}
    for tok in tokenize.generate_tokens(io.StringIO(block.code).readline):
        # only real comments: a "# ->" inside a string literal is data, not a shown value
        m = SHOWN.search(tok.string) if tok.type == tokenize.COMMENT else None
        # a value shown later in a comment ("# note: -> 1.0") would be silently unchecked
        assert m or tok.type != tokenize.COMMENT or "->" not in tok.string, (
            f"{block.doc}:{block.line + tok.start[0] - 1}: a comment shows `->` but is not a `# -> VALUE` check "
            f"(start the comment with `# ->`, or put the remark on its own line)"
        )
        if m:
            markers[tok.start[0]] = m.group(1)
    out, used = [], set()
    for node in tree.body:
        span = range(node.lineno, node.end_lineno + 1)
        shown = [markers[i] for i in span if i in markers]
        used |= {i for i in span if i in markers}
        if shown:
            assert isinstance(node, ast.Expr), (
                f"{block.doc}:{block.line + node.lineno - 1}: `# ->` on a statement that is not an expression"
            )
            assert len(shown) == 1, f"{block.doc}:{block.line + node.lineno - 1}: more than one `# ->` on one statement"
        out.append((node, shown[0] if shown else None))
    stray = sorted(set(markers) - used)
    assert not stray, f"{block.doc}:{block.line + stray[0] - 1}: `# ->` outside any statement"
    ast.increment_lineno(tree, block.line - 1)
    return out


def command_lines(code: str):
    r"""Logical lines of a shell block (``\`` continues a line), as argv lists, comments removed."""
    out, pending = [], ""
    for raw in code.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = pending + raw, ""
        argv = shlex.split(line, comments=True)
        if argv:
            out.append((line.strip(), argv))
    return out


def _not_run(doc, line):
    """The reason a command line is not run, if it is listed (by its command, comments removed)."""
    command = " ".join(shlex.split(line, comments=True))
    return NOT_RUN.get((doc, command)) or NOT_RUN.get((doc, line))


def run_cli(argv, where):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(argv)
    assert status in (0, None), f"{where}: `symbolic-sw {' '.join(argv)}` exited {status}"
    return printed.getvalue()


def run_unit(unit: Unit, workdir: Path, slow=True):
    """Run the blocks of a unit in order (without the slow ones unless ``slow``); returns the values checked."""
    namespace = {"__name__": "docs_" + re.sub(r"\W", "_", unit.name)}
    given = GIVEN.get((unit.doc, unit.section))
    if given:
        exec(compile("import symbolic_sw as ssw\n" + given, f"{unit.doc} (placeholders)", "exec"), namespace)
    checked = 0
    for block in unit.blocks:
        if (block.doc, block.first) in NOT_RUN or (block.slow and not slow):
            continue
        if block.lang == "python":
            m = FILE.match(block.first)
            if m:
                (workdir / m.group(1)).write_text(block.code.split("\n", 1)[1], encoding="utf-8")
                continue
            n_shown = 0
            for node, shown in _statements(block):
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    if isinstance(node, ast.Expr):
                        value = eval(compile(ast.Expression(node.value), block.doc, "eval"), namespace)
                    else:
                        exec(compile(ast.Module([node], type_ignores=[]), block.doc, "exec"), namespace)
                if shown is not None:
                    check_shown(shown, value, printed.getvalue(), f"{block.doc}:{node.end_lineno}")
                    n_shown += 1
            assert n_shown or (block.doc, block.section, block.first) in UNCHECKED, (
                f"{block.where}: this python block shows no checked value; end a line with `# -> VALUE`"
                " (or list it in UNCHECKED with the reason)"
            )
            checked += n_shown
        elif block.lang == "sh":
            for line, argv in command_lines(block.code):
                if argv[0] == "symbolic-sw":
                    run_cli(argv[1:], f"{block.where} `{line}`")
                else:
                    assert _not_run(block.doc, line), (
                        f"{block.where}: `{line}` is neither a symbolic-sw command nor listed in NOT_RUN"
                    )
        elif block.lang == "console":
            checked += _run_console(block)
        else:
            raise AssertionError(
                f"{block.where}: a ```{block.lang} block that is neither run nor listed in NOT_RUN ({block.first!r})"
            )
    return checked


def _run_console(block: Block):
    """``$ symbolic-sw ...`` lines and the output shown under each; returns the number of outputs checked."""
    commands = []
    for text in block.code.splitlines():
        if text.startswith("$ "):
            commands.append([text[2:], []])
        else:
            assert commands, f"{block.where}: output before any `$ ` command"
            commands[-1][1].append(text.rstrip())
    assert commands, f"{block.where}: a console block without a `$ ` command"
    for line, shown in commands:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "symbolic-sw", f"{block.where}: only symbolic-sw commands run here, not `{line}`"
        printed = run_cli(argv[1:], f"{block.where} `{line}`")
        got = "\n".join(s.rstrip() for s in printed.rstrip("\n").splitlines())
        want = "\n".join(shown).rstrip("\n")
        assert _matches(want, got), f"{block.where}: `{line}` shows\n{want}\ngot\n{got}"
    return len(commands)


UNITS = units()


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One fresh cache for the module: a derivation one document made is reused by the next."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def workdir(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _params():
    for u in UNITS:
        if u.slow:
            yield pytest.param(u, True, id=u.name, marks=[pytest.mark.slow])
        else:
            yield pytest.param(u, False, id=u.name)
            if u.has_slow:
                yield pytest.param(u, True, id=f"{u.name} (with slow blocks)", marks=[pytest.mark.slow])


@pytest.mark.parametrize("unit, slow", list(_params()))
def test_document_runs_and_shows_what_it_says(unit, slow, workdir):
    checked = run_unit(unit, workdir, slow=slow)
    if unit.doc.startswith("docs/tutorials/"):
        assert checked >= 5, f"{unit.doc}: a tutorial checks at least 5 shown values, this one {checked}"


def test_tutorials_exist_and_are_linked_from_the_readme():
    names = sorted(p.name for p in TUTORIALS.glob("*.md"))
    assert names[:4] == ["01_first_model.md", "02_equilibrium_current.md", "03_your_own_model.md", "04_fields.md"]
    readme = README.read_text(encoding="utf-8")
    for name in names:
        assert f"(docs/tutorials/{name})" in readme, f"README.md does not link docs/tutorials/{name}"


def test_every_block_is_run_or_listed():
    """Each fenced block belongs to a unit run here, or to a section run elsewhere, or is listed."""
    here = {(b.doc, b.line) for u in UNITS for b in u.blocks}
    for doc, blocks in documents():
        for block in blocks:
            if (doc, block.section) in RUN_ELSEWHERE:
                continue
            assert (doc, block.line) in here, block.where
            if block.lang not in ("python", "sh", "console"):
                assert (doc, block.first) in NOT_RUN, (
                    f"{block.where}: a ```{block.lang} block that is neither run nor listed"
                )
    # every listed entry still exists: a stale reason must not hide a new block
    present = set()
    for doc, blocks in documents():
        for block in blocks:
            present |= {(doc, block.first), (doc, block.section, block.first)}
            if block.lang == "sh":
                present |= {(doc, " ".join(argv)) for _, argv in command_lines(block.code)}
    for key in list(NOT_RUN) + list(UNCHECKED) + list(SLOW):
        assert key in present, f"listed but no longer in the document: {key}"


@pytest.mark.parametrize("key", sorted(RUN_ELSEWHERE), ids=lambda k: k[1])
def test_sections_run_elsewhere(key):
    """The section is read and run by its own test, every kind of block in it, and shows no `# ->` left unchecked."""
    test_file, kinds = RUN_ELSEWHERE[key]
    source = (ROOT / test_file).read_text(encoding="utf-8")
    heading = key[1]
    assert f"## {heading}" in source or f"## {heading.split(' (')[0]}" in source, (
        f"{test_file} does not name {heading!r}"
    )
    blocks = [b for doc, bs in documents() if doc == key[0] for b in bs if b.section == heading]
    assert blocks, f"{key[0]} has no section {heading!r} any more"
    for block in blocks:
        assert block.lang in kinds, f"{block.where}: a ```{block.lang} block that {test_file} does not run"
        assert not SHOWN.search(block.code), f"{block.where}: a `# ->` marker that {test_file} does not check"


# -- the runner itself fails where it should ----------------------------------------------------------------

CHECKS = [
    ("1 + 1  # -> 2", True),
    ("1 + 1  # -> 3", False),
    ("0.12349  # -> 0.1235", True),  # rounds to the shown digits
    ("0.12345  # -> 0.123", True),
    ("0.1236  # -> 0.1234", False),
    ("0.1236  # -> 0.1235", False),
    ("-2.5e-3  # -> -0.0025", True),
    ("1.37e-6  # -> 1.4e-06", True),
    ("(2, 4)  # -> (2, 4)", True),
    ("[0.1, 0.2]  # -> [0.1, 0.3]", False),
    ("1 == 1  # -> True", True),
    ("1 == 1  # -> False", False),
    ("1  # -> True", False),
    ("'x**2 + 1'  # -> x**2 + 1", True),
    ("'x**2 + 1'  # -> x**2 + 2", False),
    ("'a long error. Fix: this'  # -> ... Fix: this", True),
    ("print('printed')  # -> printed", True),
    ("print('printed')  # -> other", False),
    ("x = 1  # -> 1", False),  # a marker on an assignment
    ("len('# -> 2')  # -> 6", True),  # a marker inside a string is not one
]


@pytest.mark.parametrize("code, ok", CHECKS, ids=[c for c, _ in CHECKS])
def test_a_wrong_shown_value_fails(code, ok, workdir):
    unit = Unit("t.md", "", [Block("t.md", "", "python", code + "\n", 1)])
    if ok:
        assert run_unit(unit, workdir) == 1
    else:
        with pytest.raises(AssertionError):
            run_unit(unit, workdir)


@pytest.mark.parametrize(
    "lang, code, message",
    [
        ("python", "x = 1\n", "shows no checked value"),
        ("sh", "rm -rf build\n", "neither a symbolic-sw command nor listed"),
        ("", "some text\n", "neither run nor listed"),
        ("console", "$ symbolic-sw list\nnot-a-spec\n", "shows"),
        ("python", "x = 1\nx  # x is: -> 2\n", "a comment shows `->` but is not a `# -> VALUE` check"),
    ],
)
def test_an_unlisted_or_unchecked_block_fails(lang, code, message, workdir):
    unit = Unit("t.md", "", [Block("t.md", "", lang, code, 7)])
    with pytest.raises(AssertionError, match=message):
        run_unit(unit, workdir)


def test_an_error_points_at_the_document_line(workdir):
    """A statement that raises is reported at its line in the document, not in the block."""
    unit = Unit("t.md", "", [Block("t.md", "", "python", "x = 1  # -> 1\n", 3)])
    with pytest.raises(AssertionError, match=r"t.md:3: `# ->` on a statement that is not an expression"):
        run_unit(unit, workdir)
    unit = Unit("t.md", "", [Block("t.md", "", "python", "x = 1\ny = not_defined\n", 40)])
    with pytest.raises(NameError) as info:
        run_unit(unit, workdir)
    frame = info.traceback[-1]
    assert (frame.path, frame.lineno + 1) == ("t.md", 41)
