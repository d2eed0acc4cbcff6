"""A real package (issue 15): pip install with its data, user cache, output folders, generated READMEs.

- The wheel test builds a wheel from a copy of the source, installs it into a fresh venv
  and runs ``symbolic-sw list``, ``derive samokhin_c4v --out DIR`` (byte-identical to the
  committed kernels) and ``load_kernels("samokhin_c4v")`` from an empty folder, checking
  that nothing is written into the venv (site-packages included) or the repository.

  The fresh venv is made without pip (``venv --without-pip``) and the wheel installed with
  ``pip --python VENV --no-deps --no-index``; the dependencies come from this interpreter's
  site-packages through a ``.pth`` line, which puts that folder on ``sys.path`` *after* the
  venv's own and does not run its ``.pth`` files, so the editable symbolic_sw of the
  development venv (an import hook installed by its ``.pth``) is not seen: the test asserts
  that the imported package is the venv's. Only building the wheel may reach the package
  index (pip's isolated build environment fetches ``setuptools``), unless this interpreter
  can build it itself; an index that cannot be reached skips the test.
- The README tests render the "how it was made / how to load it" of a generated folder
  for a user's spec (by path, from another folder, with ``--out``) and a shipped one (in the
  checkout and as an installed package would), run its ``Use`` block where it says, and run
  its regenerate command, which must write the same folder again.
"""

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import symbolic_sw.pipeline.files as pipeline
from symbolic_sw.cli import main
from symbolic_sw.derivation import CHECKOUT, DERIVATIONS, list_derivations, load_derivation
from symbolic_sw.errors import ModelError
from symbolic_sw.pipeline import cache

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
#: what a source distribution holds (and the wheel is built from)
SOURCES = ("symbolic_sw", "derivations", "generated", "pyproject.toml", "README.md")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def _toml():
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]


# -- the package configuration ----------------------------------------------------------------


def test_package_list_is_the_source_tree():
    """The explicit package list (needed by the data mapping) holds every subpackage, and only those."""
    listed = {p for p in _toml()["packages"] if not p.startswith("symbolic_sw._data.")}
    tree = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "symbolic_sw").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert listed == tree


@pytest.mark.parametrize(("package", "folder"), [("derivations", "derivations"), ("generated", "generated")])
def test_data_folders_are_mapped_into_the_package(package, folder):
    assert _toml()["package-dir"][f"symbolic_sw._data.{package}"] == folder


def test_every_committed_generated_file_is_package_data():
    """A new kind of generated file must be shipped too (or be left out on purpose, here)."""
    patterns = _toml()["package-data"]["symbolic_sw._data.generated"]
    files = [p.relative_to(ROOT / "generated") for p in (ROOT / "generated").rglob("*") if p.is_file()]
    files = [f for f in files if "__pycache__" not in f.parts]
    assert files
    unmatched = [
        f.as_posix() for f in files if not any(f.match(p) and len(f.parts) == len(Path(p).parts) for p in patterns)
    ]
    assert unmatched == []


def test_the_checkout_is_recognised():
    assert CHECKOUT == ROOT and DERIVATIONS == ROOT / "derivations" and pipeline.GENERATED == ROOT / "generated"


# -- the cache folder -------------------------------------------------------------------------


def test_cache_folder_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == ROOT / ".cache" / "symbolic-sw"  # the checkout: what make and CI use
    monkeypatch.setattr(cache, "CHECKOUT", None)  # as an installed package
    assert cache.cache_dir() == tmp_path / "xdg" / "symbolic-sw"
    monkeypatch.setenv(cache.ENV, str(tmp_path / "env"))
    assert cache.cache_dir() == tmp_path / "env"
    with cache.using(tmp_path / "option"):
        assert cache.cache_dir() == tmp_path / "option"
    assert cache.cache_dir() == tmp_path / "env"


@pytest.mark.parametrize("where", ["before", "after"])
def test_cache_dir_option_is_used(tmp_path, monkeypatch, capsys, where):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "env"))
    option = ["--cache-dir", str(tmp_path / "option")]
    argv = [*option, "derive", "rashba_toy", "--out", str(tmp_path / "out")]
    if where == "after":
        argv = [*argv[2:], *option]
    assert main(argv) == 0
    capsys.readouterr()
    assert [p.name.startswith("rashba_toy-") for p in (tmp_path / "option").iterdir()] == [True]
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda tmp: tmp.joinpath("file").write_text("x") and tmp / "file", "not a folder"),
        (lambda tmp: tmp.joinpath("file").write_text("x") and tmp / "file" / "sub", "is a file on the way"),
    ],
)
def test_cache_dir_that_cannot_be_a_folder_is_one_error(tmp_path, capsys, make, why):
    path = make(tmp_path)
    assert main(["--cache-dir", str(path), "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err and "Fix:" in err
    with pytest.raises(ModelError, match=why):
        with cache.using(path):
            pass


# -- generated READMEs: how the folder was made, how to load and regenerate it ------------------

USER_SPEC = (DERIVATIONS / "rashba_toy.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def user(tmp_path, monkeypatch, shared_cache):
    """A user's spec ``specs/my_toy.py`` (the shipped toy under another name); a cache for these tests."""
    monkeypatch.setenv(cache.ENV, str(shared_cache))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "my_toy.py").write_text(USER_SPEC, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def _use_block(readme: str) -> str:
    return readme.split("```python\n", 1)[1].split("```", 1)[0]


def _made(readme: str):
    """``(command, folder note)`` of the README's last line, or ``None`` for a committed folder."""
    found = re.search(r"^Made by `([^`]+)`(?: \(and `--out DIR`[^)]*\))?(?: in (.+?);)?", readme, re.M)
    return (found.group(1), found.group(2)) if found else None


#: (cwd, arguments of `derive`, folder written, load path, regenerate command)
CASES = [
    ("specs", "my_toy.py", "specs/generated/my_toy", "generated/my_toy", "symbolic-sw derive my_toy.py"),
    ("elsewhere", "../specs/my_toy.py", "specs/generated/my_toy", "generated/my_toy", "symbolic-sw derive my_toy.py"),
    ("specs", "my_toy.py --out out/toy", "specs/out/toy", "out/toy", "symbolic-sw derive my_toy.py --out out/toy"),
    (
        "elsewhere",
        "../specs/my_toy.py --order 2 --out toy",
        "elsewhere/toy",
        "{tmp}/elsewhere/toy",
        "symbolic-sw derive my_toy.py --order 2 --out {tmp}/elsewhere/toy",
    ),
]


@pytest.mark.parametrize(("cwd", "argv", "folder", "loader", "command"), CASES)
def test_user_spec_readme_says_how_it_was_made_and_loads(user, monkeypatch, capsys, cwd, argv, folder, loader, command):
    """A spec given by path: the exact command and the load path, both from the spec's folder."""

    def fill(text):
        return text.replace("{tmp}", user.as_posix())

    monkeypatch.chdir(user / cwd)
    assert main(["derive", *fill(argv).split()]) == 0
    capsys.readouterr()
    written = user / folder
    readme = (written / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("<!-- GENERATED by symbolic-sw from my_toy.py")
    code = _use_block(readme)
    assert f'ssw.load_kernels("{fill(loader)}")' in code
    assert _made(readme) == (fill(command), "the folder of `my_toy.py`")
    assert "certify with `symbolic-sw check my_toy.py`" in readme
    # the Use block loads the folder from the spec's folder, and the command writes it again
    before = {p.name: p.read_bytes() for p in written.iterdir()}
    monkeypatch.chdir(user / "specs")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # our own generated text
    assert namespace["H"].shape == (101, 101, 2, 2)
    for p in written.iterdir():
        p.unlink()
    assert main(shlex.split(made_command(readme))[1:]) == 0
    assert {p.name: p.read_bytes() for p in written.iterdir()} == before


def made_command(readme: str) -> str:
    return _made(readme)[0]


@pytest.mark.parametrize("out", [None, "elsewhere/rashba_toy"])
def test_shipped_spec_at_its_order_is_the_committed_folder(tmp_path, monkeypatch, shared_cache, out):
    """A shipped spec at its own order: the README of `make generated` (it loads by name), wherever written."""
    monkeypatch.setenv(cache.ENV, str(shared_cache))
    monkeypatch.setattr(pipeline, "GENERATED", tmp_path / "generated")
    folder = pipeline.generate("rashba_toy", out=None if out is None else tmp_path / out)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("<!-- GENERATED by make from derivations/rashba_toy.py")
    assert 'ssw.load_kernels("rashba_toy")\n' in _use_block(readme)
    assert "Regenerate with `make generated` or `symbolic-sw derive rashba_toy`" in readme and _made(readme) is None
    committed = (ROOT / "generated" / "rashba_toy" / "README.md").read_text(encoding="utf-8")
    assert readme.rpartition("\n<!-- symbolic-sw manifest")[0] == committed.rpartition("\n<!-- symbolic-sw manifest")[0]


@pytest.mark.parametrize("installed", [False, True])
def test_shipped_spec_at_another_order(tmp_path, monkeypatch, capsys, shared_cache, installed):
    """Checkout: generated/NAME_orderN, by name. Installed (GENERATED in the package): ./generated/NAME_orderN."""
    monkeypatch.setenv(cache.ENV, str(shared_cache))
    generated = Path(pipeline.PACKAGE) / "_data" / "generated" if installed else tmp_path / "repo" / "generated"
    monkeypatch.setattr(pipeline, "GENERATED", generated)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert main(["derive", "rashba_toy", "--order", "2"]) == 0
    folder = (tmp_path / "work" / "generated" if installed else generated) / "rashba_toy_order2"
    assert capsys.readouterr().out.startswith(str(folder))
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("<!-- GENERATED by symbolic-sw from derivations/rashba_toy.py")
    where = "the folder that contains `generated/rashba_toy_order2`" if installed else None
    assert _made(readme) == ("symbolic-sw derive rashba_toy --order 2", where)
    loader = "generated/rashba_toy_order2" if installed else "rashba_toy_order2"
    assert f'ssw.load_kernels("{loader}")' in _use_block(readme)
    assert pipeline.load_kernels(loader).ORDER == 2
    if installed:
        assert not generated.exists()
        with pytest.raises(ModelError, match='load_kernels\\("generated/rashba_toy_order2"\\)'):
            pipeline.load_kernels("rashba_toy_order2")


def test_generate_out_writes_each_folder_there(tmp_path, monkeypatch, capsys, shared_cache):
    monkeypatch.setenv(cache.ENV, str(shared_cache))
    monkeypatch.setattr(pipeline, "GENERATED", tmp_path / "repo")
    assert main(["generate", "rashba_toy", "--out", str(tmp_path / "elsewhere")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "elsewhere" / "rashba_toy")]
    assert (tmp_path / "elsewhere" / "rashba_toy" / "kernels.py").is_file() and not (tmp_path / "repo").exists()


@pytest.mark.parametrize("name", ["generated/nothing_here", "nothing/here"])
def test_a_path_that_is_not_there_is_not_joined_to_generated(tmp_path, monkeypatch, name):
    """``load_kernels("generated/x")`` from the wrong folder names that path, not generated/generated/x."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        pipeline.load_kernels(name)
    assert f"no generated folder {name} (relative to the current folder {tmp_path})" in str(info.value)
    assert "generated/generated" not in str(info.value)


def test_spec_loading_writes_no_bytecode(tmp_path, monkeypatch):
    """A spec is run from the text that was read: no __pycache__ next to it (site-packages stays clean)."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    (tmp_path / "my_toy.py").write_text(USER_SPEC, encoding="utf-8")
    assert load_derivation(str(tmp_path / "my_toy.py")).title.startswith("Eq. (C1)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my_toy.py"]


# -- the wheel, installed into a fresh venv ---------------------------------------------------


def _files(folder: Path) -> dict:
    """Every file under ``folder``: relative path → (size, mtime)."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_file() or p.is_symlink():
            st = p.lstat()
            out[p.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _can_build_offline() -> bool:
    """Whether this interpreter's setuptools builds wheels itself (≥ 70.1, or with the wheel package)."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    version = tuple(int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2])
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _run(argv, **kwargs):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, **kwargs)
    assert r.returncode == 0, f"{argv}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    return r


def test_readme_pip_line_is_what_is_tested():
    """The README's install line is `pip install .` of the clone: what the wheel test builds and installs."""
    first = (ROOT / "README.md").read_text(encoding="utf-8").split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in first.splitlines() if line.startswith("pip ")] == ["pip install ."]


def test_wheel_ships_the_data_and_writes_nothing_into_site_packages(tmp_path):
    name = "samokhin_c4v"
    committed = ROOT / "generated" / name
    repo_before = {d: _files(ROOT / d) for d in ("generated", "derivations")}
    top_before = sorted(n for n in os.listdir(ROOT) if not n.startswith("."))  # hidden: caches of the tools

    # 1. a wheel, built from a copy (a build writes build/ and *.egg-info next to its sources)
    src = tmp_path / "src"
    for item in SOURCES:
        path = ROOT / item
        if path.is_dir():
            shutil.copytree(path, src / item, ignore=JUNK)
        else:
            shutil.copy2(path, src / item)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheels")]
    if _can_build_offline():
        build.append("--no-build-isolation")
    r = subprocess.run([*build, str(src)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0 and re.search(
        r"No matching distribution found for setuptools|Could not fetch|NewConnectionError", r.stderr
    ):
        pytest.skip(
            f"building the wheel needs setuptools from the package index, which cannot be reached: {r.stderr[-300:]}"
        )
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("symbolic_sw-*.whl")

    # 2. a fresh venv; the dependencies from this interpreter's site-packages, after the venv's own
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    installed = _files(target)
    assert any(f.endswith(f"symbolic_sw/_data/derivations/{name}.py") for f in installed)
    assert any(f.endswith(f"symbolic_sw/_data/generated/{name}/kernels.py") for f in installed)

    # 3. as a new user: an empty folder, the cache in the user's cache folder (XDG_CACHE_HOME)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYMBOLIC_SW_", "PYTHON"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "xdg"), MPLCONFIGDIR=str(tmp_path / "mpl"))
    work = tmp_path / "work"
    work.mkdir()
    script = target / ("Scripts/symbolic-sw.exe" if os.name == "nt" else "bin/symbolic-sw")
    listed = _run([str(script), "list"], cwd=work, env=env).stdout
    assert [line.split()[0] for line in listed.splitlines()] == list_derivations()

    _run([str(script), "derive", name, "--out", "out"], cwd=work, env=env)
    # the committed folder, byte for byte: kernels, LaTeX, README and its manifest
    assert sorted(p.name for p in (work / "out").iterdir()) == sorted(p.name for p in committed.iterdir())
    for f in committed.iterdir():
        assert (work / "out" / f.name).read_bytes() == f.read_bytes(), f.name
    assert [p.name.startswith(f"{name}-") for p in (tmp_path / "xdg" / "symbolic-sw").iterdir()] == [True]

    empty = tmp_path / "empty"
    empty.mkdir()
    check = f"""
import json, os, symbolic_sw as ssw
from symbolic_sw.derivation import CHECKOUT, DERIVATIONS, load_derivation
K = ssw.load_kernels({name!r})  # from the shipped data
values = load_derivation({name!r}).values
H = K.H(0.1, 0.2, **{{p: values[p] for p in K.PARAMETERS}})
before = os.listdir(".")
out = ssw.generate({name!r})  # an installed package writes ./generated/NAME (from the cache: fast)
code = open(os.path.join(out, "README.md"), encoding="utf-8").read().split("```python\\n", 1)[1].split("```", 1)[0]
namespace = {{}}
exec(code, namespace)  # the README's Use block, where it says
print(json.dumps({{"package": ssw.__file__, "kernels": K.__file__, "installed": CHECKOUT is None,
                  "derivations": str(DERIVATIONS), "before": before, "out": str(out),
                  "H": repr(H.tolist()), "shape": namespace["H"].shape}}))
"""
    shown = json.loads(_run([str(python), "-c", check], cwd=empty, env=env).stdout)
    assert shown["installed"] and shown["before"] == [] and shown["out"] == str(empty / "generated" / name)
    for key in ("package", "kernels", "derivations"):
        assert Path(shown[key]).is_relative_to(site), (key, shown[key])
    values = load_derivation(name).values
    K = pipeline.load_kernels(name)  # the committed kernels, in this process
    assert shown["H"] == repr(K.H(0.1, 0.2, **{p: values[p] for p in K.PARAMETERS}).tolist())
    assert shown["shape"] == [101, 101, 2, 2]

    # 4. nothing written into the venv (site-packages included) nor into the repository
    assert _files(target) == installed
    assert {d: _files(ROOT / d) for d in ("generated", "derivations")} == repo_before
    assert sorted(n for n in os.listdir(ROOT) if not n.startswith(".")) == top_before
