"""Issue 15: any order from the CLI, progress on long work, parameters and their defaults.

* ``show``/``latex``/``derive`` at orders 4 and 6 of samokhin_c4v succeed; the equilibrium
  current, whose unexpanded closed form does not exist there (H_eff has k⁴ terms), is
  reported unavailable in one line and everything else is written;
* ``show`` and ``latex`` never build what they do not print (no kernels, no observables);
* progress lines (order, operator, elapsed) on stderr with ``progress=True`` / ``--progress``,
  none by default or with ``--quiet``;
* string keys with did-you-mean for ``eff.evaluate`` and ``effective_numeric``;
* ``current``/``plot current`` default to couplings ≪ gap, where the closed form is within a
  few % of the exact 6×6 current (independent: the microscopic Kubo-free Eq. 14 integral),
  print the parameters on every plot, and warn when the couplings are large.
"""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest

import symbolic_sw as ssw
from symbolic_sw.cli import main
from symbolic_sw.pipeline import files as pipeline_files

SKIP_LINE = "equilibrium current: no closed form at order {order}"
WRITTEN = {"kernels.py", "kernels_mpmath.py", "operators.tex", "README.md"}


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _forbid(monkeypatch, *names):
    """Make the named builders of pipeline.files fail loudly: the command must not call them."""

    def refuse(*_a, **_k):
        raise AssertionError("built something the command does not print")

    for name in names:
        monkeypatch.setattr(pipeline_files, name, refuse)


# -- any order ---------------------------------------------------------------------


def _check_order(capsys, monkeypatch, tmp_path, order):
    timings = {}
    with monkeypatch.context() as m:
        _forbid(m, "observables_context", "observables_skipped", "kernel_functions")
        t0 = time.perf_counter()
        code, out, err = _run(capsys, "show", "samokhin_c4v", "H", "--order", str(order))
        timings["show"] = time.perf_counter() - t0
        assert code == 0, err
        assert f"H (samokhin_c4v, order {order}) =" in out and "σ_0 ×" in out and "σ_x ×" in out
        assert "error" not in err
        t0 = time.perf_counter()
        code, out, err = _run(capsys, "latex", "samokhin_c4v", "--order", str(order))
        timings["latex"] = time.perf_counter() - t0
        assert code == 0, err
        assert out.count(r"\begin{") >= 19 and "error" not in err

    t0 = time.perf_counter()
    code, out, err = _run(capsys, "derive", "samokhin_c4v", "--order", str(order), "--out", str(tmp_path / "o"))
    timings["derive"] = time.perf_counter() - t0
    assert code == 0, err
    assert {p.name for p in (tmp_path / "o").iterdir()} == WRITTEN  # everything but observables.py
    skipped = [line for line in err.splitlines() if SKIP_LINE.format(order=order) in line]
    assert len(skipped) == 1 and "observables.py skipped" in skipped[0] and len(skipped[0]) < 400, err
    assert "error" not in err
    return timings


def _kernels_match_the_numeric_engine(folder, order):
    """The written kernels against the floating-point recursion (an independent engine) at one point."""
    K = ssw.load_kernels(str(folder))
    model = ssw.models.samokhin_c4v()
    values = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
    kx, ky = 0.3, -0.2
    H_num, _ = ssw.effective_numeric(model, order, {**values, "k_x": kx, "k_y": ky})
    assert np.allclose(K.H(kx, ky, **values), H_num, rtol=1e-10, atol=1e-12)


def test_order_4_show_latex_derive(capsys, monkeypatch, tmp_path):
    _check_order(capsys, monkeypatch, tmp_path, 4)
    _kernels_match_the_numeric_engine(tmp_path / "o", 4)


@pytest.mark.slow
def test_order_6_show_latex_derive(capsys, monkeypatch, tmp_path):
    """Before: 24 min, then a failure writing nothing. Measured here: ~45 s on a shared 2-core machine."""
    timings = _check_order(capsys, monkeypatch, tmp_path, 6)
    _kernels_match_the_numeric_engine(tmp_path / "o", 6)
    with capsys.disabled():
        print("\norder 6: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))


def test_the_skip_is_decided_fast_and_only_where_it_must():
    """Order 4: unavailable in well under a second; the shipped orders with OBSERVABLES keep their file."""
    derived = ssw.pipeline.derive("samokhin_c4v", order=4)
    t0 = time.perf_counter()
    reason = pipeline_files.observables_skipped(derived)
    assert time.perf_counter() - t0 < 2.0
    assert "c·k²" in reason and "degree 4 in k" in reason
    assert pipeline_files.observables_skipped(ssw.pipeline.derive("samokhin_c4v")) is None
    assert pipeline_files.observables_skipped(ssw.pipeline.derive("rashba_toy")) is None


def test_show_an_unknown_operator_is_refused_before_any_work(capsys):
    code, _, err = _run(capsys, "show", "samokhin_c4v", "J_q", "--order", "4")
    assert code == 2 and "no operator 'J_q'" in err and "available: H, S_x" in err and len(err.splitlines()) == 1


# -- progress ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "expect"),
    [(True, True), (False, False), (None, False)],
)
def test_effective_progress_lines_on_stderr(capsys, progress, expect):
    model = ssw.models.samokhin_c4v()
    kwargs = {} if progress is None else {"progress": progress}
    eff = ssw.effective(model, 3, **kwargs)
    eff.operator("J_x_y")
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    if expect:
        assert any(re.match(r"\[symbolic-sw +\d+\.\d s\] samokhin_c4v: series order 3/3", x) for x in lines)
        assert any(line.endswith("operator J_x_y") for line in lines)
    else:
        assert err == ""


@pytest.mark.parametrize("progress", ["yes", 1, 0.5])
def test_effective_progress_of_another_type_is_one_model_error(progress):
    with pytest.raises(ssw.ModelError, match=r"progress must be True, False or a callable"):
        ssw.effective(ssw.models.rashba_toy(), 2, progress=progress)


def test_effective_progress_to_a_callable():
    heard = []
    ssw.effective(ssw.models.samokhin_c4v(), 2, progress=heard.append).operator("S_z")
    assert [h.split(" (")[0] for h in heard] == ["series order 1/2", "series order 2/2", "operator S_z"]


@pytest.mark.parametrize(
    ("flags", "progress_lines", "timing_lines"),
    [(["--progress"], True, True), ([], False, True), (["--quiet"], False, False)],
)
def test_cli_progress_flags(capsys, monkeypatch, flags, progress_lines, timing_lines):
    # as without a cache entry: the derivation runs (a cache hit has nothing to report)
    monkeypatch.setattr(pipeline_files, "_cached", lambda *_a: (None, None, None, None))
    code, _, err = _run(capsys, "show", "samokhin_c4v", "H", "--order", "2", *flags)
    assert code == 0
    assert ("series order 2/2" in err) == progress_lines
    assert ("operators at order 2" in err) == timing_lines
    assert bool(err) == timing_lines  # --quiet: nothing at all


def test_progress_and_quiet_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["show", "rashba_toy", "H", "--progress", "--quiet"])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err


# -- parameters --------------------------------------------------------------------

P = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
K = {"k_x": 0.3, "k_y": -0.2}


def test_evaluate_takes_string_keys():
    model = ssw.models.samokhin_c4v()
    eff = ssw.effective(model, 2)
    by_name = eff.evaluate("H", {**P, **K})
    by_symbol = eff.evaluate("H", {s: {**P, **K}[str(s)] for s in (*model.parameters, *model.momenta, model.hbar)})
    assert np.array_equal(by_name, by_symbol)
    H_num, _ = ssw.effective_numeric(model, 2, {**P, **K})
    assert np.allclose(by_name, H_num, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda m, v: ssw.effective(m, 2).evaluate("H", v), "evaluate()"),
        (lambda m, v: ssw.effective_numeric(m, 2, v), "effective_numeric()"),
    ],
)
@pytest.mark.parametrize(("typo", "meant"), [("a_tlde", "a_tilde"), ("epsilon1", "epsilon_1")])
def test_unknown_names_say_did_you_mean(call, what, typo, meant):
    values = {**P, **K}
    values[typo] = values.pop(meant)
    with pytest.raises(
        ssw.ModelError, match=rf"{re.escape(what)}: unknown symbol\(s\) {typo} \(did you mean {meant}\?\)"
    ):
        call(ssw.models.samokhin_c4v(), values)


def test_evaluate_refuses_a_string_value():
    with pytest.raises(ssw.ModelError, match="b"):
        ssw.effective(ssw.models.samokhin_c4v(), 2).evaluate("H", {**P, **K, "b": "0.1"})


@pytest.mark.slow
def test_current_defaults_are_perturbative_and_close_to_exact(capsys):
    """The default couplings sit at 0.02 × the gap: closed form / exact 6×6 within 3 % at μ = 0.2."""
    code, out, err = _run(capsys, "current", "samokhin_c4v", "--mu", "0.2")
    assert code == 0 and "warning" not in err
    assert "a_tilde=0.018, b_tilde=0.012, b=0.1" in out
    ratios = [float(x) for x in re.findall(r"ratio to exact:\s+([\d.]+)", out)]
    assert abs(ratios[0] - 1) < 0.03 and ratios[2] == 1.0


def test_closed_form_at_the_defaults_against_the_exact_current():
    """Independently of the CLI: generated closed form against the microscopic current (Eq. 14)."""
    from symbolic_sw.observables import microscopic_spin_current
    from symbolic_sw.pipeline.files import build_operators
    from symbolic_sw.pipeline.observables import perturbative_values

    derived = build_operators("samokhin_c4v", names=["H"])  # the parameters and couplings, cheaply
    values = perturbative_values(derived)
    assert max(values["a_tilde"], values["b_tilde"]) <= 0.02 * 0.9 + 1e-12  # gap = ε2 − ε1 − b
    O = ssw.load_kernels("samokhin_c4v", kind="observables")
    exact = microscopic_spin_current(ssw.models.samokhin_c4v(), 0.2, 0.0, "x", "y", values).value
    assert abs(O.J_s(0.2, 0.0, **values) / exact - 1) < 0.03
    # the spec's VALUES: the regime the issue reported (0.25 × exact)
    exact = microscopic_spin_current(ssw.models.samokhin_c4v(), 0.2, 0.0, "x", "y", P).value
    assert abs(O.J_s(0.2, 0.0, **P) / exact - 0.25) < 0.01


def test_large_couplings_warn_in_one_line(capsys):
    code, _, err = _run(
        capsys, "current", "samokhin_c4v", "--mu", "0.2", "--param", "a_tilde=0.3", "--param", "b_tilde=0.2"
    )
    assert code == 0
    warned = [line for line in err.splitlines() if line.startswith("symbolic-sw: warning:")]
    assert len(warned) == 1 and "large compared with the gap" in warned[0] and "a_tilde=0.3" in warned[0]


@pytest.mark.slow
def test_plots_print_their_parameters_and_warn(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from symbolic_sw import plot

    captions = []
    monkeypatch.setattr(Figure, "savefig", lambda fig, *_a, **_k: captions.append([t.get_text() for t in fig.texts]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", plot.LargeCouplingWarning)
        plot.plot_current("samokhin_c4v", str(tmp_path / "c.png"), mus=[0.2])
        plot.plot_bands("samokhin_c4v", str(tmp_path / "b.png"))
    assert "a_tilde = 0.018" in captions[0][0] and "T = 0" in captions[0][0]
    assert "a_tilde = 0.3" in captions[1][0]  # bands: the spec's values, printed too
    with pytest.warns(plot.LargeCouplingWarning, match="large compared with the gap"):
        plot.plot_current("samokhin_c4v", str(tmp_path / "c.png"), {"a_tilde": 0.3}, mus=[0.2])
