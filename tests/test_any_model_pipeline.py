"""Any model through the whole pipeline: a derivation spec with surds, π, λ_8 and atoms (issue 13).

A ``HAMILTONIAN`` spec written into a temporary folder — a spinless chain with
√3, π, λ_8 (√3 in the diagonal blocks, so in the gap), cos(k a) and exp(i k a)
in the couplings *and* in both diagonal blocks, a band-dependent mass ħ²k²/2m_1
and a coupling P/sqrt(E_g + Δ) — is derived by ``symbolic-sw derive`` and

* its closed form at order 2 equals the textbook formula
  H_eff = h_11 + Σ_b |h_1b|²/(h_11 − h_bb) (block B is diagonal), checked at
  exact rational points to 40 digits;
* its numpy kernels (the general path: the momenta sit inside atoms) agree with
  the closed forms evaluated by SymPy to 1e-12, its mpmath kernels at 40 digits
  to 1e-32;
* ``symbolic-sw check`` certifies it against the exact rotation.

A spinful tight-binding chain (cos, sin, exp(i k a), a k-odd spin splitting, √2)
gets the same kernel checks for H, S, T, J and δJ (slow: 13 operators).
"""

import textwrap

import mpmath
import numpy as np
import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw.certify import certify
from symbolic_sw.cli import main
from symbolic_sw.derivation import load_derivation
from symbolic_sw.symbols import E_g, hbar, k_x

P, t, w = sympy.symbols("P t w", real=True)
a, Delta, m_1 = sympy.symbols("a Delta m_1", positive=True)
#: how the specs below declare their symbols (the rest are real)
ASSUMPTIONS = {name: {"positive": True} for name in ("a", "Delta", "m_1", "E_g", "hbar")}
VALUES = {"E_g": 1.3, "Delta": 0.4, "P": 0.3, "t": 0.2, "w": 0.1, "a": 1.1, "hbar": 1.0, "m_1": 0.8}

#: the chain's Hamiltonian as a string: every kind of entry the issue lists
CHAIN = """
    (E_g - 2*t*cos(k_x*a)) * proj(1, 3) + pi*t*cos(k_x*a) * proj(2, 3)
  + (hbar**2*k_x**2/(2*m_1) - Delta) * proj(3, 3) + w*lambda_8
  + sqrt(3)*P*k_x * (ketbra(1, 2, 3) + ketbra(2, 1, 3))
  + P/sqrt(E_g + Delta) * (t*(1 - exp(I*k_x*a)) * ketbra(1, 3, 3) + t*(1 - exp(-I*k_x*a)) * ketbra(3, 1, 3))
"""
CHAIN_SYMBOLS = ["P", "t", "w", a, Delta, m_1]

SPEC = f'''"""A spinless chain with surds, pi, lambda_8, a band-dependent mass and atoms."""
import sympy

HAMILTONIAN = """{CHAIN}"""
BLOCKS = [1, 2]
SYMBOLS = ["P", "t", "w", sympy.Symbol("a", positive=True), sympy.Symbol("Delta", positive=True),
           sympy.Symbol("m_1", positive=True)]
MODEL_OPTIONS = {{"spin": False, "momenta": ["k_x"]}}
OPERATORS = ["H", "v"]
ORDER = 2
VALUES = {VALUES!r}
SCALE = ["P"]
'''

SPINFUL = '''"""A spinful s-p chain: cos, sin, exp(i k a), a k-odd spin splitting in the p band, sqrt(2)."""
import sympy

HAMILTONIAN = """
    kron(diag(epsilon_s - 2*t_ss*cos(k_x*a), epsilon_p + 2*t_pp*cos(k_x*a)), sigma_0)
  + alpha*sin(k_x*a) * kron(proj(2, 2), sigma_z)
  + kron(ketbra(1, 2, 2), t_sp*(1 - exp(I*k_x*a))*sigma_0 + sqrt(2)*c*sigma_x)
  + kron(ketbra(2, 1, 2), t_sp*(1 - exp(-I*k_x*a))*sigma_0 + sqrt(2)*c*sigma_x)
"""
BLOCKS = [2, 2]
SYMBOLS = ["epsilon_s", "epsilon_p", "t_ss", "t_pp", "t_sp", "alpha", "c", sympy.Symbol("a", positive=True)]
MODEL_OPTIONS = {"momenta": ["k_x"]}
ORDER = 2
VALUES = {"epsilon_s": -0.3, "epsilon_p": 1.9, "t_ss": 0.25, "t_pp": 0.15, "t_sp": 0.5, "alpha": 0.2, "c": 0.1,
          "a": 1.2, "hbar": 1.0}
SCALE = ["t_sp", "c"]
'''


def derive_spec(folder, name, text):
    """``symbolic-sw derive folder/name.py --out folder/out_name``: (closed forms, numpy kernels, mpmath kernels)."""
    spec = folder / f"{name}.py"
    spec.write_text(text, encoding="utf-8")
    out = folder / f"out_{name}"
    assert main(["derive", str(spec), "--out", str(out)]) in (0, None)
    derived, _ = ssw.pipeline.build(load_derivation(str(spec)))  # from the cache the command filled
    return derived, ssw.load_kernels(str(out)), ssw.load_kernels(str(out), kind="mpmath")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMBOLIC_SW_CACHE", str(folder / "cache"))
        yield folder, *derive_spec(folder, "chain", SPEC)


def random_points(values, n, seed):
    """Points of exact rationals within ±20 % of ``values`` (``{name: float}``, a spec's VALUES), k_x in (−1, 1)."""
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(n):
        point = {
            sympy.Symbol(name, **ASSUMPTIONS.get(name, {"real": True})): sympy.Rational(round(v * 1000), 1000)
            * sympy.Rational(int(rng.integers(800, 1200)), 1000)
            for name, v in values.items()
        }
        point[k_x] = sympy.Rational(int(rng.integers(-999, 1000)), 1000)
        points.append(point)
    return points


def kernel_args(point, momenta, digits=None):
    """(momenta, parameters) of a point for a kernel: floats, or decimal strings read exactly by mpmath."""

    def value(q):
        return float(q) if digits is None else mpmath.mpf(q.p) / q.q

    return [value(point[q]) for q in momenta], {str(s): value(q) for s, q in point.items() if s not in momenta}


def mp(z):
    """A SymPy number as an mpmath number, all its digits kept."""
    return mpmath.mpc(str(sympy.re(z)), str(sympy.im(z)))


def agree_with_closed_forms(derived, K, KM, points):
    """Every operator's numpy kernel (1e-12) and mpmath kernel at 40 digits (1e-32) = its closed form there.

    The reference is SymPy's own evaluation of the closed form at the exact point (45 digits).
    """
    for name, M in derived.operators.items():
        for point in points:
            exact = M.xreplace(point).evalf(45)
            ref = np.array(exact.tolist(), dtype=complex)
            scale = max(1.0, float(np.max(np.abs(ref))))
            ks, params = kernel_args(point, derived.momenta)
            got = K.OPERATORS[name](*ks, **params)
            assert np.max(np.abs(got - ref)) <= 1e-12 * scale, (name, point)
            with mpmath.workdps(40):
                ks, params = kernel_args(point, derived.momenta, digits=40)
                high = KM.OPERATORS[name](*ks, **params)
                worst = max(abs(high[i, j] - mp(exact[i, j])) for i in range(M.rows) for j in range(M.cols))
            assert worst <= mpmath.mpf(10) ** -32 * scale, (name, point, worst)


def test_chain_spec_is_the_textbook_formula(chain):
    """H_eff = h_11 + 3P²k²/(h_11 − h_22) + |h_13|²/(h_11 − h_33), at exact rational points to 40 digits."""
    _, derived, _, _ = chain
    s3 = sympy.sqrt(3)
    h11 = E_g - 2 * t * sympy.cos(k_x * a) + w / s3
    h22 = sympy.pi * t * sympy.cos(k_x * a) + w / s3
    h33 = hbar**2 * k_x**2 / (2 * m_1) - Delta - 2 * w / s3
    h13_squared = P**2 * t**2 * (2 - 2 * sympy.cos(k_x * a)) / (E_g + Delta)  # |1 − e^{ika}|² = 2 − 2 cos ka
    expected = h11 + 3 * P**2 * k_x**2 / (h11 - h22) + h13_squared / (h11 - h33)
    H = derived.operators["H"][0, 0]
    assert {a, Delta, m_1, E_g, P, t, w, hbar} == set(derived.parameters)
    assert H.has(sympy.pi, sympy.cos(a * k_x), sympy.exp(sympy.I * a * k_x), sympy.sqrt(3))
    for point in random_points(VALUES, 4, seed=0):
        assert abs(sympy.N((H - expected).xreplace(point), 40)) < 1e-35
    # the velocity follows the chain rule through cos and exp: (1/ħ) ∂H_eff/∂k at order 2
    v = derived.operators["v_x"][0, 0]
    for point in random_points(VALUES, 2, seed=1):
        assert abs(sympy.N((v - H.diff(k_x) / hbar).xreplace(point), 40)) < 1e-35


def test_chain_spec_kernels_agree_with_the_closed_forms(chain):
    """The numpy (general path: momenta inside atoms) and mpmath kernels = the closed forms evaluated by SymPy."""
    _, derived, K, KM = chain
    assert K.H.terms is None and K.v_x.terms is None  # cos(a k_x) is not a polynomial in k_x
    agree_with_closed_forms(derived, K, KM, random_points(VALUES, 3, seed=2))
    # the general path broadcasts: a vector of k at once = point by point
    ks = np.linspace(-1, 1, 7)
    batch = K.evaluate(ks, **VALUES)
    for i, q in enumerate(ks):
        for name, f in K.OPERATORS.items():
            assert np.allclose(batch[name][i], f(q, **VALUES), rtol=1e-14, atol=0), name


def test_chain_spec_is_certified(chain, capsys):
    """``symbolic-sw check``: against the exact rotation, P → z·P, exponents ≥ ORDER + 1.7."""
    folder, *_ = chain
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMBOLIC_SW_CACHE", str(folder / "cache"))
        cert = certify(str(folder / "chain.py"))
        assert cert.passed, cert.table()
        assert min(cert.exponents.values()) >= 3.7, cert.table()
        capsys.readouterr()
        assert main(["check", str(folder / "chain.py")]) in (0, None)
    assert "PASSED" in capsys.readouterr().out


def test_chain_as_a_string_model_and_latex(chain):
    """The same string through Model.from_string and ssw.effective; LaTeX keeps cos, e^{i a k}, π as written."""
    folder, derived, _, _ = chain
    model = ssw.Model.from_string(CHAIN, [1, 2], spin=False, symbols=CHAIN_SYMBOLS, momenta=["k_x"])
    assert ssw.effective(model, 2).H == derived.operators["H"]
    tex = (folder / "out_chain" / "operators.tex").read_text(encoding="utf-8")
    for shown in (r"\cos{\left(a k_{x} \right)}", r"e^{i a k_{x}}", r"\pi t", r"\sqrt{3}"):
        assert shown in tex, shown


@pytest.mark.slow
def test_spinful_tight_binding_spec_kernels(tmp_path, monkeypatch):
    """H, S, T, J, δJ of a spinful chain (atoms in both blocks, k- and spin-dependent gap): kernels = closed forms."""
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    derived, K, KM = derive_spec(tmp_path, "spinful", textwrap.dedent(SPINFUL))
    assert len(derived.operators) == 13
    assert all(f.terms is None for name, f in K.OPERATORS.items() if not name.startswith("S_"))
    values = load_derivation(str(tmp_path / "spinful.py")).values
    agree_with_closed_forms(derived, K, KM, random_points(values, 2, seed=3))


NO_HBAR = '''"""Two doublets, no hbar in H (the spin currents still carry 1/hbar)."""
HAMILTONIAN = "Delta*kron(proj(2, 2), sigma_0) + P*k_x*kron(tau_x, sigma_0) + alpha*k_x*kron(tau_0, sigma_z)"
BLOCKS = [2, 2]
SYMBOLS = ["Delta", "P", "alpha"]
OPERATORS = ["H", "J"]
ORDER = 2
VALUES = {"Delta": 1.0, "P": 0.3, "alpha": 0.1, "hbar": 1.0}
SCALE = ["P"]
'''


def test_check_a_model_without_hbar_in_H(tmp_path, monkeypatch):
    """Found here (not specific to atoms): J has 1/ħ, H has none; the reference must still bind ħ."""
    monkeypatch.setenv("SYMBOLIC_SW_CACHE", str(tmp_path / "cache"))
    (tmp_path / "no_hbar.py").write_text(NO_HBAR, encoding="utf-8")
    assert certify(str(tmp_path / "no_hbar.py")).passed
