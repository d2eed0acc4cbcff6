"""Fields from strings, specs and the command line (issue 16 follow-up).

``Model.from_string(..., commutators={"k_x, k_y": "-I*e*B_z/hbar"})`` and the spec field
``COMMUTATORS`` declare non-commuting symbols in the string syntax (parsed safely, never
evaluated); ``symbolic-sw derive / show / latex`` then reach a field model, ``check`` and
``OBSERVABLES`` refuse it in one line.  Independent checks: the string model against the
Python factory :func:`symbolic_sw.models.kane_8band`, and the generated kernels against the
closed forms of Roth's g-factor and the Kane band mass written out here (not taken from the
engine); tests/test_fields.py checks those against Landau levels of the full 8×8 model.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.cli import main
from symbolic_sw.derivation import DERIVATIONS, load_derivation
from symbolic_sw.models import kane_8band
from symbolic_sw.pipeline import derive
from symbolic_sw.symbols import k_x, k_y, k_z

SPEC = Path(DERIVATIONS) / "kane_roth.py"
#: the spec's numbers (ħ = m_0 = e = 1, so μ_B = 1/2)
VALUES = {"hbar": 1.0, "m_0": 1.0, "e": 1.0, "E_g": 1.0, "Delta": 0.7, "P": 0.8, "g_0": 2.0, "B_z": 0.01}


def roth_g(p):
    """Roth's g* = g_0 − (2/3) E_P Δ / (E_g (E_g + Δ)), E_P = 2 m_0 P²/ħ² (works for floats and mpf)."""
    E_P = 2 * p["m_0"] * p["P"] ** 2 / p["hbar"] ** 2
    return p["g_0"] - E_P * p["Delta"] / (p["E_g"] * (p["E_g"] + p["Delta"])) * 2 / 3


def closed_form_H(kx, ky, p):
    """The conduction block at order 2: [E_g + ħ²k²/2m*] σ_0 + (g*/2) μ_B B_z σ_z, 2×2."""
    E_P = 2 * p["m_0"] * p["P"] ** 2 / p["hbar"] ** 2
    mass = 1 + E_P / 3 * (2 / p["E_g"] + 1 / (p["E_g"] + p["Delta"]))  # m_0/m*
    band = p["E_g"] + p["hbar"] ** 2 * (kx**2 + ky**2) / (2 * p["m_0"]) * mass
    zeeman = roth_g(p) / 2 * p["e"] * p["hbar"] / (2 * p["m_0"]) * p["B_z"]
    return band, zeeman


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """``symbolic-sw derive kane_roth --out DIR`` with a fresh cache: the folder."""
    base = tmp_path_factory.mktemp("kane_roth")
    out = base / "out"
    assert main(["--cache-dir", str(base / "cache"), "derive", "kane_roth", "--out", str(out), "--quiet"]) == 0
    return out


# -- the string model ----------------------------------------------------------------------------------------


def _by_name(expr, reference):
    """``expr`` with its symbols replaced by the reference's symbols of the same name (assumptions differ)."""
    names = {str(s): s for s in reference.free_symbols}
    return expr.xreplace({s: names.get(str(s), s) for s in expr.free_symbols})


def test_the_spec_model_is_the_python_model():
    """The string Hamiltonian and COMMUTATORS = kane_8band(magnetic, zeeman) at k_z = 0, and so is H_eff."""
    model = load_derivation("kane_roth").model()
    reference = kane_8band(magnetic=True, zeeman=True)
    assert model.commutators and [tuple(map(str, pair)) for pair in model.commutators] == [("k_x", "k_y")]
    assert (
        sympy.expand(_by_name(next(iter(model.commutators.values())), reference.H) - reference.commutators[k_x, k_y])
        == 0
    )
    assert [str(s) for s in model.perturbative] == ["g_0"]
    flat = reference.H.subs(k_z, 0)
    assert (_by_name(model.H, flat) - flat).applyfunc(sympy.expand).is_zero_matrix
    H = _by_name(ssw.effective(model, order=2).H, flat)
    H_ref = ssw.effective(reference, order=2).H.subs(k_z, 0)
    assert (H - H_ref).applyfunc(lambda x: sympy.cancel(sympy.expand(x))).is_zero_matrix


TOY = "hbar**2*(k_x**2 + k_y**2)/(2*m)*sigma_0 + b*sigma_z + alpha_0*(k_x*k_y*sigma_x)"
B_z, e = sympy.symbols("B_z e", real=True)


@pytest.mark.parametrize(
    "commutators",
    [
        {"k_x, k_y": "-I*e*B_z/hbar"},
        {"k_x,k_y": "-I * e * B_z / hbar"},
        {("k_x", "k_y"): "-I*e*B_z/hbar"},
        {"k_x, k_y": -sympy.I * e * B_z / ssw.symbols.hbar},
        {"k_y, k_x": "I*e*B_z/hbar"},
    ],
)
def test_string_commutators_are_the_python_ones(commutators):
    """Every accepted form of an entry gives the Model of ``commutators={(k_x, k_y): c}``."""
    model = ssw.Model.from_string(TOY, [2], symbols=[B_z, e], commutators=commutators)
    python = ssw.Model(model.H, [2], commutators={(k_x, k_y): -sympy.I * e * B_z / ssw.symbols.hbar})
    assert _ordered(model.commutators) == python.commutators
    assert model.noncommuting in ((k_x, k_y), (k_y, k_x))


def _ordered(commutators):
    """``{(a, b): c}`` with each pair in name order (``[b, a] = −c``)."""
    return {tuple(sorted((a, b), key=str)): (c if str(a) < str(b) else -c) for (a, b), c in commutators.items()}


# -- errors --------------------------------------------------------------------------------------------------

FIX = 'Fix: e.g. commutators={"k_x, k_y": "-I*e*B_z/hbar", "z, k_z": "I"}.'
STRING_ERRORS = [
    (
        {"k_x, q": "I"},
        "commutators entry 'k_x, q': 'q' is not a symbol of the string syntax. Fix: use a built-in name "
        "(k_x, k_y, k_z, ...) or declare it with symbols=['q'] (SYMBOLS in a derivation spec).",
    ),
    (
        {"k_x, k_yy": "I"},
        "commutators entry 'k_x, k_yy': 'k_yy' is not a symbol of the string syntax (did you mean 'k_y'?). Fix: use "
        "a built-in name (k_x, k_y, k_z, ...) or declare it with symbols=['k_yy'] (SYMBOLS in a derivation spec).",
    ),
    (
        {"k_x, sigma_x": "I"},
        "commutators entry 'k_x, sigma_x': 'sigma_x' is a matrix, not a symbol. Fix: use a built-in name "
        "(k_x, k_y, k_z, ...) or declare it with symbols=['sigma_x'] (SYMBOLS in a derivation spec).",
    ),
    (
        {"k_x": "I"},
        "commutators entry 'k_x': a key must name two symbols, [a, b] written as the string \"a, b\" (or the tuple "
        f'("a", "b")). {FIX}',
    ),
    (
        {"k_x, k_y, k_z": "I"},
        "commutators entry 'k_x, k_y, k_z': a key must name two symbols, [a, b] written as the string \"a, b\" (or "
        f'the tuple ("a", "b")). {FIX}',
    ),
    (
        {"k_x, k_y": "-I*e*(B_z"},
        "commutators entry 'k_x, k_y': cannot parse the value: '(' was never closed. Fix: check the brackets and "
        "operators.",
    ),
    (
        {"k_x, k_y": "__import__('os')"},
        "commutators entry 'k_x, k_y': cannot parse the value: names starting with '_' (like '__import__') are not "
        "allowed (in `__import__`). Fix: use the documented names and helper functions only",
    ),
    (
        {"k_x, k_y": "sigma_x"},
        "commutators entry 'k_x, k_y': the value is a 2x2 matrix; [a, b] must be a scalar (a number or an "
        f"expression in commuting symbols). {FIX}",
    ),
    (
        {"k_x, k_y": 1.5},
        "commutators entry 'k_x, k_y': the value must be a string (e.g. \"-I*e*B_z/hbar\") or a SymPy expression, "
        f"got float. {FIX}",
    ),
    (
        {"k_x, k_y": "I", "k_y, k_x": "-I"},
        "commutators entry 'k_y, k_x': the pair [k_y, k_x] is given twice. Fix: list each pair once "
        "([b, a] = -[a, b] follows).",
    ),
    (
        [("k_x", "k_y", "I")],
        f'commutators must be a mapping {{"a, b": "c"}} meaning [a, b] = c, got list. {FIX}',
    ),
    # checked by Model, as for a Python model
    (
        {"k_x, k_y": "I*k_x"},
        "commutators: [k_x, k_y] = I*k_x is not central: it contains k_x, which does not commute with everything. "
        "Fix: commutator values must be numbers or expressions in commuting symbols.",
    ),
    (
        {"k_x, k_x": "I"},
        "commutators: [k_x, k_x] is the commutator of k_x with itself, which is always 0. Fix: list pairs of "
        "different symbols only.",
    ),
]


@pytest.mark.parametrize(("commutators", "message"), STRING_ERRORS, ids=range(len(STRING_ERRORS)))
def test_bad_string_commutators(commutators, message):
    with pytest.raises(ssw.ModelError) as info:
        ssw.Model.from_string(TOY, [2], symbols=["e", "B_z"], commutators=commutators)
    assert str(info.value) == message


_SPEC = '''"""A field toy."""
HAMILTONIAN = "{hamiltonian}"
BLOCKS = [2]
SYMBOLS = ["e", "B_z"]
ORDER = 1
{extra}
'''
SPEC_ERRORS = [
    (
        'COMMUTATORS = {"k_x, q": "I"}',
        "COMMUTATORS entry 'k_x, q': 'q' is not a symbol of the string syntax. Fix: use a built-in name "
        "(k_x, k_y, k_z, ...) or declare it with symbols=['q'] (SYMBOLS in a derivation spec).",
    ),
    (
        'COMMUTATORS = {"k_x k_y": "I"}',
        "COMMUTATORS entry 'k_x k_y': a key must name two symbols, [a, b] written as the string \"a, b\" (or the "
        f'tuple ("a", "b")). {FIX}',
    ),
    (
        'COMMUTATORS = {"k_x, k_y": "-I*e*B_z/"}',
        "COMMUTATORS entry 'k_x, k_y': cannot parse the value: invalid syntax. Fix: write a single expression "
        "(no statements, assignments or imports).",
    ),
    (
        'COMMUTATORS = [("k_x", "k_y", "I")]',
        "COMMUTATORS must be a non-empty dict {\"a, b\": \"c\"} meaning [a, b] = c, got [('k_x', 'k_y', 'I')]. "
        'Fix: e.g. COMMUTATORS = {"k_x, k_y": "-I*e*B_z/hbar"}.',
    ),
    (
        'COMMUTATORS = {"k_x, k_y": "-I*e*B_z/hbar"}\nOBSERVABLES = True',
        "OBSERVABLES = True, but COMMUTATORS declares non-commuting symbols; the closed-form equilibrium current "
        "(Eqs. 49-52) assumes commuting momenta. Fix: remove OBSERVABLES from the spec.",
    ),
    (
        'COMMUTATORS = {"k_x, k_y": "I"}\nMODEL_OPTIONS = {"commutators": {"k_x, k_y": "I"}}',
        "give the commutators once: as COMMUTATORS or in MODEL_OPTIONS, not both.",
    ),
]


def _spec(tmp_path, extra, hamiltonian=TOY, name="field_toy"):
    path = tmp_path / f"{name}.py"
    path.write_text(_SPEC.format(hamiltonian=hamiltonian, extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize(("extra", "message"), SPEC_ERRORS, ids=range(len(SPEC_ERRORS)))
def test_bad_spec_commutators_are_refused_on_load(tmp_path, extra, message):
    path = _spec(tmp_path, extra)
    with pytest.raises(ssw.ModelError) as info:
        load_derivation(str(path))
    text = str(info.value)
    prefix = f"derivation 'field_toy' ({path}): "
    assert text.startswith(prefix)
    assert text[len(prefix) :] == message


def test_commutators_go_with_hamiltonian_only(tmp_path):
    path = tmp_path / "moduled.py"
    path.write_text('MODEL = "rashba_toy"\nORDER = 1\nCOMMUTATORS = {"k_x, k_y": "I"}\n', encoding="utf-8")
    with pytest.raises(ssw.ModelError, match=r"COMMUTATORS only go with HAMILTONIAN \(a string model\) \(a MODEL"):
        load_derivation(str(path))


def test_a_non_central_commutator_is_refused_when_the_model_is_built(tmp_path):
    """Centrality is the Model's check: the CLI prints it as one line, exit 2."""
    path = _spec(tmp_path, 'COMMUTATORS = {"k_x, k_y": "I*k_y"}')
    load_derivation(str(path))  # parses
    code, err = _cli(["--cache-dir", str(tmp_path / "c"), "show", str(path), "H"])
    assert code == 2
    assert err == (
        "symbolic-sw: error: commutators: [k_x, k_y] = I*k_y is not central: it contains k_y, which does not "
        "commute with everything. Fix: commutator values must be numbers or expressions in commuting symbols."
    )


def test_a_model_function_with_commutators_and_observables_is_refused(tmp_path):
    path = tmp_path / "kane_obs.py"
    path.write_text(
        'MODEL = "symbolic_sw.models:kane_8band"\nMODEL_OPTIONS = {"magnetic": True}\nORDER = 2\nOBSERVABLES = True\n',
        encoding="utf-8",
    )
    with pytest.raises(ssw.ModelError) as info:
        load_derivation(str(path)).model()
    assert str(info.value) == (
        "derivation 'kane_obs': OBSERVABLES = True, but the model declares commutators ([k_x, k_y]); the closed-form "
        "equilibrium current (Eqs. 49-52) assumes commuting momenta. Fix: remove OBSERVABLES from the spec."
    )


# -- the pipeline --------------------------------------------------------------------------------------------


def test_derive_writes_kernels_latex_and_readme(generated):
    files = sorted(p.name for p in generated.iterdir())
    assert files == ["README.md", "kernels.py", "kernels_mpmath.py", "operators.tex"]
    tex = (generated / "operators.tex").read_text(encoding="utf-8")
    assert "B_{z}" in tex and r"\hat{\sigma}_z" in tex
    K = ssw.load_kernels(generated)
    assert K.MOMENTA == ("k_x", "k_y") and set(K.PARAMETERS) == set(VALUES)
    readme = (generated / "README.md").read_text(encoding="utf-8")
    # check refuses field models (test below): the README must not send users there
    assert "certify with" not in readme and "`symbolic-sw check` does not apply" in readme


def test_numpy_kernels_equal_the_closed_form(generated):
    """H at random points (momenta, fields and parameters) = Roth's band, to 1e-12."""
    K = ssw.load_kernels(generated)
    rng = np.random.default_rng(16)
    for _ in range(5):
        p = {name: v * rng.uniform(0.7, 1.3) for name, v in VALUES.items()}
        p["B_z"] = rng.uniform(-2, 2)
        kx, ky = rng.uniform(-0.6, 0.6, (2, 7))
        H = K.H(kx, ky, **p)
        band, zeeman = closed_form_H(kx, ky, p)
        expected = np.zeros((7, 2, 2), complex)
        expected[:, 0, 0], expected[:, 1, 1] = band + zeeman, band - zeeman
        assert np.max(np.abs(H - expected)) <= 1e-12 * np.max(np.abs(expected))


def test_mpmath_kernels_equal_the_closed_form(generated):
    KM = ssw.load_kernels(generated, kind="mpmath")
    with mpmath.workdps(40):
        p = {name: mpmath.mpf(v) * mpmath.mpf("1.1") for name, v in VALUES.items()}
        p["B_z"] = mpmath.mpf("0.37")
        kx, ky = mpmath.mpf("0.3"), mpmath.mpf("-0.21")
        H = KM.H(kx, ky, **p)
        band, zeeman = closed_form_H(kx, ky, p)
        assert abs(H[0, 0] - (band + zeeman)) < mpmath.mpf(10) ** -35
        assert abs(H[1, 1] - (band - zeeman)) < mpmath.mpf(10) ** -35
        assert abs(H[0, 1]) < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("B", [1e-4, 1e-3, 1e-2])  # below 1e-4 the difference of two O(1) numbers loses digits
def test_roth_g_factor_from_the_kernels(generated, B):
    """Spin splitting at k = 0 in a small field = g* μ_B B, Roth's g* (μ_B = eħ/2m_0 = 1/2 here)."""
    K = ssw.load_kernels(generated)
    p = {**VALUES, "B_z": B}
    H = K.H(0.0, 0.0, **p)
    g = (H[0, 0] - H[1, 1]).real / (0.5 * B)
    assert abs(g - roth_g(p)) <= 1e-10 * abs(roth_g(p))
    assert abs(roth_g(p) - 2.0) > 0.1  # the band correction is there: g* ≠ g_0


def test_a_model_function_spec_with_commutators_derives(tmp_path):
    """MODEL = 'package.module:function': the factory's Model carries its commutators to the kernels (with k_z)."""
    path = tmp_path / "kane_module.py"
    path.write_text(
        'MODEL = "symbolic_sw.models:kane_8band"\nMODEL_OPTIONS = {"magnetic": True, "zeeman": True}\n'
        'ORDER = 2\nOPERATORS = ["H"]\n',
        encoding="utf-8",
    )
    derived = derive(str(path))
    assert derived.momenta == (k_x, k_y, k_z)
    symbols = {str(s): s for s in derived.operators["H"].free_symbols}
    at_gamma = derived.operators["H"].subs({k_x: 0, k_y: 0, k_z: 0})
    values = {symbols[n]: sympy.Rational(str(v)) for n, v in VALUES.items()}
    g = (at_gamma[0, 0] - at_gamma[1, 1]).xreplace(values) / (sympy.Rational(1, 2) * values[symbols["B_z"]])
    assert abs(float(g) - roth_g(VALUES)) < 1e-12


def test_commutators_are_part_of_the_cache_key(tmp_path):
    """The same spec with the commutator's sign flipped (B → −B) is re-derived, not read from the cache."""
    cache = tmp_path / "cache"
    text = SPEC.read_text(encoding="utf-8")
    flipped = text.replace('"-I*e*B_z/hbar"', '"I*e*B_z/hbar"')
    assert flipped != text
    splittings = []
    for i, source in enumerate((text, flipped)):
        spec = tmp_path / f"run{i}" / "kane_roth.py"
        spec.parent.mkdir()
        spec.write_text(source, encoding="utf-8")
        out = tmp_path / f"out{i}"
        assert main(["--cache-dir", str(cache), "derive", str(spec), "--out", str(out), "--quiet"]) == 0
        H = ssw.load_kernels(out).H(0.0, 0.0, **VALUES)
        splittings.append((H[0, 0] - H[1, 1]).real / (0.5 * VALUES["B_z"]))
    g_0 = VALUES["g_0"]
    # the orbital part of g* changes sign with the field's sign in the commutator; the Zeeman part does not
    assert splittings[0] == pytest.approx(roth_g(VALUES), rel=1e-12)
    assert splittings[1] == pytest.approx(2 * g_0 - roth_g(VALUES), rel=1e-12)


# -- the command line ----------------------------------------------------------------------------------------


def _cli(argv):
    """``(exit status, stderr stripped)`` of the command line."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue().strip()


def test_check_refuses_a_field_model_in_one_line(tmp_path):
    code, err = _cli(["--cache-dir", str(tmp_path), "check", "kane_roth"])
    assert code == 2
    assert err == (
        "symbolic-sw: error: certify compares with an exact numeric rotation, which treats the momenta as commuting "
        "numbers; this model declares commutators. Fix: check it with a Landau-level (oscillator-basis) calculation "
        "as tests/test_fields.py does."
    )


def test_show_prints_the_field_terms(tmp_path, capsys):
    assert main(["--cache-dir", str(tmp_path), "show", "kane_roth", "H"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("H (kane_roth, order 2) =") and "σ_z ×" in out and "B_z" in out
