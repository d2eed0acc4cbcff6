"""Parameter sweeps on Dask (issue 17): a real LocalCluster gives exactly the in-process numbers.

The cluster tests share one module-scoped ``LocalCluster`` of 2 worker processes
(1 thread each). References are independent of the sweep machinery: the
generated ``observables.py`` (mpmath, point by point) for J_s, direct calls of
``spin_hall_conductivity`` for σ, and the same points evaluated in this process
for the bitwise comparisons. Timings are printed (``pytest -s``), never asserted.
"""

import math
import os
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import symbolic_sw as ssw
from symbolic_sw.cli import main
from symbolic_sw.errors import ModelError
from symbolic_sw.observables import spin_hall_conductivity
from symbolic_sw.pipeline.sweep import QUANTITIES, _fermi_polylog, evaluate_points, sweep

distributed = pytest.importorskip("distributed")
xarray = pytest.importorskip("xarray")

C4V = {"hbar": 1.0, "m": 1.0, "epsilon_1": 0.0, "epsilon_2": 1.0, "a_tilde": 0.3, "b_tilde": 0.2, "b": 0.1}
J_S_PLAN = ("J_s", "samokhin_c4v", (("current", "y"), ("definition", "full"), ("spin", "x")))
README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def in_process(da, plan):
    """The same points evaluated here, in one call (the reference of the bitwise comparisons)."""
    axes = {k: da[k].values for k in da.dims}
    fixed = {k: v for k, v in da.attrs.items() if k in ("mu", "T", *C4V)}
    return evaluate_points(plan, fixed, axes, 0, da.size).reshape(da.shape)


# ----------------------------------------------------------------------------- the cluster


def test_cluster_equals_serial(client):
    grid = {"mu": np.linspace(0.0, 0.3, 7), "b_tilde": [0.05, 0.1, 0.2]}
    t0 = time.perf_counter()
    da = sweep("J_s", "samokhin_c4v", grid, fixed={"b": 0.1}, client=client, chunk=5)
    print(f"\nJ_s, {da.size} points on 2 cold workers: {time.perf_counter() - t0:.2f} s")
    assert da.dims == ("mu", "b_tilde") and da.shape == (7, 3)
    assert np.array_equal(da["b_tilde"].values, grid["b_tilde"])
    assert da.attrs["model"] == "samokhin_c4v" and da.attrs["order"] == 2 and da.attrs["b"] == 0.1
    assert da.attrs["T"] == 0.0 and da.attrs["quantity"] == "J_s" and da.attrs["method"] == "closed_form"
    assert np.array_equal(da.values, in_process(da, J_S_PLAN))  # bitwise


def test_closed_form_equals_generated_observables():
    """In-process (the same tasks as on a cluster), T = 0 and T > 0 mixed; reference: mpmath point by point."""
    grid = {"mu": np.linspace(0.0, 0.3, 4), "T": [0.0, 0.002, 0.03], "b_tilde": [0.05, 0.2]}
    da = sweep("J_s", "samokhin_c4v", grid, fixed={"b": 0.1}, client="synchronous", chunk=5)
    assert da.dims == ("mu", "T", "b_tilde") and np.array_equal(da.values, in_process(da, J_S_PLAN))
    generated = ssw.load_kernels("samokhin_c4v", kind="observables")
    for i, j, k in np.ndindex(da.shape):
        mu, T, bt = float(da.mu[i]), float(da["T"][j]), float(da.b_tilde[k])
        expected = generated.J_s(mu, T, **{**C4V, "b_tilde": bt})
        assert math.isclose(da.values[i, j, k], expected, rel_tol=1e-12, abs_tol=1e-22)


@pytest.mark.slow  # order-4 series on cold workers; test_worker_killed_mid_sweep covers sigma_sh on the cluster
def test_sigma_on_cluster_equals_direct_calls(client):
    grid = {"mu": [0.05, 0.2], "b_tilde": [0.05]}
    values = {**C4V, "a_tilde": 0.15}
    da = sweep("sigma_sh", "samokhin_c4v", grid, fixed={"a_tilde": 0.15}, client=client, method="effective", order=4)
    assert da.attrs["method"] == "effective" and da.attrs["order"] == 4 and da.attrs["spin"] == "z"
    for i, mu in enumerate(grid["mu"]):
        r = spin_hall_conductivity("samokhin_c4v", mu, method="effective", order=4, values={**values, "b_tilde": 0.05})
        assert da.values[i, 0] == r.total


def test_ten_thousand_points(client):
    grid = {"mu": np.linspace(0.05, 0.3, 100), "b_tilde": np.linspace(0.01, 0.1, 100)}
    sweep("J_s", "samokhin_c4v", {"mu": [0.1]}, client=client)  # both forms built on the workers already
    t0 = time.perf_counter()
    da = sweep("J_s", "samokhin_c4v", grid, client=client)
    took = time.perf_counter() - t0
    print(f"\nJ_s, 10^4 points on 2 warm workers: {took:.3f} s ({da.size / took:.3g} points/s)")
    assert da.shape == (100, 100) and np.isfinite(da.values).all()
    # J_s ∝ μ² b̃ at T = 0 (Eq. 52): an independent check of the layout of the array
    ratio = da.values / (da.mu.values[:, None] ** 2 * da.b_tilde.values[None, :])
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-12)


def test_cli_writes_the_api_values(client, tmp_path, capsys):
    out, png = tmp_path / "map.nc", tmp_path / "map.png"
    argv = ["sweep", "samokhin_c4v", "J_s", "--grid", "mu=0.05:0.3:6", "--grid", "b_tilde=0.01:0.1:4"]
    argv += ["--fixed", "b=0.1", "--scheduler", client.scheduler.address, "--out", str(out)]
    plot = pytest.importorskip("matplotlib", reason="--plot needs matplotlib") is not None
    code = main([*argv, "--plot", str(png)] if plot else argv)
    assert code == 0, capsys.readouterr().err
    read = xarray.open_dataarray(out, engine="netcdf4")
    api = sweep(
        "J_s", "samokhin_c4v", {"mu": np.linspace(0.05, 0.3, 6), "b_tilde": np.linspace(0.01, 0.1, 4)},
        fixed={"b": 0.1}, client=client,
    )  # fmt: skip
    assert read.dims == ("mu", "b_tilde") and np.array_equal(read.values, api.values)
    assert np.array_equal(read.mu.values, api.mu.values) and read.attrs["model"] == "samokhin_c4v"
    assert not plot or png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("map.nc", "map.png")]  # no temporary left


def test_worker_killed_mid_sweep(client):
    """One worker process is SIGKILLed while both run tasks; the nanny restarts it and Dask reschedules."""
    grid = {"mu": np.linspace(0.05, 0.3, 8)}
    pids = client.run(os.getpid)
    killed = []

    def kill_one(done, _total):
        if done == 1 and not killed:  # the first task is back, the others are in flight
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    t0 = time.perf_counter()
    da = sweep("sigma_sh", "samokhin_c4v", grid, client=client, method="exact", progress=kill_one)
    print(f"\nsigma_sh, 8 points, one worker killed: {time.perf_counter() - t0:.2f} s")
    assert killed and killed[0] not in client.run(os.getpid).values()
    assert da.attrs["method"] == "exact" and da.attrs["order"] == "all"
    expected = [spin_hall_conductivity("samokhin_c4v", mu, method="exact").total for mu in grid["mu"]]
    assert np.array_equal(da.values, expected)


# ----------------------------------------------------------------------------- errors (before any cluster starts)


def test_quantities_listed():
    assert QUANTITIES == ("J_s", "sigma_sh", "sigma_sh_intra", "sigma_sh_remote")


BAD_SWEEPS = [
    ({"quantity": "J_x"}, "unknown quantity"),
    ({"grid": {"mu": []}}, "no points"),
    ({"grid": {"mu": [0.1, float("nan")]}}, "not finite"),
    ({"grid": {"mu": "0.1"}}, "text"),
    ({"grid": {"mu": [[0.1, 0.2]]}}, "one-dimensional"),
    ({"grid": {}}, "non-empty"),
    ({"grid": {"nope": [0.1]}}, "unknown parameter 'nope'"),
    ({"fixed": {"b": 0.1, "mu": 0.2}}, "both on the grid and fixed"),
    ({"fixed": {"b": "0.1"}}, "real number"),
    ({"grid": {"mu": [-0.1, 0.1]}}, "below the band bottom"),
    ({"grid": {"mu": [0.1], "m": [0.0]}}, "m must be > 0"),
    ({"grid": {"mu": [0.1], "T": [-0.1]}}, "T must be ≥ 0"),
    ({"method": "exact"}, "takes no option method"),
    ({"quantity": "sigma_sh", "method": "approximate"}, "unknown method"),
    ({"quantity": "sigma_sh", "order": 0}, "order must be"),
    ({"model": ssw.models.samokhin_c4v()}, "no expression is pickled"),
    ({"model": "no_such_spec"}, "no derivation"),
    ({"client": 3}, "client must be"),
    ({"chunk": 0}, "chunk must be"),
    ({"client": "synchronous", "workers": 2}, "drop one"),
    ({"grid": {"mu": range(10**12)}}, "more than 10,000,000 points"),
    ({"grid": {"mu": np.linspace(0.1, 0.2, 4000), "b": np.linspace(0, 0.1, 4000)}}, "the grid has 16,000,000 points"),
]


@pytest.mark.parametrize("change, message", BAD_SWEEPS)
def test_bad_sweeps_are_one_model_error(change, message):
    args = {"quantity": "J_s", "model": "samokhin_c4v", "grid": {"mu": [0.1, 0.2]}, **change}
    with pytest.raises(ModelError, match=re.escape(message)):
        sweep(args.pop("quantity"), args.pop("model"), args.pop("grid"), **args)


BAD_CLI = [
    (["--grid", "mu=0.3:0.05"], "2 fields"),
    (["--grid", "mu=0.3:0.05:10"], "START = 0.3 is not below STOP = 0.05"),
    (["--grid", "mu=a:b:c"], "non-number"),
    (["--grid", "mu=0.05:0.3:0"], "no points"),
    (["--grid", "mu=0.05:0.3:x"], "whole number"),
    (["--grid", "mu"], "NAME=START:STOP:N"),
    (["--grid", "nope=0.1:0.2:3"], "unknown parameter 'nope'"),
    (["--grid", "mu=0.1:0.2:3", "--grid", "mu=0.1:0.2:3"], "given twice"),
    (["--grid", "mu=0.1:0.2:3", "--fixed", "b=x"], "--fixed takes NAME=NUMBER"),
    ([], "at least one --grid"),
    (["--grid", "mu=0.05:0.3:100000000000"], "is more than 10,000,000 points"),
    (["--grid", "mu=0.1:0.2:3", "--quantity-override", "sigma_xx"], "unknown quantity 'sigma_xx'"),
]


@pytest.mark.parametrize("args, message", BAD_CLI)
def test_bad_cli_sweeps_are_one_line(args, message, tmp_path, capsys):
    quantity = "J_s"
    if "--quantity-override" in args:
        quantity, args = args[-1], args[:-2]
    code = main(["sweep", "samokhin_c4v", quantity, *args, "--workers", "1", "--out", str(tmp_path / "m.nc")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.startswith("symbolic-sw: error:") and message in err
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- pieces


def test_a_spec_file_is_loaded_by_path(tmp_path):
    """A spec outside derivations/ travels as its absolute path; Eq. (C2) is μ-independent."""
    spec = tmp_path / "my_rashba.py"
    spec.write_text((Path(ssw.__file__).parent.parent / "derivations" / "rashba_toy.py").read_text())
    da = sweep("J_s", spec, {"mu": [0.1, 0.3], "alpha_0": [0.05, 0.2]}, client="synchronous")
    assert da.attrs["model"] == "my_rashba"
    generated = ssw.load_kernels("rashba_toy", kind="observables")
    for i, j in np.ndindex(da.shape):
        expected = generated.J_s(float(da.mu[i]), 0.0, hbar=1.0, m=1.0, alpha_0=float(da.alpha_0[j]))
        assert math.isclose(da.values[i, j], expected, rel_tol=1e-13)
    with pytest.raises(ModelError, match="T = 0 only"):  # nothing eliminated: no expansion, T = 0 only
        sweep("J_s", spec, {"mu": [0.1]}, fixed={"T": 0.01}, client="synchronous")


@pytest.mark.parametrize("s", [1, 2, 3])
def test_fermi_polylog_against_mpmath(s):
    import mpmath

    a = np.array([-750.0, -40.0, -3.0, -1.3862, -1.3863, -0.5, 0.0, 1e-9, 0.7, 5.0, 60.0, 700.0])
    got = _fermi_polylog(s, a)
    for x, g in zip(a, got):
        with mpmath.workdps(40):
            expected = float(mpmath.polylog(s, -mpmath.exp(mpmath.mpf(x))))
        assert math.isclose(g, expected, rel_tol=4e-15, abs_tol=1e-300), (s, x, g, expected)


def test_readme_sweeps_section_runs():
    """The README's "Sweeps" code block runs as written (in-process, no cluster)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Sweeps\n")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"^```python\n(.*?)^```", text[start:end], re.S | re.M)
    assert blocks
    namespace = {"__name__": "readme_sweeps"}
    for code in blocks:
        exec(compile(code, "README.md (Sweeps)", "exec"), namespace)
    da = namespace["da"]
    assert isinstance(da, xarray.DataArray) and da.dims == ("mu", "b_tilde") and np.isfinite(da.values).all()
