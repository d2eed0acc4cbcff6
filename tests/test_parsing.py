"""Models from strings (``Model.from_string``): same results as the built-in models, nothing executed."""

import ast
import builtins
import importlib
import time

import pytest
import sympy
import sympy.parsing.sympy_parser

import symbolic_sw as ssw
import symbolic_sw.parsing as parsing
from symbolic_sw.parsing import parse, parse_hamiltonian
from symbolic_sw.symbols import a_tilde, b, b_tilde, epsilon_1, hbar, k_x, k_y, k_z, m

KINETIC = "hbar**2*(k_x**2 + k_y**2)/(2*m)"
# Eq. (33) in the paper's basis (Γ1↑, Γ1↓, Γ5x↑, Γ5x↓, Γ5y↑, Γ5y↓) = orbital ⊗ spin
COUPLING = (
    "kron(ketbra(1, 2, 3), -I*a_tilde*k_x*sigma_0 - I*b_tilde*sigma_y)"
    " + kron(ketbra(1, 3, 3), -I*a_tilde*k_y*sigma_0 + I*b_tilde*sigma_x)"
)
EQ33 = f"""
(epsilon_1 + {KINETIC}) * kron(proj(1, 3), sigma_0)              # Γ1
+ (epsilon_2 + {KINETIC}) * kron(proj(2, 3) + proj(3, 3), sigma_0)  # Γ5x, Γ5y
+ b * kron(lambda_7, sigma_z)                                  # -i b σ_z between Γ5x and Γ5y
+ {COUPLING} + dagger({COUPLING})
"""
h1 = f"(epsilon_1 + {KINETIC})*sigma_0"
h2 = f"(epsilon_2 + {KINETIC})*sigma_0"
h12 = "(-I*a_tilde*k_x*sigma_0 - I*b_tilde*sigma_y)"
h13 = "(-I*a_tilde*k_y*sigma_0 + I*b_tilde*sigma_x)"
EQ33_BLOCKS = (
    f"block([[{h1}, {h12}, {h13}],"
    f"       [dagger({h12}), {h2}, -I*b*sigma_z],"
    f"       [dagger({h13}), I*b*sigma_z, {h2}]])"
)
BASIS = ["Γ1↑", "Γ1↓", "Γ5x↑", "Γ5x↓", "Γ5y↑", "Γ5y↓"]


# -- the string model is the built-in model -----------------------------------------


@pytest.mark.parametrize("text", [EQ33, EQ33_BLOCKS], ids=["kron", "block"])
def test_eq33_string_is_samokhin_c4v(text):
    model = ssw.Model.from_string(text, [2, 4], basis=BASIS, time_reversal=True)
    ref = ssw.models.samokhin_c4v()
    assert model.H == ref.H  # literally the same entries, same symbols
    assert model.H0 == ref.H0 and model.H1 == ref.H1
    assert model.momenta == ref.momenta == (k_x, k_y)
    assert model.parameters == ref.parameters
    assert model.basis == tuple(BASIS)
    assert model.source == text


def test_eq33_string_gives_identical_effective_operators(effective_of):
    ref = effective_of("c4v", 2)
    eff = ssw.effective(ssw.Model.from_string(EQ33, [2, 4], basis=BASIS), 2)

    def same(A, B):
        return (sympy.Matrix(A) - sympy.Matrix(B)).applyfunc(lambda e: sympy.cancel(sympy.expand(e))) == sympy.zeros(
            *sympy.Matrix(A).shape
        )

    assert eff.H == ref.H
    for name in ("S", "T", "J", "dJ"):
        mine, theirs = getattr(eff, name), getattr(ref, name)
        assert list(mine) == list(theirs)
        for key in theirs:
            assert same(mine[key], theirs[key]), (name, key)
    # and the effective H has the paper's content: ε1, the kinetic term, ã² and b̃ terms
    assert {epsilon_1, hbar, m, a_tilde, b_tilde, b} <= eff.H.free_symbols


# -- nothing is executed ----------------------------------------------------------

SENTINEL = "PWNED"


def _hostile(path):
    p = str(path)
    return [
        (f"__import__('os').system('touch {p}')", "names starting with '_'"),
        ("().__class__.__bases__[0].__subclasses__()", "attribute access"),
        (f"k_x.__class__.__init__.__globals__['os'].system('touch {p}')", "attribute access"),
        ("k_x.__class__", "attribute access"),
        ("sigma_x.T", r"attribute access \('\.T'\)"),
        ("(lambda: 1)()", "lambda"),
        (f"(lambda: __import__('os').system('touch {p}'))()", "names starting with '_'"),
        ("eval('1')", "strings are not allowed"),
        (f'exec(\'open("{p}", "w")\')', "strings are not allowed"),
        (f"open('{p}', 'w')", "strings are not allowed"),
        ("open", "unknown symbol.*open"),
        ("getattr(k_x, 'func')", "strings are not allowed"),
        ("globals()", "unknown function.*globals"),
        ("[x for x in ()]", "comprehensions"),
        ("sum(x for x in (1, 2))", "comprehensions"),
        ("9**9**9**9", "exponent .* too large"),
        ("(2**64)**64 * sigma_0", "more than 4096 bits"),
        ("Matrix([[(2**64)**60]])**8", "more than 4096 bits"),
        ("1" * 2000 + "*sigma_0", "more than 4096 bits"),
        ("sqrt(" + "7" * 1200 + ")*sigma_0", "root of a number with more than 256 bits"),
        ("(" + "7" * 1200 + ")**(1/3)*sigma_0", "root of a number"),
        ("kron(eye(64), eye(64))", "limit is 64"),
        ("eye(10**9)", "eye"),
        ("x" * 1_000_000, "more than the limit"),
        ("(" * 1000 + "k_x" + ")" * 1000, "nested"),
        ("sqrt(" * 150 + "k_x" + ")" * 150, "nested more than"),
        ("-" * 100_000 + "k_x", "more than the limit|too long or too deeply nested"),
        ("kron(sigma_x, sigma_y, out=1)", r"keyword arguments \(out=\)"),
        ("kron(**{})", "keyword arguments|dicts"),
        ("kron(*[sigma_x])", "unpacking"),
        ("f'{k_x}'", "f-strings"),
        ("(k_x := 1)", "assignment expressions"),
        ("k_x if b else k_y", "conditional"),
        ("k_x < k_y", "comparisons"),
        ("k_x[0]", "indexing"),
        ("{1: 2}", "dicts and sets"),
        ("import os", "invalid syntax.*single expression"),
        ("k_x = 1", "single expression"),
        ("k_x; sigma_x", "invalid syntax"),
        ("sigma_x ^ 2", r"'\^' is not allowed.*\*\*"),
        ("sigma_x // 2", "'//' is not allowed"),
        ("~sigma_x", "unary operator Invert"),
        ("True * sigma_x", "constant True"),
        ("b'abc'", "strings are not allowed"),
        ("k_x\x00", "null bytes|too long or too deeply nested"),
        ("", "empty"),
    ]


@pytest.fixture
def no_execution(monkeypatch):
    """Make eval/exec, bytecode compilation and string sympification raise while parsing."""
    calls = []

    def forbidden(name):
        def f(*_args, **_kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called during parsing")

        return f

    sympify_module = importlib.import_module("sympy.core.sympify")  # the name is shadowed by the function
    real_compile, real_sympify = builtins.compile, sympify_module.sympify

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            return forbidden("compile")()
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def no_string_sympify(a, *args, **kwargs):
        if isinstance(a, str):
            return forbidden("sympify(str)")()
        return real_sympify(a, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden("eval"))
    monkeypatch.setattr(builtins, "exec", forbidden("exec"))
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", forbidden("parse_expr"))
    monkeypatch.setattr(sympify_module, "sympify", no_string_sympify)
    monkeypatch.setattr(sympy, "sympify", no_string_sympify)
    return calls


def test_the_guards_can_fail(no_execution):
    """The guards really catch evaluation (else the hostile tests below prove nothing)."""
    with pytest.raises(AssertionError):
        sympy.sympify("1 + 1")
    with pytest.raises(AssertionError):
        eval("1")
    assert no_execution == ["sympify(str)", "eval"]


def test_valid_strings_parse_under_the_guards(no_execution):
    model = ssw.Model.from_string(EQ33, [2, 4])
    assert model.H == ssw.models.samokhin_c4v().H
    assert parse_hamiltonian(EQ33_BLOCKS) == model.H
    assert no_execution == []


@pytest.mark.parametrize("index", range(len(_hostile("x"))))
def test_hostile_strings_are_rejected_and_nothing_runs(index, tmp_path, no_execution):
    sentinel = tmp_path / SENTINEL
    text, match = _hostile(sentinel)[index]
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match) as info:
        ssw.Model.from_string(text, [2])
    assert time.perf_counter() - start < 5, "parsing must fail fast"
    assert isinstance(info.value, ssw.ModelError)
    assert "Fix:" in str(info.value) or "more than the limit" in str(info.value)
    assert no_execution == []
    assert not sentinel.exists()


def test_hostile_perturbation_string_is_rejected(tmp_path, no_execution):
    sentinel = tmp_path / SENTINEL
    with pytest.raises(ssw.ModelError, match="names starting with '_'"):
        ssw.Model.from_string("k_x**2*sigma_0", [2], perturbation=f"__import__('os').system('touch {sentinel}')")
    assert not sentinel.exists() and no_execution == []


# -- unknown names ------------------------------------------------------------------


def test_unknown_symbols_are_named_with_the_fix():
    with pytest.raises(ssw.ModelError, match=r"unknown symbol\(s\) alpha, Delta.*symbols=\['alpha', 'Delta'\]"):
        parse("alpha*k_x*sigma_x + Delta*sigma_z + alpha*sigma_0")


def test_unknown_functions_are_named():
    with pytest.raises(ssw.ModelError, match=r"unknown function\(s\) foo, tanh.*kron"):
        parse("foo(k_x)*sigma_x + tanh(k_y)*sigma_z")


def test_unknown_functions_and_symbols_together_and_close_matches():
    with pytest.raises(ssw.ModelError) as info:
        parse("krom(sigma_x, sigma_y) + epsilon1*eye(4)")
    msg = str(info.value)
    assert "unknown function(s) krom" in msg and "krom → kron?" in msg
    assert "unknown symbol(s) epsilon1" in msg and "epsilon1 → epsilon_1?" in msg


def test_declared_symbols():
    alpha = sympy.Symbol("alpha", real=True)
    Delta = sympy.Symbol("Delta", positive=True)
    H = parse_hamiltonian("alpha*k_x*sigma_x + Delta*sigma_z", symbols=["alpha", Delta])
    assert H == sympy.Matrix([[Delta, alpha * k_x], [alpha * k_x, -Delta]])
    assert {s.name: s for s in H.free_symbols}["Delta"].is_positive
    M = sympy.Matrix([[0, 1], [1, 0]])
    assert parse_hamiltonian("g*Mx", symbols={"g": 2 * b, "Mx": M}) == 2 * b * M


@pytest.mark.parametrize(
    "symbols,match",
    [
        (["__class__"], "may not start with '_'"),
        (["kron"], "built-in name"),
        (["sigma_x"], "built-in name"),
        (["not an identifier"], "identifier"),
        (["lambda"], "identifier"),
        ({"x": "y + 1"}, "must be a SymPy object"),
        ([1.5], "names or SymPy symbols"),
        ("alpha beta", "list of names"),
    ],
)
def test_bad_symbols_argument(symbols, match):
    with pytest.raises(ssw.ModelError, match=match):
        parse("k_x*sigma_0", symbols=symbols)


def test_misused_names():
    with pytest.raises(ssw.ModelError, match="'sigma_x' is a 2x2 matrix, not a function"):
        parse("sigma_x(k_x)")
    with pytest.raises(ssw.ModelError, match=r"'kron' is a function.*kron\(A, B"):
        parse("kron * sigma_x")


# -- semantics ----------------------------------------------------------------------


def test_arithmetic_and_helpers():
    I = sympy.I
    assert parse("1.5*k_x + 0.1") == sympy.Rational(3, 2) * k_x + sympy.Rational(1, 10)  # exact rationals
    assert parse("2j*k_x") == 2 * I * k_x
    assert parse("k_x + sigma_z") == sympy.Matrix([[k_x + 1, 0], [0, k_x - 1]])  # scalar = scalar·1
    assert parse("sigma_x*sigma_y") == parse("sigma_x @ sigma_y") == I * sympy.Matrix([[1, 0], [0, -1]])
    assert parse("sigma_y**2") == sympy.eye(2)
    assert parse("kron(tau_x, sigma_z)") == sympy.Matrix(
        4, 4, lambda i, j: [1, -1][j % 2] if i // 2 != j // 2 and i % 2 == j % 2 else 0
    )
    assert parse("ketbra(1, 2, 3)") == sympy.Matrix([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert parse("proj(3, 3)") == sympy.diag(0, 0, 1)
    assert parse("diag(k_x, sigma_z)") == sympy.diag(k_x, 1, -1)
    assert parse("Matrix([[k_x, I*k_y], [-I*k_y, -k_x]])") == sympy.Matrix([[k_x, I * k_y], [-I * k_y, -k_x]])
    assert parse("Matrix([k_x, k_y])") == sympy.Matrix([k_x, k_y])
    assert parse("block([[sigma_x, 0], [0, eye(1)]])") == sympy.Matrix([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert parse("zeros(2, 3)") == sympy.zeros(2, 3)
    assert parse("dagger(Matrix([[1, I], [0, 0]]))") == sympy.Matrix([[1, 0], [-I, 0]])
    assert parse("transpose(sigma_y)") == -sympy.Matrix([[0, -I], [I, 0]])
    assert parse("sqrt(3)*lambda_8") == sympy.diag(1, 1, -2)
    assert parse("cos(pi*k_x) + exp(k_y)/sqrt(2)") == sympy.cos(sympy.pi * k_x) + sympy.exp(k_y) / sympy.sqrt(2)
    # Gell-Mann normalisation Tr(λa λb) = 2 δab
    lam = [parse(f"lambda_{a}") for a in range(1, 9)]
    assert all((lam[a] * lam[c]).trace() == (2 if a == c else 0) for a in range(8) for c in range(8))


@pytest.mark.parametrize(
    "text,match",
    [
        ("k_x**2 + b", "scalar .* not a matrix.*sigma_0"),
        ("Matrix([k_x, k_y])", "2x1 matrix; it must be square"),
        ("sigma_x + eye(3)", "cannot add a 2x2 and a 3x3"),
        ("sigma_x * eye(3)", "cannot multiply a 2x2 by a 3x3"),
        ("k_x @ sigma_x", "'@' needs two matrices"),
        ("k_x / sigma_x", "cannot divide by a matrix"),
        ("sigma_x / 0", "division by zero"),
        ("k_x**k_y * sigma_0", "exponent must be a number"),
        ("sigma_x**(-1)", "matrix power"),
        ("sigma_x**20", "matrix power"),
        ("ketbra(0, 1, 3)", "1-based"),
        ("proj(4, 3)", "from 1 to 3"),
        ("kron()", "wrong number of arguments for kron"),
        ("eye(2, 3)", "wrong number of arguments for eye"),
        ("Matrix([[1, 2], [3]])", "different lengths"),
        ("Matrix([[sigma_x]])", "entries must be scalars.*block"),
        ("block([[sigma_x, k_x]])", "matrices or 0"),
        ("block([[0, sigma_x], [0, sigma_z]])", "only zeros"),
        ("block([[sigma_x, eye(3)]])", "different sizes"),
        ("[k_x, k_y]", "only allowed as the argument of Matrix"),
        ("sqrt(sigma_x)", "sqrt\\(\\) takes a scalar"),
    ],
)
def test_bad_expressions(text, match):
    with pytest.raises(ssw.ModelError, match=match):
        parse_hamiltonian(text)


def test_error_names_the_line_of_a_multiline_string():
    with pytest.raises(ssw.ModelError, match="on line 3"):
        parse("k_x*sigma_0\n+ k_y*sigma_x\n+ sigma_z.T")


def test_long_flat_sums_are_fine():
    text = " + ".join(f"{i}*k_x**2*sigma_z" for i in range(1, 1500))
    assert parse(text) == sum(range(1, 1500)) * k_x**2 * sympy.diag(1, -1)


def test_limits_are_module_constants():
    assert parsing.MAX_LENGTH >= 10_000 and parsing.MAX_DIM >= 32 and parsing.MAX_DEPTH >= 50


# -- models -------------------------------------------------------------------------


def test_3d_model_with_k_z():
    Delta, P = sympy.Symbol("Delta", positive=True), sympy.Symbol("P", real=True)
    text = (
        "hbar**2*(k_x**2 + k_y**2 + k_z**2)/(2*m) * kron(eye(2), sigma_0)"
        " + Delta * kron(proj(2, 2), sigma_0) + P * k_z * kron(tau_y, sigma_0)"
    )
    model = ssw.Model.from_string(
        text, [2, 2], symbols=[Delta, P], basis=["s↑", "s↓", "p↑", "p↓"], time_reversal=True, name="kz_demo"
    )
    assert model.momenta == (k_x, k_y, k_z)
    assert model.name == "kz_demo"
    eff = ssw.effective(model, 2)
    kinetic = hbar**2 * (k_x**2 + k_y**2 + k_z**2) / (2 * m)
    expected = (kinetic - P**2 * k_z**2 / Delta) * sympy.eye(2)
    assert (eff.H - expected).applyfunc(sympy.simplify) == sympy.zeros(2)


def test_spinless_three_band_model():
    Delta, g = sympy.Symbol("Delta", positive=True), sympy.Symbol("g", real=True)
    model = ssw.Model.from_string(
        "diag(0, Delta, Delta) + g*k_x*lambda_1 + g*k_y*lambda_4",
        [1, 2],
        spin=False,
        symbols=[Delta, g],
        momenta=["k_x", "k_y"],
    )
    assert model.dim == 3 and not model.spin and model.basis is None
    eff = ssw.effective(model, 2)
    assert sympy.simplify(eff.H[0, 0] + g**2 * (k_x**2 + k_y**2) / Delta) == 0


def test_perturbation_string():
    text = "Matrix([[0, g*k_x], [g*k_x, Delta + g*k_y]])"
    model = ssw.Model.from_string(
        text, [1, 1], spin=False, symbols=["g", "Delta"], perturbation="Matrix([[0, g*k_x], [g*k_x, g*k_y]])"
    )
    g = sympy.Symbol("g", real=True)
    assert model.H1 == sympy.Matrix([[0, g * k_x], [g * k_x, g * k_y]])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(basis=["a", "b", "c"]), "basis has 3 labels"),
        (dict(basis="ab"), "list of labels"),
        (dict(momenta=["q"]), "momentum 'q' is not a symbol"),
    ],
)
def test_bad_from_string_arguments(kwargs, match):
    with pytest.raises(ssw.ModelError, match=match):
        ssw.Model.from_string("k_x**2*sigma_0", [2], **kwargs)


def test_model_checks_still_apply():
    with pytest.raises(ssw.ModelError, match="not Hermitian"):
        ssw.Model.from_string("I*k_x*sigma_0", [2])
    with pytest.raises(ssw.ModelError, match="time-reversal"):
        ssw.Model.from_string("k_x*sigma_0", [2], time_reversal=True)
    with pytest.raises(ssw.ModelError, match="split a spin doublet"):
        ssw.Model.from_string("lambda_3", [1, 2])
    assert ssw.Model.from_string("k_z*sigma_z", [2]).momenta == (k_x, k_y, k_z)
