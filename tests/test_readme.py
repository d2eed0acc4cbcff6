"""The README section "Your own model" runs as written (issue 7).

Its ```python blocks are executed in order in one namespace (exec on our own
README); blocks whose first line is ``# file: NAME`` are files (a model module,
derivation specs): they are written to a temporary folder, loaded with
``load_derivation`` and the ```sh block's ``symbolic-sw`` lines are run there
through ``symbolic_sw.cli.main``. The tests then check what the prose and the
comments claim.
"""

import ast
import importlib.util
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.certify import exact_block_effective
from symbolic_sw.cli import main
from symbolic_sw.derivation import load_derivation
from symbolic_sw.symbols import a_tilde, b, b_tilde, epsilon_1, epsilon_2, hbar, k_x, k_y, k_z, m

README = Path(__file__).resolve().parent.parent / "README.md"
HEADING = "## Your own model"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE = re.compile(r"# file: (\S+)\n")
HAS_QSYMM = importlib.util.find_spec("qsymm") is not None
OUT = "__shown__"


def section(text=None) -> str:
    """The README text from the heading to the next ``## `` heading."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start = text.index(f"\n{HEADING}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def fenced(text, lang):
    return [body for tag, body in FENCE.findall(text) if tag == lang]


def files(text) -> dict:
    """``{name: text}`` of the python blocks that start with ``# file: NAME``."""
    out = {}
    for body in fenced(text, "python"):
        match = FILE.match(body)
        if match:
            out[match.group(1)] = body[match.end() :]
    return out


def snippets(text) -> list:
    return [body for body in fenced(text, "python") if not FILE.match(body)]


def needs_qsymm(code) -> bool:
    return "from_symmetry" in code or "paper_mapping" in code


def run(text) -> dict:
    """Execute the section's snippets in order in one namespace, like a notebook.

    The value of every bare expression statement is kept in ``namespace[OUT]``
    under its source text, so the tests check the very expressions the README
    shows (and fail with a KeyError if the README no longer shows them).
    """
    namespace = {"__name__": "readme_your_own_model", OUT: {}}
    for i, code in enumerate(snippets(text), 1):
        if needs_qsymm(code) and not HAS_QSYMM:
            continue
        where = f"README.md ({HEADING[3:]}, block {i})"
        for node in ast.parse(code).body:
            if isinstance(node, ast.Expr):
                value = eval(compile(ast.Expression(node.value), where, "eval"), namespace)
                namespace[OUT][ast.get_source_segment(code, node)] = value
            else:
                exec(compile(ast.Module([node], type_ignores=[]), where, "exec"), namespace)
    return namespace


def shown(ns, expression):
    """The value of a bare expression the README shows."""
    return ns[OUT][expression]


@pytest.fixture(scope="module")
def ns():
    return run(section())


def is_zero(M):
    entries = M if isinstance(M, sympy.MatrixBase) else [M]
    return all(sympy.simplify(e) == 0 for e in entries)


def test_section_layout():
    text = README.read_text(encoding="utf-8")
    assert text.index("More of the API") < text.index(HEADING) < text.index("## What is where")
    sec = section(text)
    assert len(snippets(sec)) == 6
    assert sorted(files(sec)) == ["eq33_spec.py", "kane_spec.py", "my_models.py"]
    assert sum(needs_qsymm(c) for c in snippets(sec)) == 1
    assert len(fenced(sec, "sh")) == 1


def test_a_broken_snippet_fails():
    """The harness propagates errors: a README that no longer runs fails this file."""
    broken = section().replace("eff = ssw.effective(model, order=2)", "eff = ssw.effective(model, order=0)")
    with pytest.raises(ssw.ModelError, match="order must be"):
        run(broken)
    with pytest.raises(NameError):
        run(section().replace("from symbolic_sw.symbols import a_tilde,", "from symbolic_sw.symbols import"))


def test_matrix_model(ns):
    model = ns["model"]
    paper = ssw.models.samokhin_c4v()
    assert model.blocks == (2, 4) and model.momenta == (k_x, k_y)
    assert model.H == paper.H
    assert model.H1 == paper.H1 and model.H0 == paper.H0  # perturbation=V is the default
    H = shown(ns, "eff.H")
    assert H.shape == (2, 2) and is_zero(H - H.H)
    assert H == ssw.effective(paper, order=2).H
    # "= eff.H expanded to first order in b"
    H_b = shown(ns, "eff_b.H")
    assert is_zero(H_b - H.applyfunc(lambda e: sympy.series(e, b, 0, 2).removeO()))
    assert not is_zero(H_b - H)
    assert model.with_perturbative([b]).H1 == ssw.Model(model.H, [2, 4], perturbative=[b]).H1


def test_string_model(ns):
    eq33 = ns["eq33"]
    assert eq33.H == ssw.models.samokhin_c4v().H
    assert shown(ns, "ssw.effective(eq33, order=2).H == eff.H") is True
    assert list(eq33.basis) == ["Γ1↑", "Γ1↓", "Γ5x↑", "Γ5x↓", "Γ5y↑", "Γ5y↓"]
    assert [str(s) for s in ns["two_level"].parameters] == ["Delta"]
    with pytest.raises(ssw.ModelError, match=r"unknown symbol.*Delta"):
        ssw.Model.from_string("Delta * kron(tau_z, sigma_0)", blocks=[2, 2])


def test_three_blocks(ns):
    three, eff3, h = ns["three"], ns["eff3"], ns["h"]
    epsilon_3, a_3, b_3, c_3 = sympy.symbols("epsilon_3 a_3 b_3 c_3", real=True)
    assert three.dim == 8 and three.blocks == (2, 4, 2)
    assert {epsilon_3, a_3, b_3, c_3} <= set(three.parameters)
    assert eff3.H.shape == (6, 6) and is_zero(eff3.H - eff3.H.H)
    assert shown(ns, "eff3.fine_blocks") == {0: slice(0, 2), 1: slice(2, 6)}
    H15 = shown(ns, "eff3.sub(eff3.H, 0, 1)")
    assert H15.shape == (2, 4)
    # without the remote doublet the Γ1–Γ5 coupling is Eq. (33)'s, exactly
    assert is_zero(H15.subs({a_3: 0, b_3: 0, c_3: 0}) - h)
    # the claimed b̃ renormalisation (k-independent part) ...
    shift = b_3 * c_3 / 2 * (1 / (epsilon_3 - epsilon_1) + 1 / (epsilon_3 - epsilon_2 + b))
    k0 = {k_x: 0, k_y: 0}
    assert is_zero(H15.subs(k0) - h.subs(k0).subs(b_tilde, b_tilde - shift))
    # ... and a γ̃-type k_y σz term in <Γ1|H|Γ5x>, ∝ a_3 c_3 b
    gamma = sympy.factor(sympy.diff((H15[0, 0] - H15[1, 1]) / 2, k_y))
    assert gamma != 0 and all(gamma.subs(s, 0) == 0 for s in (a_3, c_3, b))
    assert shown(ns, "ssw.effective(three, order=2).H").shape == (2, 2)

    # against the exact block rotation (Γ1+Γ5 | Γ1'), all couplings scaled by z: error ~ z^3
    # (the loop Γ1 → Γ5 → Γ1' → Γ1 gives odd orders)
    values = {
        hbar: 1,
        m: 1,
        epsilon_1: 0,
        epsilon_2: 1,
        epsilon_3: -1.5,
        b: 0.1,
        a_tilde: 0.3,
        b_tilde: 0.2,
        a_3: 0.25,
        b_3: 0.15,
        c_3: 0.2,
    }
    couplings = (a_tilde, b_tilde, a_3, b_3, c_3)
    k = {k_x: 0.31, k_y: -0.17}

    def error(z):
        vals = {s: (v * z if s in couplings else v) for s, v in values.items()} | k
        Hn = np.array(three.H.subs(vals).evalf(), dtype=complex)
        (ref,) = exact_block_effective(Hn, [Hn], [6, 2], block=0)
        got = np.array(eff3.H.subs(vals).evalf(), dtype=complex)
        return np.max(np.abs(got - ref))

    e1, e2 = error(0.2), error(0.1)
    assert e1 > 1e-9 and np.log2(e1 / e2) > 2.7, (e1, e2)


def test_3d_and_operators(ns):
    kane, eff_k = ns["kane"], ns["eff_k"]
    Delta, P = ns["Delta"], ns["P"]
    assert kane.momenta == (k_x, k_y, k_z)
    # H_eff: ħ²k_z²/2m → k_z²(ħ²/2m − P²/Δ)
    kin = hbar**2 * (k_x**2 + k_y**2) / (2 * m) + k_z**2 * (hbar**2 / (2 * m) - P**2 / Delta)
    assert is_zero(eff_k.pauli(eff_k.H)["0"] - kin)
    J = shown(ns, 'eff_k.J["x", "z"]')
    assert not is_zero(J) and is_zero(J - J.H)
    # −e v_z = −(e/ħ) ∂H_eff/∂k_z here
    e = sympy.Symbol("e", positive=True)
    j_z = shown(ns, 'eff_k.transform(ssw.operators.charge_current(kane, "z"))')
    assert is_zero(j_z + e / hbar * eff_k.H.diff(k_z))
    # τz: 1 − 2P²k_z²/Δ²
    tau_z = shown(ns, 'eff_k.transform(kron(SIGMA["z"], s0))')
    assert is_zero(tau_z - (1 - 2 * P**2 * k_z**2 / Delta**2) * sympy.eye(2))
    # (H²)_eff = H_eff² up to O(P⁴)
    t = sympy.Symbol("t")
    diff = (shown(ns, "eff_k.transform(lambda H: H**2)") - eff_k.H**2).subs(P, t * P)
    assert not is_zero(diff)
    assert all(sympy.simplify(sympy.series(entry, t, 0, 4).removeO()) == 0 for entry in diff)


def test_symmetry(ns):
    pytest.importorskip("qsymm")
    c4v, general = ns["c4v"], ns["general"]
    eta_3, eta_4 = ns["eta_3"], ns["eta_4"]
    assert len(shown(ns, "c4v.model.family.table()")) == 10
    assert [str(s) for s in shown(ns, "c4v.omitted")] == ["c1_G5_2", "c1_G5_3"]
    assert {eta_3, eta_4} <= set(general.parameters)
    assert is_zero(c4v.restrict() - ssw.models.samokhin_c4v(intrinsic_soc=True).H)
    assert is_zero(ns["H"].subs({eta_3: 0, eta_4: 0}) - ssw.models.samokhin_c4v().H)
    E_g = epsilon_2 - epsilon_1
    alpha = sympy.diff(shown(ns, 'eff_eta.pauli(eff_eta.H)["x"]'), k_y).subs({k_x: 0, k_y: 0})
    claim = 2 * a_tilde * b_tilde / (E_g - b) - 2 * b_tilde**2 * (eta_3 - eta_4) / (E_g - b) ** 2
    assert sympy.simplify(alpha - claim) == 0


def test_specs_and_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    sec = section()
    for name, text in files(sec).items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    eq33 = load_derivation(str(tmp_path / "eq33_spec.py"))
    assert eq33.model().H == ssw.models.samokhin_c4v().H and eq33.string_model["BASIS"]
    kane = load_derivation(str(tmp_path / "kane_spec.py"))
    assert kane.model().momenta == (k_x, k_y, k_z) and kane.scale == ("P",)

    (commands,) = fenced(sec, "sh")
    lines = [shlex.split(line, comments=True) for line in commands.splitlines()]
    lines = [argv for argv in lines if argv]
    assert [argv[:2] for argv in lines] == [
        ["symbolic-sw", "derive"],
        ["symbolic-sw", "check"],
        ["symbolic-sw", "show"],
    ]
    outputs = []
    for argv in lines:
        capsys.readouterr()
        assert main(argv[1:]) in (0, None), argv
        outputs.append(capsys.readouterr().out)
    assert "PASSED" in outputs[1]
    K = ssw.load_kernels("generated/kane")
    Hk = K.H(0.1, 0.2, 0.3, hbar=1.0, m=1.0, Delta=1.0, P=0.3, alpha_0=0.05)
    assert Hk.shape == (2, 2) and np.allclose(Hk, Hk.conj().T)
    # `show eq33_spec.py dJ_x_y` prints the built-in samokhin_c4v's δJ
    assert main(["show", "samokhin_c4v", "dJ_x_y"]) in (0, None)
    builtin = capsys.readouterr().out
    assert outputs[2].replace("eq33_spec.py", "samokhin_c4v") == builtin
