"""The ``symbolic-sw`` command: every subcommand runs; user mistakes give one line and exit ≠ 0."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from symbolic_sw.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in (
        "samokhin_c4v",
        "samokhin_c4v_order4",
        "samokhin_c4v_lo",
        "samokhin_a19",
        "samokhin_g4g5",
        "rashba_toy",
        "isolated_gamma5",
    ):
        assert re.search(rf"^{name}\s+order \d", out, re.M)


def test_derive_writes_folder(capsys, tmp_path):
    code, out, _err = run(capsys, "derive", "rashba_toy", "--out", str(tmp_path / "toy"))
    assert code == 0 and str(tmp_path / "toy") in out
    assert sorted(p.name for p in (tmp_path / "toy").iterdir()) == [
        "README.md",
        "kernels.py",
        "kernels_mpmath.py",
        "observables.py",
        "operators.tex",
    ]


def test_derive_order_override(capsys, tmp_path):
    code, _, _ = run(capsys, "derive", "samokhin_g4g5", "--order", "1", "--out", str(tmp_path / "g"))
    assert code == 0
    assert "ORDER = 1" in (tmp_path / "g" / "kernels.py").read_text()


def test_generate_named(capsys, tmp_path, monkeypatch):
    import symbolic_sw.pipeline.files as pipeline

    monkeypatch.setattr(pipeline, "GENERATED", tmp_path)
    code, _out, _ = run(capsys, "generate", "isolated_gamma5")
    assert code == 0 and (tmp_path / "isolated_gamma5" / "kernels.py").is_file()


def test_latex(capsys):
    code, out, _ = run(capsys, "latex", "samokhin_c4v")
    assert code == 0 and r"\begin{align}" in out and r"\tilde{b}" in out


def test_show(capsys):
    code, out, _ = run(capsys, "show", "samokhin_c4v", "J_x_y")
    assert code == 0 and out.startswith("J_x_y (samokhin_c4v, order 2) =") and "b_tilde" in out
    assert "σ_0 ×" in out and "σ_x ×" in out and "E_g - b" in out


def test_check_prints_exponents(capsys):
    code, out, _ = run(capsys, "check", "samokhin_c4v")
    assert code == 0 and "PASSED" in out
    exponents = [float(x) for x in re.findall(r"^\w+\s.*\s(\d\.\d\d) ok$", out, re.M)]
    assert len(exponents) == 19 and min(exponents) > 3.8


@pytest.mark.parametrize(
    "argv,message",
    [
        (["derive", "no_such"], "no derivation 'no_such'"),
        (["derive", "samokhin_c4v", "--order", "0", "--out", "/tmp/ssw-never"], "order must be ≥ 1"),
        (["derive", "samokhin_c4v", "--order", "two"], "invalid int value"),
        (["show", "samokhin_c4v", "J_q"], "no operator 'J_q'"),
        (["check", "no_such"], "no derivation"),
        (["frobnicate"], "invalid choice"),
        (["show", "samokhin_c4v"], "required"),
    ],
)
def test_user_mistakes_are_one_line(capsys, argv, message):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors exit from inside parse_args
        code = exc.code
    assert code == 2
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("symbolic-sw")


def test_console_entry_and_help():
    for argv in ([], ["--help"], ["derive", "--help"], ["check", "--help"]):
        r = subprocess.run([sys.executable, "-m", "symbolic_sw", *argv], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0 and "usage: symbolic-sw" in r.stdout
    r = subprocess.run([sys.executable, "-m", "symbolic_sw", "derive", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_plot_writes_pngs(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra (make installs it)")
    for what in ("bands", "current"):
        out = tmp_path / f"{what}.png"
        assert main(["plot", "samokhin_c4v", what, "--out", str(out), "--param", "a_tilde=0.1"]) == 0
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    try:
        code = main(["plot", "samokhin_c4v", "spectrum"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and "invalid choice" in capsys.readouterr().err
    assert main(["plot", "samokhin_a19", "current"]) == 2
