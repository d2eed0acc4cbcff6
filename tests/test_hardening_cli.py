"""The command line and the spec loader against hostile or careless input (issue 14).

Every case is one line on stderr (``symbolic-sw: error: ...`` naming the problem and
the fix), the documented exit status, and no traceback; in the library, one
``ModelError``. Each table case asserts the exact status and the line's content, and
that it came in under 2 s.
"""

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw import cli
from symbolic_sw.cli import EXIT_BROKEN_PIPE, main
from symbolic_sw.derivation import load_derivation, parameter_values

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 2.0  # per case


def run(capsys, argv):
    """``(exit status, the single stderr line, stdout)``; asserts one line, no traceback, < 2 s."""
    t0 = time.perf_counter()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert elapsed < SECONDS, f"took {elapsed:.2f} s"
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    lines = [line for line in lines if not line.startswith("[")]  # timing lines of real work
    assert len(lines) == 1, err
    return code, lines[0], out


# -- values given on the command line: refused before any work ---------------------------------

VALUE_CASES = [
    (["current", "rashba_toy", "--mu", "nan"], r"--mu nan: the chemical potential must be a finite number"),
    (["current", "rashba_toy", "--mu", "inf"], r"--mu inf: the chemical potential must be a finite number"),
    (["current", "rashba_toy", "--mu=-inf"], r"--mu -inf: the chemical potential must be a finite number"),
    (["current", "rashba_toy", "--mu", "0.2", "--T", "inf"], r"--T inf: the temperature must be a finite number ≥ 0"),
    (["current", "rashba_toy", "--mu", "0.2", "--T", "nan"], r"--T nan: the temperature must be a finite number ≥ 0"),
    (["current", "rashba_toy", "--mu", "0.2", "--T", "-0.5"], r"T = -0.5 < 0; the temperature must be ≥ 0\. Fix:"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "alpha_0=nan"], r"--param alpha_0=nan: .*finite number"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "x=inf"], r"--param x=inf: the value must be a finite"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "alpha_0=-1e999"], r"--param alpha_0=-1e999: .*finite"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "alpha_0"], r"--param takes NAME=NUMBER, got 'alpha_0'"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "=1"], r"--param takes NAME=NUMBER, got '=1'"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "b=1,2"], r"--param takes NAME=NUMBER, got 'b=1,2'"),
    (["plot", "rashba_toy", "current", "--T", "nan"], r"--T nan: the temperature must be a finite number ≥ 0"),
    (["plot", "rashba_toy", "bands", "--param", "b=nan"], r"--param b=nan: the value must be a finite number"),
    (["plot", "rashba_toy", "bands", "--out", "/nonexistent-ssw/x.png"], r"the folder /nonexistent-ssw does not exist"),
    (["derive", "rashba_toy", "--out", "/dev/null"], r"/dev/null exists and is not a folder"),
]


@pytest.mark.parametrize("argv,message", VALUE_CASES, ids=[" ".join(a) for a, _ in VALUE_CASES])
def test_bad_values_are_one_line_and_status_2(capsys, argv, message):
    code, line, out = run(capsys, argv)
    assert code == 2 and out == ""
    assert line.startswith("symbolic-sw: error: ") and "Fix:" in line
    assert pytest.importorskip("re").search(message, line), line


def test_out_pointing_to_a_file_or_below_one(capsys, tmp_path):
    file = tmp_path / "a_file"
    file.write_text("keep me")
    for out, message in ((file, "exists and is not a folder"), (file / "sub", "is not a folder, so")):
        code, line, _ = run(capsys, ["derive", "rashba_toy", "--out", str(out)])
        assert code == 2 and line.startswith("symbolic-sw: error: cannot write the generated files there")
        assert message in line
    assert file.read_text() == "keep me"
    code, line, _ = run(capsys, ["plot", "rashba_toy", "bands", "--out", str(tmp_path)])
    assert code == 2 and line == f"symbolic-sw: error: --out {tmp_path} is a folder. Fix: give a file name, e.g. " + (
        f"--out {tmp_path / 'figure.png'}."
    )


# -- parameter values checked against the derivation (needs its derived parameters) ------------

PARAM_CASES = [
    (["current", "samokhin_c4v", "--mu", "0.2", "--param", "hbar=0"], "hbar = 0, but hbar is positive. Fix:"),
    (["current", "rashba_toy", "--mu", "0.2", "--param", "m=-1"], "m = -1, but m is positive. Fix:"),
    (["current", "samokhin_c4v", "--mu", "0.2", "--param", "bb=1"], "unknown parameter(s) bb (did you mean b for bb?)"),
    (["current", "samokhin_c4v", "--mu", "0.2", "--param", "q=1"], "unknown parameter(s) q; samokhin_c4v has hbar,"),
    (["current", "samokhin_c4v", "--mu", "0.2", "--param", "b=1"], "singular"),  # b = ε2 − ε1: a pole
    (["current", "samokhin_c4v", "--mu", "0.2", "--param", "b=-1"], "singular"),
    (["plot", "samokhin_c4v", "bands", "--param", "q=1"], "unknown parameter(s) q; samokhin_c4v has hbar,"),
    (["plot", "samokhin_c4v", "current", "--param", "hbar=0"], "hbar = 0, but hbar is positive"),
]


@pytest.fixture(scope="module")
def derived():
    """Derive the two specs once, untimed: a cold cache costs ~3 s, which is not what the cases time."""
    from symbolic_sw.pipeline import build

    for name in ("samokhin_c4v", "rashba_toy"):
        build(name)


@pytest.mark.usefixtures("derived")
@pytest.mark.parametrize("argv,fragment", PARAM_CASES, ids=[" ".join(a) for a, _ in PARAM_CASES])
def test_bad_parameters_are_one_line_and_status_2(capsys, tmp_path, argv, fragment):
    if argv[0] == "plot":
        pytest.importorskip("matplotlib", reason="the plot extra (make installs it)")
        argv = [*argv, "--out", str(tmp_path / "f.png")]
    code, line, out = run(capsys, argv)
    assert code == 2 and out == "" and line.startswith("symbolic-sw: error: ") and fragment in line
    assert not (tmp_path / "f.png").exists()


def test_missing_matplotlib_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    code, line, _ = run(capsys, ["plot", "samokhin_c4v", "bands", "--out", str(tmp_path / "f.png")])
    assert code == 2 and line.startswith("symbolic-sw: error: plotting needs matplotlib, which cannot be imported")
    assert line.endswith("Fix: pip install 'symbolic-sw[plot]' (or pip install matplotlib).")


# -- what goes wrong inside a command ---------------------------------------------------------------


def _raiser(exc):
    def command(_args):
        raise exc

    return command


FAILURE_CASES = [
    (
        ZeroDivisionError("division by zero"),
        1,
        "symbolic-sw: error: unexpected ZeroDivisionError: division by zero — this is a bug, please report it "
        "with the command line (SYMBOLIC_SW_DEBUG=1 shows the traceback).",
    ),
    (
        RuntimeError("two\nlines"),
        1,
        "symbolic-sw: error: unexpected RuntimeError: two lines — this is a bug, please report it with the "
        "command line (SYMBOLIC_SW_DEBUG=1 shows the traceback).",
    ),
    (
        OSError(errno.ENOSPC, "No space left on device", "/data/out/kernels.py"),
        1,
        "symbolic-sw: error: No space left on device (/data/out/kernels.py) [OSError]. Fix: check the path, "
        "the permissions and the free space.",
    ),
    (
        PermissionError(errno.EACCES, "Permission denied", "/root/x"),
        1,
        "symbolic-sw: error: Permission denied (/root/x) [PermissionError]. Fix: check the path, the "
        "permissions and the free space.",
    ),
    (ssw.ModelError("a model error\nover two lines."), 2, "symbolic-sw: error: a model error over two lines."),
    (KeyboardInterrupt(), 130, "symbolic-sw: interrupted"),
]


@pytest.mark.parametrize("exc,code,line", FAILURE_CASES, ids=[type(e).__name__ for e, _, _ in FAILURE_CASES])
def test_failures_inside_a_command(capsys, monkeypatch, exc, code, line):
    monkeypatch.delenv("SYMBOLIC_SW_DEBUG", raising=False)
    monkeypatch.setattr(cli, "_cmd_list", _raiser(exc))
    assert run(capsys, ["list"])[:2] == (code, line)


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("SYMBOLIC_SW_DEBUG", "1")
    monkeypatch.setattr(cli, "_cmd_list", _raiser(ZeroDivisionError("division by zero")))
    with pytest.raises(ZeroDivisionError):
        main(["list"])


class _ClosedPipe:
    """A stdout whose reader went away."""

    def write(self, _text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


@pytest.mark.usefixtures("derived")
@pytest.mark.parametrize("argv", [["list"], ["show", "samokhin_c4v", "J_x_y"], ["latex", "rashba_toy"]])
def test_closed_stdout_stops_quietly_with_141(capsys, monkeypatch, argv):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    t0 = time.perf_counter()
    code = main(argv)
    assert time.perf_counter() - t0 < SECONDS
    assert code == EXIT_BROKEN_PIPE == 141
    assert [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")] == []


def test_closed_stdout_in_a_real_process():
    """``symbolic-sw list | head -0``: status 141, nothing on stderr (not even at interpreter exit).

    Bounded by 20 s, not 2 s: starting Python and importing SymPy alone takes 1–1.5 s here.
    """
    p = subprocess.Popen(
        [sys.executable, "-m", "symbolic_sw", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    p.stdout.close()  # the reader goes away before the command writes anything
    _, err = p.communicate(timeout=20)
    assert p.returncode == 141 and err == b""


# -- specs: a table of files, each with the exact error --------------------------------------------

OK_HEADER = 'MODEL = "samokhin_c4v"\nORDER = 2\n'
STRING_HEADER = 'HAMILTONIAN = "k_x**2*sigma_0 + b*sigma_z"\nBLOCKS = [2]\nORDER = 1\n'

SPEC_CASES = [
    # the spec itself fails: the exception's type and message; SystemExit reported, not obeyed
    ('raise RuntimeError("boom")\n', r"the spec fails to load: RuntimeError: boom\. Fix: correct the file\."),
    ("import sys\nsys.exit(3)\n", r"the spec fails to load: it called sys\.exit\(3\) \(SystemExit\)"),
    ("raise SystemExit\n", r"it called sys\.exit\(None\) \(SystemExit\)"),
    ('exit("bye")\n', r"it called sys\.exit\('bye'\) \(SystemExit\)"),
    ("1/0\n", r"ZeroDivisionError: division by zero"),
    ("ORDER = \n", r"SyntaxError: invalid syntax"),
    ("import no_such_module_ssw\n", r"ModuleNotFoundError: No module named 'no_such_module_ssw'"),
    # MODEL_OPTIONS: checked against the factory's signature at load time
    (
        OK_HEADER + 'MODEL_OPTIONS = {"intrinsic_sco": True}\n',
        r"MODEL_OPTIONS: unknown option\(s\) intrinsic_sco \(did you mean intrinsic_soc for intrinsic_sco\?\) "
        r"for samokhin_c4v; it accepts intrinsic_soc, variant\.",
    ),
    ('MODEL = "rashba_toy"\nORDER = 1\nMODEL_OPTIONS = {"spin": False}\n', r"for rashba_toy; it accepts no options"),
    (
        STRING_HEADER + 'MODEL_OPTIONS = {"spinn": False}\n',
        r"unknown option\(s\) spinn \(did you mean spin for spinn\?\) for Model\.from_string; it accepts "
        r"commutators, equation, family, gaps, hbar, momenta, perturbation, perturbative, spin, time_reversal\.",
    ),
    (STRING_HEADER + 'MODEL_OPTIONS = {"symbols": ["x"]}\n', r"SYMBOLS and BASIS are fields of their own"),
    (OK_HEADER + 'MODEL_OPTIONS = [("variant", "g4g5")]\n', r"MODEL_OPTIONS must be a dict of keyword arguments"),
    (OK_HEADER + "MODEL_OPTIONS = {1: 2}\n", r"MODEL_OPTIONS must be a dict of keyword arguments"),
    ('MODEL = "models.py:toy"\nORDER = 1\nMODEL_OPTIONS = {"gap": 1}\n', r"for models\.py:toy; it accepts Delta\."),
    # field types: the field and the expected type named
    ('HAMILTONIAN = "sigma_z"\nBLOCKS = "2"\nORDER = 1\n', r"BLOCKS must be a non-empty list of block sizes"),
    ('HAMILTONIAN = "sigma_z"\nBLOCKS = [2.0]\nORDER = 1\n', r"BLOCKS must be .*integers ≥ 1\), got \[2\.0\]"),
    ('HAMILTONIAN = "sigma_z"\nBLOCKS = [True, 1]\nORDER = 1\n', r"BLOCKS must be .* got \[True, 1\]"),
    ('HAMILTONIAN = "sigma_z"\nBLOCKS = []\nORDER = 1\n', r"BLOCKS must be a non-empty list"),
    ('HAMILTONIAN = "sigma_z"\nBLOCKS = [0, 2]\nORDER = 1\n', r"BLOCKS must be .* got \[0, 2\]"),
    (OK_HEADER + 'VALUES = [("hbar", 1.0)]\n', r"VALUES must be a dict of parameter name → real number, got list"),
    (OK_HEADER + 'VALUES = {"hbar": "1.0"}\n', r"VALUES\['hbar'\] must be a finite real number, got '1\.0'"),
    (OK_HEADER + "VALUES = {\"b\": \"__import__('os').system('x')\"}\n", r"VALUES\['b'\] must be a finite real"),
    (OK_HEADER + 'VALUES = {"hbar": float("nan")}\n', r"VALUES\['hbar'\] must be a finite real number, got nan"),
    (OK_HEADER + 'VALUES = {"hbar": 1j}\n', r"VALUES\['hbar'\] must be a finite real number, got 1j"),
    (OK_HEADER + 'VALUES = {"hbar": True}\n', r"VALUES\['hbar'\] must be a finite real number, got True"),
    (OK_HEADER + "VALUES = {1: 1.0}\n", r"VALUES keys must be parameter names \(strings\), got 1"),
    (OK_HEADER + 'SCALE = "a_tilde"\n', r"SCALE must be a list of strings \(parameters sent to zero"),
    (OK_HEADER + "from symbolic_sw.symbols import b\nSCALE = [b]\n", r"SCALE must be a list of strings"),
    (STRING_HEADER.replace("ORDER", 'SYMBOLS = "x y"\nORDER'), r"SYMBOLS must be a list of strings or SymPy symbols"),
    (STRING_HEADER.replace("ORDER", "SYMBOLS = [1]\nORDER"), r"SYMBOLS must be a list of strings or SymPy symbols"),
    (STRING_HEADER.replace("ORDER", 'BASIS = "ab"\nORDER'), r"BASIS must be a list of strings \(labels"),
    (OK_HEADER + 'EQUATIONS = "33"\n', r"EQUATIONS must be a list of equation numbers"),
    (OK_HEADER + "EQUATIONS = [3.3]\n", r"EQUATIONS must be a list of equation numbers"),
    (OK_HEADER + 'OBSERVABLES = "yes"\n', r"OBSERVABLES must be True or False, got 'yes'"),
    (OK_HEADER + 'OPERATORS = "HST"\n', r"OPERATORS must be a list of kinds among"),
    (OK_HEADER + 'LEADING_ORDER = {"small": "b"}\n', r"LEADING_ORDER must be a dict with a SymPy symbol under 'small'"),
    (
        OK_HEADER + 'from symbolic_sw.symbols import b\nLEADING_ORDER = {"small": b, "ordre": 1}\n',
        r"LEADING_ORDER must be .* \(unknown key\(s\) ordre\)",
    ),
    (
        OK_HEADER + 'from symbolic_sw.symbols import b\nLEADING_ORDER = {"small": b, "order": 0}\n',
        r"LEADING_ORDER\['order'\] must be an integer ≥ 1, got 0",
    ),
    (
        OK_HEADER + 'from symbolic_sw.symbols import b\nLEADING_ORDER = {"small": b, "substitutions": [1]}\n',
        r"LEADING_ORDER\['substitutions'\] must be a dict SymPy symbol → SymPy expression",
    ),
    (OK_HEADER + 'PERTURBATIVE = ["gamma_1"]\n', r"PERTURBATIVE must be a dict \{name or tuple of names: degree\}"),
    (OK_HEADER + 'PERTURBATIVE = {"gamma_1": 1.5}\n', r"PERTURBATIVE degree for 'gamma_1' must be an integer ≥ 0"),
    (OK_HEADER + "PERTURBATIVE = {1: 1}\n", r"PERTURBATIVE keys must be names or tuples of names"),
    ('MODEL = "samokhin_c4v"\nORDER = True\n', r"ORDER must be an integer ≥ 1, got True"),
]

TOY_MODELS = """
import symbolic_sw as ssw

def toy(Delta=1):
    return ssw.models.rashba_toy()

def quits():
    raise SystemExit(1)
"""


def _write_spec(folder, text, stem="spec"):
    (folder / "models.py").write_text(TOY_MODELS)
    path = folder / f"{stem}.py"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,match", SPEC_CASES, ids=[f"spec{i}" for i in range(len(SPEC_CASES))])
def test_bad_spec_is_one_model_error(tmp_path, text, match):
    path = _write_spec(tmp_path, text)
    t0 = time.perf_counter()
    with pytest.raises(ssw.ModelError, match=match) as info:
        load_derivation(str(path))
    assert time.perf_counter() - t0 < SECONDS
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text,match", SPEC_CASES[:3], ids=["raises", "sys.exit", "SystemExit"])
def test_bad_spec_through_the_command_line(capsys, tmp_path, text, match):
    code, line, _ = run(capsys, ["derive", str(_write_spec(tmp_path, text)), "--out", str(tmp_path / "out")])
    assert code == 2 and line.startswith("symbolic-sw: error: derivation ")
    assert pytest.importorskip("re").search(match, line)
    assert not (tmp_path / "out").exists()


def test_keyboard_interrupt_in_a_spec_still_interrupts(capsys, tmp_path):
    path = _write_spec(tmp_path, "raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        load_derivation(str(path))
    assert run(capsys, ["derive", str(path)])[:2] == (130, "symbolic-sw: interrupted")


MODEL_TIME_CASES = [
    # the factory fails when the model is built (not at load): still one ModelError
    (
        'MODEL = "models.py:quits"\nORDER = 1\n',
        r"building the model with models\.py:quits\(\.\.\.\) failed: it called ",
    ),
    (
        STRING_HEADER + 'MODEL_OPTIONS = {"momenta": 5}\n',
        r"building the model with Model\.from_string\(\.\.\.\) failed: TypeError: 'int' object is not iterable",
    ),
    (OK_HEADER + 'MODEL_OPTIONS = {"variant": "g9"}\n', r"variant"),
]


@pytest.mark.parametrize("text,match", MODEL_TIME_CASES, ids=["SystemExit", "TypeError", "bad value"])
def test_model_factory_failures_are_model_errors(tmp_path, text, match):
    derivation = load_derivation(str(_write_spec(tmp_path, text)))
    with pytest.raises(ssw.ModelError, match=match):
        derivation.model()


#: spec file stems: the stem names the derivation, its folder and its generated code
BAD_STEMS = [
    ('i";__import__("os").mknod("X");"', "i_import_os_mknod_X.py"),
    ("my-model", "my_model.py"),
    ("1st", "spec_1st.py"),
    ("class", "spec_class.py"),
    ("ｍodel", "model.py"),
    ("naïve", "naive.py"),
    ("two words", "two_words.py"),
    ("x\ny", "x_y.py"),
]


@pytest.mark.parametrize("stem,better", BAD_STEMS, ids=[repr(s) for s, _ in BAD_STEMS])
def test_spec_names_must_be_identifiers(tmp_path, monkeypatch, stem, better):
    monkeypatch.chdir(tmp_path)
    path = _write_spec(tmp_path, 'open("RAN", "w")\nMODEL = "rashba_toy"\nORDER = 1\n', stem=stem)
    with pytest.raises(ssw.ModelError) as info:
        load_derivation(str(path))
    message = str(info.value)
    assert f"the spec file name {path.name!r} cannot name a derivation" in message
    assert message.endswith(f"Fix: rename the file, e.g. to {better}.")
    assert not (tmp_path / "RAN").exists() and not (tmp_path / "X").exists()  # refused before it runs


def test_spec_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b'"""Caf\xe9."""\nMODEL = "rashba_toy"\nORDER = 1\n')
    with pytest.raises(ssw.ModelError, match=r"the spec .*latin\.py is not UTF-8 text .*Fix: save it as UTF-8"):
        load_derivation(str(path))


# -- parameter_values, the library side of --param ---------------------------------------------

hbar, m = sympy.symbols("hbar m", positive=True)
b = sympy.Symbol("b", real=True)

VALUE_TABLE = [
    ({"hbar": 2.0}, {"hbar": 2.0, "m": 1.0, "b": 0.1}),
    ({"b": -3}, {"hbar": 1.0, "m": 1.0, "b": -3.0}),
    ({"hbar": 0.0}, r"hbar = 0, but hbar is positive"),
    ({"m": -1e-300}, r"m = -1e-300, but m is positive"),
    ({"b": float("nan")}, r"b = nan is not a finite real number"),
    ({"b": "0.1"}, r"b = '0\.1' is not a finite real number"),
    ({"c": 1.0}, r"unknown parameter\(s\) c \(did you mean b for c\?\)|unknown parameter\(s\) c;"),
]


@pytest.mark.parametrize("given,expected", VALUE_TABLE, ids=[str(g) for g, _ in VALUE_TABLE])
def test_parameter_values(given, expected):
    derivation = load_derivation("rashba_toy")
    derivation.values = {"hbar": 1.0, "m": 1.0, "b": 0.1}
    if isinstance(expected, dict):
        assert parameter_values(derivation, [hbar, m, b], given) == expected
    else:
        with pytest.raises(ssw.ModelError, match=expected):
            parameter_values(derivation, [hbar, m, b], given)


def test_exit_statuses_are_documented():
    for status in ("0 —", "1 —", "2 —", "130 —", "141 —"):
        assert status in cli.__doc__
    assert os.EX_OK == 0
