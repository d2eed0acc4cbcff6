"""Issue 14, pipeline: the derivation cache is data checked on load, generated folders are written as one set.

Tables of cases, each with its exact outcome:

- every shipped derivation's closed forms read back from the cache format identically;
- hostile expression texts are refused by the reader with a named reason, running nothing;
- a tampered or foreign cache entry is recomputed (the log says why), never used;
- loading a cache entry calls no ``eval``/``exec``/code ``compile``/``sympify``/``pickle``;
- ``--out``/``out=`` is checked before any derivation;
- ``load_kernels`` refuses an incomplete or inconsistent folder and names the fix;
- faults injected while a folder is written leave the old complete set (then the new one).
"""

import builtins
import dataclasses
import errno
import hashlib
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path

import pytest
import sympy

import symbolic_sw.pipeline.files as pipeline_files
from symbolic_sw.derivation import list_derivations, load_derivation
from symbolic_sw.errors import ModelError
from symbolic_sw.pipeline import atomic, build, cache, generate, load_kernels, safe_sympy
from symbolic_sw.pipeline.derive import derive

NAME = "rashba_toy"  # order 1 and 2 differ in every file; a cold derivation takes ~0.3 s
SENTINEL = "PWNED"


def snapshot(folder: Path) -> dict:
    """Every entry of a folder (hidden ones included) → its bytes."""
    return {p.name: p.read_bytes() if p.is_file() else "<dir>" for p in sorted(Path(folder).iterdir())}


def as_bytes(files: dict) -> dict:
    return {name: text.encode("utf-8") for name, text in sorted(files.items())}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Clean generations of rashba_toy at order 1 (old) and 2 (new), and the warm cache they leave."""
    root = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMBOLIC_SW_CACHE", str(root / "cache"))
        generate(NAME, out=root / "old", order=1)
        generate(NAME, out=root / "new", order=2)
    return {"old": snapshot(root / "old"), "new": snapshot(root / "new"), "cache": root / "cache"}


@pytest.fixture
def warm(clean, tmp_path, monkeypatch):
    """A private copy of the warm cache (both orders), as $SYMBOLIC_SW_CACHE."""
    shutil.copytree(clean["cache"], tmp_path / "cache")
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # where a hostile text would create SENTINEL
    return tmp_path / "cache"


def cache_entry(cache_dir: Path, order=1) -> Path:
    d = load_derivation(NAME)
    return cache_dir / f"{NAME}-{pipeline_files._cache_key(d, order)}.json"


def write_folder_of(tmp_path, snap, name="out") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for fname, data in snap.items():
        (folder / fname).write_bytes(data)
    return folder


# -- the expression format ------------------------------------------------------------


@pytest.mark.parametrize("name", list_derivations())
def test_every_shipped_derivation_reads_back_identically(name):
    """Derived → cache bytes → Derived: every operator the same tree (== and srepr), every field equal.

    Freshly derived (no rendering: ~7 s for all), not from a cache that was read back already.
    """
    derived = derive(name)
    files = {"README.md": "text"}
    data = cache.encode(derived, files, key="k", context={"spec": name})
    back, back_files = cache.decode(data, derivation=derived.derivation, key="k", context={"spec": name})
    assert back_files == files
    assert list(back.operators) == list(derived.operators)
    for op, M in derived.operators.items():
        assert type(back.operators[op]) is type(M) and back.operators[op] == M, op
        assert sympy.srepr(back.operators[op]) == sympy.srepr(M), op
    for field in ("order", "momenta", "parameters", "equation", "hbar", "n_blocks", "exact", "couplings", "timings"):
        assert getattr(back, field) == getattr(derived, field), field
    assert back.derivation is derived.derivation


x, y = sympy.Symbol("x", real=True), sympy.Symbol("y", positive=True)
z, w = sympy.Symbol("z"), sympy.Symbol("w", commutative=False)
ROUND_TRIP = [
    sympy.Integer(-12345678901234567890123),
    sympy.Rational(-7, 3),
    sympy.Float("0.1", 30),
    sympy.Float("1e-300"),
    sympy.Float("-1.5e+20"),
    sympy.I * x + sympy.pi - sympy.E,
    sympy.sqrt(2) * x**-3 / (x - y),
    sympy.factor(2 * x + 2 * z),  # Mul(2, x + z): unevaluated in SymPy too
    sympy.exp(-x) + sympy.sin(x) * sympy.cosh(y),
    sympy.polylog(2, -sympy.exp(x)),
    sympy.conjugate(z) * sympy.Abs(x) + sympy.re(z) - sympy.im(z),
    w * z * w,
    sympy.Piecewise((x, sympy.Eq(x, 1)), (1, sympy.And(x < 1, x > 0)), (2, sympy.Not(x < 1)), (0, True)),
    sympy.ImmutableMatrix([[x, sympy.I * y], [-sympy.I * y, x**2]]),
    sympy.ImmutableMatrix(0, 3, []),
    sympy.Symbol("a'b") + sympy.Symbol("Δ_1"),
    sympy.oo + sympy.nan * 0 + sympy.zoo * 0,
]


@pytest.mark.parametrize("expr", ROUND_TRIP, ids=[str(i) for i in range(len(ROUND_TRIP))])
def test_expression_reads_back_identically(expr):
    back = safe_sympy.loads(safe_sympy.dumps(expr))
    assert type(back) is type(expr) and back == expr and sympy.srepr(back) == sympy.srepr(expr)


def _doubling(n):
    return "[Symbol('x'), " + ", ".join(f"Add(_{i}, _{i})" for i in range(n)) + "]"


HOSTILE = [
    ("[__import__('os').system('touch PWNED')]", "call of 'Attribute' is not allowed"),
    ("[Symbol(__import__('os').system('touch PWNED'))]", "call of 'Attribute' is not allowed"),
    ("[__import__('os')]", "call of '__import__' is not allowed"),
    ("[eval(\"open('PWNED', 'w')\")]", "call of 'eval' is not allowed"),
    ("[exec('1')]", "call of 'exec' is not allowed"),
    ("[Symbol('x').__class__]", "Attribute is not allowed"),
    ("[Integer(1).__reduce__()]", "call of 'Attribute' is not allowed"),
    ("[(lambda: open('PWNED', 'w'))()]", "call of 'Lambda' is not allowed"),
    ("[Symbol(*['x'])]", "* and ** arguments are not allowed"),
    ("[Symbol('x', **{'real': True})]", "* and ** arguments are not allowed"),
    ("[Symbol('x', evil=True)]", "evil=True is not an assumption"),
    ("[Symbol('x', real='yes')]", "real='yes' is not an assumption"),
    ("[Symbol(f'{1}')]", "JoinedStr is not allowed"),
    ("[Symbol(b'x')]", "Constant is not allowed"),
    ("[Add(_1, _0)]", "unknown name '_1'"),
    ("[os]", "unknown name 'os'"),
    ("[Dummy('x')]", "call of 'Dummy' is not allowed"),
    ("[Function('f')(Symbol('x'))]", "call of 'Call' is not allowed"),
    ("[Integer('1')]", "Integer takes 1 integer(s)"),
    ("[Integer(True)]", "Integer takes 1 integer(s)"),
    ("[Rational(1, 0)]", "the denominator must be positive"),
    ("[Float('1e5; import os', precision=53)]", "Float takes one decimal string"),
    ("[Float('1.0', precision=1000000000)]", "precision out of range"),
    ("[Pow(Symbol('x'))]", "Pow takes 2 argument(s), got 1"),
    ("[Add(Symbol('x'))]", "Add takes at least two terms"),
    ("[Mul(Symbol('x'), 'y')]", "argument 'y' is not an expression"),
    ("[ImmutableDenseMatrix([[Symbol('x')], []])]", "rows must be non-empty lists of equal length"),
    ("[Integer(1)][0]", "expected a list"),
    ("Integer(1)", "expected a list"),
    ("[Integer(" + "9" * 5000 + ")]", "not an expression table"),
    ("[" + "exp(" * 300 + "Symbol('x')" + ")" * 300 + "]", "not an expression table"),
    (_doubling(30), "a tree of more than 10000000 nodes"),
    ("[1]", "entry 0 is a int, not a SymPy object"),
]


@pytest.mark.parametrize("text,message", HOSTILE, ids=[m for _, m in HOSTILE])
def test_reader_refuses_hostile_text(text, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(safe_sympy.UnsafeExpressionError) as info:
        safe_sympy.load_table(text)
    assert message in str(info.value)
    assert not (tmp_path / SENTINEL).exists()


@pytest.mark.parametrize(
    "name,allowed",
    [("k_x", True), ("Δ_1", True), ("x; import os", False), ("lambda", False), ("a'b", False), ("1x", False)],
)
def test_cache_symbol_names_are_identifiers(name, allowed):
    text = f"[Symbol({name!r}, real=True)]"
    if allowed:
        assert safe_sympy.load_table(text, symbol_name=cache._is_identifier) == [sympy.Symbol(name, real=True)]
    else:
        with pytest.raises(safe_sympy.UnsafeExpressionError, match="is not allowed"):
            safe_sympy.load_table(text, symbol_name=cache._is_identifier)


# -- tampered cache entries ------------------------------------------------------------


def _split(data):
    header, _, body = data.partition(b"\n")
    return json.loads(header), json.loads(body)


def _rehashed(payload, **header):
    """A forged entry: the payload changed and its hash recomputed (as an attacker would)."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    head = {"format": cache.FORMAT, "version": cache.VERSION, "sha256": hashlib.sha256(body).hexdigest(), **header}
    return json.dumps(head).encode() + b"\n" + body


def _edit(change):
    def tamper(data):
        _, payload = _split(data)
        change(payload)
        return _rehashed(payload)

    return tamper


def _flip(data, at):
    data = bytearray(data)
    data[at] ^= 0x01
    data[at + 1] ^= 0x20
    return bytes(data)


def _expressions(old, new):
    def change(payload):
        assert old in payload["expressions"]
        payload["expressions"] = payload["expressions"].replace(old, new, 1)

    return change


TAMPER = {
    # corruption: the content hash
    "two bytes flipped in the payload": (lambda d: _flip(d, len(d) // 2), "content hash mismatch"),
    "a hash digit changed in the header": (lambda d: d.replace(b'"sha256":"', b'"sha256":"0', 1), "content hash"),
    "truncated to half": (lambda d: d[: len(d) // 2], "content hash mismatch"),
    "a number changed, JSON still valid": (
        lambda d: d.replace(b"Integer(2)", b"Integer(3)", 1),
        "content hash mismatch",
    ),
    "empty file": (lambda _d: b"", "no header line"),
    "not JSON": (lambda d: b"\x80\x81 garbage\n" + d, "unreadable"),
    "another format version": (lambda d: _rehashed(_split(d)[1], version=2), "not a symbolic-sw-cache version 1 file"),
    "a pickle instead": (lambda _d: pickle.dumps({"derived": 1}, protocol=0), "unreadable"),
    # forgeries with a valid hash: the reader and the checks
    "__import__ injected in a srepr": (
        _edit(_expressions("Symbol('hbar'", "Symbol(__import__('os').system('touch PWNED')")),
        "call of 'Attribute' is not allowed",
    ),
    "eval injected in a srepr": (
        _edit(_expressions("Integer(2)", "eval(\"open('PWNED', 'w')\")")),
        "call of 'eval' is not allowed",
    ),
    "unknown constructor": (_edit(_expressions("Symbol('hbar'", "Dummy('hbar'")), "call of 'Dummy' is not allowed"),
    "symbol name that is code": (
        _edit(_expressions("Symbol('hbar'", "Symbol('hbar=__import__(\"os\")'")),
        "is not allowed",
    ),
    "written for another key": (_edit(lambda p: p.update(key="0" * 32)), "written for another cache key"),
    "written for the spec elsewhere": (
        _edit(lambda p: p["context"].update(spec="elsewhere/rashba_toy.py")),
        "written for the spec at another location",
    ),
    "a file name leaving the folder": (
        _edit(lambda p: p["files"].update({"../evil.py": "import os"})),
        "unexpected content",
    ),
    "an extra file": (
        _edit(lambda p: p["files"].update({"extra.py": "import os"})),
        "not the files this spec generates",
    ),
    "an order of the wrong type": (_edit(lambda p: p["derived"].update(order="1")), "unexpected content"),
    "an operator that is not a matrix": (
        _edit(lambda p: p["derived"]["operators"][0].__setitem__(1, p["derived"]["hbar"])),
        "unexpected content",
    ),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_tampered_cache_entry_is_recomputed(case, warm, clean):
    tamper, reason = TAMPER[case]
    path = cache_entry(warm)
    path.write_bytes(tamper(path.read_bytes()))
    lines = []
    _, files = build(NAME, log=lines.append)
    assert lines[0].startswith(f"{NAME}: cache entry {path.name} not used (") and reason in lines[0], lines
    assert lines[0].endswith("; recomputing")
    assert any(line.startswith(f"{NAME}: 19 operators at order 1") for line in lines[1:])
    assert as_bytes(files) == clean["old"]
    assert not Path(SENTINEL).exists()
    again = []
    build(NAME, log=again.append)  # the entry was rewritten, whole and valid
    assert again == [f"{NAME}: cached"]


def test_cache_folder_entry_that_is_a_directory_is_recomputed(warm, clean):
    path = cache_entry(warm)
    path.unlink()
    path.mkdir()
    lines = []
    _, files = build(NAME, log=lines.append)
    assert "not used (unreadable: Is a directory)" in lines[0] and as_bytes(files) == clean["old"]


def test_a_pickle_under_the_old_name_is_never_loaded(tmp_path, monkeypatch, clean):
    """The old format's file name with a payload that would run code: ignored."""

    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / SENTINEL), "w"))

    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    key = pipeline_files._cache_key(load_derivation(NAME), 1)
    (tmp_path / "cache" / f"{NAME}-{key}.pickle").write_bytes(pickle.dumps(Exploit()))
    lines = []
    _, files = build(NAME, log=lines.append)
    assert not (tmp_path / SENTINEL).exists() and as_bytes(files) == clean["old"]
    assert not any("cached" in line for line in lines)


def _chown_away(path):
    os.chown(path, 54321, -1)


NOT_OURS = [
    pytest.param(lambda p: p.chmod(0o666), "writable by other users", id="writable by other users"),
    pytest.param(
        lambda p: p.parent.chmod(0o777), "in a folder every user may write", id="in a folder every user may write"
    ),
    pytest.param(
        lambda p: (p.rename(p.with_suffix(".x")), p.symlink_to(p.with_suffix(".x"))),
        "a symbolic link",
        id="a symbolic link",
    ),
    pytest.param(
        _chown_away,
        "owned by another user",
        id="owned by another user",
        marks=pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root"),
    ),
    pytest.param(lambda p: p.parent.chmod(0o1777), None, id="in a shared folder with the sticky bit (as /tmp)"),
]


@pytest.mark.parametrize("change,reason", NOT_OURS)
def test_an_entry_another_user_could_have_written_is_recomputed(change, reason, warm, clean):
    path = cache_entry(warm)
    change(path)
    lines = []
    _, files = build(NAME, log=lines.append)
    assert as_bytes(files) == clean["old"]
    if reason is None:
        assert lines == [f"{NAME}: cached"]
    else:
        assert lines[0] == f"{NAME}: cache entry {path.name} not used ({reason}); recomputing"


def _with_operator(derived, expr):
    return dataclasses.replace(derived, operators={**derived.operators, "H": sympy.ImmutableMatrix([[expr]])})


UNCACHEABLE = [
    ("a Dummy symbol", sympy.Dummy("d"), "call of 'Dummy' is not allowed"),
    ("a function outside the whitelist", sympy.gamma(x), "cannot write gamma"),
    ("a symbol name that is not an identifier", sympy.Symbol("a b"), "the name 'a b' is not allowed"),
    ("a constant outside the whitelist", sympy.EulerGamma, "unknown name 'EulerGamma'"),
]


@pytest.mark.parametrize("case,expr,reason", UNCACHEABLE, ids=[c[0] for c in UNCACHEABLE])
def test_what_would_not_read_back_is_not_cached(case, expr, reason, warm):
    derived, files = build(NAME)
    path = warm / "entry.json"
    lines = []
    pipeline_files._store(path, _with_operator(derived, expr), files, key="k", context={}, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith(f"{NAME}: not cached (") and reason in lines[0], (case, lines)
    assert not path.exists() and not [p for p in warm.iterdir() if atomic.is_leftover(p.name)]


# -- no code runs while a cache entry is read ------------------------------------------


class ForbiddenCallError(AssertionError):
    pass


def _forbid(what):
    def guard(*_args, **_kwargs):
        raise ForbiddenCallError(f"{what} called while reading the cache")

    return guard


def _compile_ast_only(original):
    def guard(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & 0x400:  # ast.PyCF_ONLY_AST: parsing is fine, a code object is not
            raise ForbiddenCallError("compile() to a code object while reading the cache")
        return original(source, filename, mode, flags, *args, **kwargs)

    return guard


def _sympify_no_text(original, what):
    def guard(a, *args, **kwargs):
        if isinstance(a, str):
            raise ForbiddenCallError(f"{what} of text while reading the cache")
        return original(a, *args, **kwargs)

    return guard


GUARDS = {
    "eval": lambda mp: mp.setattr(builtins, "eval", _forbid("eval")),
    "exec": lambda mp: mp.setattr(builtins, "exec", _forbid("exec")),
    "compile": lambda mp: mp.setattr(builtins, "compile", _compile_ast_only(builtins.compile)),
    "sympy.sympify": lambda mp: mp.setattr(sympy, "sympify", _sympify_no_text(sympy.sympify, "sympify")),
    "sympy.core.sympify.sympify": lambda mp: mp.setattr(
        sys.modules["sympy.core.sympify"], "sympify", _sympify_no_text(sympy.sympify, "sympify")
    ),
    "sympy.parse_expr": lambda mp: mp.setattr(sympy.parsing.sympy_parser, "parse_expr", _forbid("parse_expr")),
    "pickle.loads": lambda mp: mp.setattr(pickle, "loads", _forbid("pickle.loads")),
    "pickle.load": lambda mp: mp.setattr(pickle, "load", _forbid("pickle.load")),
}


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize("guards", [[g] for g in GUARDS] + [list(GUARDS)], ids=[*GUARDS, "all"])
def test_reading_the_cache_runs_no_code(guards, clean):
    derivation = load_derivation(NAME)  # the spec itself is code, run on purpose: before the guards
    reference, _ = build(derivation)  # warm every import on the way
    with pytest.MonkeyPatch.context() as mp:
        for g in guards:
            GUARDS[g](mp)
        lines = []
        derived, files = build(derivation, log=lines.append)
    assert lines == [f"{NAME}: cached"]
    assert as_bytes(files) == clean["old"]
    assert all(derived.operators[op] == M for op, M in reference.operators.items())


# -- the output folder is checked before any work ---------------------------------------


def _setup_out(tmp_path, kind, clean):
    """The --out of a case (created as the case says)."""
    if kind == "a file":
        (tmp_path / "f").write_text("x")
        return tmp_path / "f"
    if kind == "/dev/null":
        return Path("/dev/null")
    if kind == "under a file":
        (tmp_path / "f").write_text("x")
        return tmp_path / "f" / "out"
    if kind == "under /dev/null":
        return Path("/dev/null/out")
    if kind == "a broken link":
        (tmp_path / "link").symlink_to(tmp_path / "nowhere")
        return tmp_path / "link"
    if kind == "one's own folder":
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("mine")
        (tmp_path / "mine" / "README.md").write_text("# mine\n")
        return tmp_path / "mine"
    if kind == "one's own README":
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "README.md").write_text("# mine\n")
        return tmp_path / "mine"
    if kind == "new, missing parents":
        return tmp_path / "a" / "b" / "c"
    if kind == "empty":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    if kind == "a generated set, with a note":
        folder = write_folder_of(tmp_path, clean["old"])
        (folder / "NOTES.txt").write_text("mine")
        return folder
    if kind == "an older generated set (no manifest)":
        folder = write_folder_of(tmp_path, {n: b"old" for n in ("README.md", "kernels.py", "operators.tex")})
        (folder / "__pycache__").mkdir()
        return folder
    raise AssertionError(kind)


OUT_CASES = [
    ("a file", "exists and is not a folder (a file or a device)"),
    ("/dev/null", "/dev/null exists and is not a folder (a file or a device)"),
    ("under a file", "is not a folder, so"),
    ("under /dev/null", "/dev/null is not a folder, so /dev/null/out cannot be created"),
    ("a broken link", "is a broken symbolic link"),
    ("one's own folder", "holds files that are not generated (README.md, notes.txt)"),
    ("one's own README", "holds files that are not generated (README.md)"),
    ("new, missing parents", None),
    ("empty", None),
    ("a generated set, with a note", None),
    ("an older generated set (no manifest)", None),
]


@pytest.mark.parametrize("kind,message", OUT_CASES, ids=[k for k, _ in OUT_CASES])
def test_output_folder_is_checked_before_deriving(kind, message, tmp_path, monkeypatch, clean):
    out = _setup_out(tmp_path, kind, clean)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    if message is None:
        assert pipeline_files.check_output_folder(out) == out
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing created
        return
    with pytest.raises(ModelError) as info:
        pipeline_files.check_output_folder(out)
    assert message in str(info.value) and "Fix: give --out (out=) a new or empty folder" in str(info.value)
    ran = []
    monkeypatch.setattr(pipeline_files, "build", lambda *a, **_k: ran.append(a))
    with pytest.raises(ModelError, match="cannot write the generated files there"):
        generate(NAME, out=out)
    assert ran == []  # refused before the derivation
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


# -- loading refuses an incomplete or inconsistent folder --------------------------------


def _replace_readme(folder, change):
    readme = folder / "README.md"
    readme.write_bytes(change(readme.read_bytes()))


BROKEN = {
    "0-byte kernels.py": (lambda f, _c: (f / "kernels.py").write_bytes(b""), "kernels.py does not match"),
    "truncated kernels_mpmath.py": (
        lambda f, c: (f / "kernels_mpmath.py").write_bytes(c["old"]["kernels_mpmath.py"][:-200]),
        "kernels_mpmath.py does not match",
    ),
    "kernels.py of another order": (
        lambda f, c: (f / "kernels.py").write_bytes(c["new"]["kernels.py"]),
        "is inconsistent: kernels.py does not match the manifest",
    ),
    "operators.tex missing": (lambda f, _c: (f / "operators.tex").unlink(), "is incomplete: operators.tex is missing"),
    "an interrupted write (mark present)": (
        lambda f, _c: (f / atomic.MARKER).write_bytes(b""),
        "is incomplete: writing it was interrupted",
    ),
    "README truncated (no manifest)": (
        lambda f, _c: _replace_readme(f, lambda b: b[: len(b) // 2]),
        "has no valid manifest",
    ),
    "README without its last line": (
        lambda f, _c: _replace_readme(f, lambda b: b[: b.rindex(b"<!--")]),
        "has no valid manifest",
    ),
    "manifest not JSON": (lambda f, _c: _replace_readme(f, lambda b: b.replace(b'{"files"', b'{files"')), "no valid"),
    "README text edited": (
        lambda f, _c: _replace_readme(f, lambda b: b.replace(b"rashba_toy", b"rashba_TOY", 1)),
        "README.md does not match the manifest",
    ),
    "kernels.py edited by hand": (
        lambda f, c: (f / "kernels.py").write_bytes(c["old"]["kernels.py"] + b"\nH = None\n"),
        "kernels.py does not match",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_load_kernels_refuses_a_broken_folder(case, tmp_path, clean):
    folder = write_folder_of(tmp_path, clean["old"], name=NAME)
    load_kernels(str(folder))  # complete: loads
    damage, message = BROKEN[case]
    damage(folder, clean)
    for kind in ("numpy", "mpmath", "observables"):
        with pytest.raises(ModelError) as info:
            load_kernels(str(folder), kind=kind)
        text = str(info.value)
        assert message in text, text
        assert text.startswith(f"the generated folder {folder} ")
        assert text.endswith(
            f"Fix: regenerate it: run `make generated` or `symbolic-sw derive {NAME}` (its spec's path)."
        )
    with pytest.raises(ModelError, match=f"symbolic-sw derive {NAME}`"):
        load_kernels(NAME, folder=tmp_path)


def _crlf(folder):
    for p in folder.iterdir():
        p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))


ACCEPTED = {
    "complete": lambda _f: None,
    "CRLF line endings (a Windows checkout)": _crlf,
    "an unrelated file next to the set": lambda f: (f / "NOTES.txt").write_text("mine"),
    "a hand-made folder without README": lambda f: [(f / n).unlink() for n in ("README.md", "operators.tex")],
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_load_kernels_accepts_a_complete_folder(case, tmp_path, clean):
    folder = write_folder_of(tmp_path, clean["old"], name=NAME)
    ACCEPTED[case](folder)
    K = load_kernels(str(folder))
    assert K.ORDER == 1 and K.H(0.1, 0.2, hbar=1.0, m=1.0, alpha_0=0.1).shape == (2, 2)
    assert load_kernels(str(folder), kind="mpmath").ORDER == 1


def test_stale_observables_py_is_refused(tmp_path, clean):
    """A file of an earlier generation that the set does not list."""
    folder = write_folder_of(tmp_path, clean["old"], name=NAME)
    _replace_readme(folder, lambda b: b.replace(b'"observables.py": ', b'"observables_py": ', 1))
    with pytest.raises(ModelError, match=re.escape("holds observables.py, which is not part of its generated set")):
        load_kernels(str(folder), kind="observables")


# -- writing: one set, unchanged files untouched ----------------------------------------


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}


def _age(folder):
    for p in folder.iterdir():
        os.utime(p, ns=(10**18, 10**18))


def _spec_without_observables(tmp_path):
    text = Path(load_derivation(NAME).path).read_text(encoding="utf-8").replace("OBSERVABLES = True", "")
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "toy.py").write_text(text, encoding="utf-8")
    return str(tmp_path / "spec" / "toy.py")


WRITES = [
    # (second generation, files rewritten, files afterwards)
    ({"order": 1}, set(), "old"),
    ({"order": 2}, {"README.md", "kernels.py", "kernels_mpmath.py", "observables.py", "operators.tex"}, "new"),
    ({"spec": "without observables"}, {"README.md", "kernels.py", "kernels_mpmath.py", "operators.tex"}, None),
]


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize("second,rewritten,after", WRITES, ids=["same", "order 2", "observables dropped"])
def test_second_generation_rewrites_only_what_changed(second, rewritten, after, tmp_path, clean):
    out = tmp_path / "out"
    generate(NAME, out=out, order=1)
    _age(out)
    before = _mtimes(out)
    spec = _spec_without_observables(tmp_path) if "spec" in second else NAME
    assert generate(spec, out=out, order=second.get("order")) == out
    now = _mtimes(out)
    assert {n for n in now if now[n] != before.get(n)} == rewritten
    if after is not None:
        assert snapshot(out) == clean[after]
    else:  # observables.py removed with the set it belonged to; no leftovers
        assert sorted(now) == ["README.md", "kernels.py", "kernels_mpmath.py", "operators.tex"]
        assert load_kernels(str(out)).ORDER == 1


@pytest.mark.usefixtures("warm")
def test_leftovers_of_an_interrupted_write_are_cleaned(tmp_path, clean):
    out = write_folder_of(tmp_path, clean["old"])
    (out / ".kernels.py.0a1b2c3d.ssw-tmp").write_bytes(b"partial")
    (out / ".operators.tex.ssw-old").write_bytes(b"old")
    (out / atomic.MARKER).write_bytes(b"")
    generate(NAME, out=out, order=1)
    assert snapshot(out) == clean["old"]


def test_manifest_is_deterministic_and_lists_every_file(tmp_path, monkeypatch, clean):
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cold"))  # a cold cache, another folder
    out = generate(NAME, out=tmp_path / "elsewhere" / NAME, order=1)
    assert snapshot(out) == clean["old"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert str(tmp_path) not in readme and "/tmp" not in readme
    manifest, body = pipeline_files._read_manifest(readme.encode())
    assert manifest["files"] == {
        n: hashlib.sha256(body.encode() if n == "README.md" else (out / n).read_bytes()).hexdigest()
        for n in clean["old"]
    }
    assert (manifest["name"], manifest["order"]) == (NAME, 1)
    assert manifest["spec_sha256"] == load_derivation(NAME).digest


# -- fault injection -------------------------------------------------------------------


class Killed(BaseException):
    """A stand-in for the process dying (nothing after it runs, not even a rollback)."""


def _nth_call(n, action, original):
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == n:
            return action(original, *args, **kwargs)
        return original(*args, **kwargs)

    return wrapper


def _enospc_mid_file(original, fd, data):
    original(fd, data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _error_mid_file(original, fd, data):
    original(fd, data[: len(data) // 3])
    raise RuntimeError("interrupted mid-file")


def _raise(exc):
    def action(*_args, **_kwargs):
        raise exc

    return action


# a commit of order 2 over order 1: 5 staged files, then 9 moves (4 backups + 4 files, README last)
FAULTS = [
    *[(f"ENOSPC mid-file {k}", "_write_data", k, _enospc_mid_file, ModelError) for k in range(1, 6)],
    ("error mid-file 2", "_write_data", 2, _error_mid_file, RuntimeError),
    *[(f"between files, before {k}", "_stage", k, _raise(OSError(errno.EIO, "I/O error")), ModelError) for k in (2, 5)],
    ("interrupt between files", "_stage", 3, _raise(KeyboardInterrupt()), KeyboardInterrupt),
    *[
        (f"commit step {k} fails", "_move", k, _raise(OSError(errno.EIO, "I/O error")), ModelError)
        for k in range(1, 10)
    ],
    ("interrupt at commit step 4", "_move", 4, _raise(KeyboardInterrupt()), KeyboardInterrupt),
]


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize("where,n,action,error", [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_fault_leaves_the_old_complete_set(where, n, action, error, tmp_path, clean):
    out = write_folder_of(tmp_path, clean["old"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic, where, _nth_call(n, action, getattr(atomic, where)))
        with pytest.raises(error) as info:
            generate(NAME, out=out, order=2)
    if error is ModelError:
        assert str(info.value).startswith(f"writing {out} failed: ") and "keeps its previous files" in str(info.value)
    assert snapshot(out) == clean["old"]  # every byte, no temporary file, no mark
    assert load_kernels(str(out)).ORDER == 1
    generate(NAME, out=out, order=2)
    assert snapshot(out) == clean["new"]
    assert load_kernels(str(out)).ORDER == 2


@pytest.mark.usefixtures("warm")
@pytest.mark.parametrize("step", range(1, 10))
def test_kill_during_commit_is_detected_then_repaired(step, tmp_path, clean):
    """The process dies at a step of the commit (no rollback): loading refuses until regenerated."""
    out = write_folder_of(tmp_path, clean["old"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(atomic, "_move", _nth_call(step, _raise(Killed()), atomic._move))
        mp.setattr(atomic, "_rollback", lambda _done: False)
        with pytest.raises(Killed):
            generate(NAME, out=out, order=2)
    assert (out / atomic.MARKER).exists()
    with pytest.raises(ModelError, match="is incomplete: writing it was interrupted"):
        load_kernels(str(out))
    generate(NAME, out=out, order=2)
    assert snapshot(out) == clean["new"]
    assert load_kernels(str(out)).ORDER == 2


CACHE_WRITE_FAULTS = [
    ("ENOSPC mid-file", "_write_data", _enospc_mid_file),
    ("replace fails", None, None),
]


@pytest.mark.parametrize("where,action", [c[1:] for c in CACHE_WRITE_FAULTS], ids=[c[0] for c in CACHE_WRITE_FAULTS])
def test_cache_write_is_whole_or_absent(where, action, tmp_path, monkeypatch, clean):
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    with pytest.MonkeyPatch.context() as mp:
        if where:
            mp.setattr(atomic, where, _nth_call(1, action, getattr(atomic, where)))
        else:
            mp.setattr(atomic.os, "replace", _raise(OSError(errno.EIO, "I/O error")))
        _, files = build(NAME)
    assert as_bytes(files) == clean["old"]
    assert list((tmp_path / "cache").iterdir()) == []  # no entry, no temporary file
    lines = []
    build(NAME, log=lines.append)
    assert f"{NAME}: cached" not in lines and (tmp_path / "cache").is_dir()
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".json"]
