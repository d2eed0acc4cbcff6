"""String Hamiltonians from a hostile or careless user (issue 14): bounded cost, exact numbers, clear errors.

Each table case asserts the precise outcome — the exact parsed value, or the
``ModelError`` and its message — and that it came in under 2 s: every limit is
checked before the expensive step (SymPy expansion, matrix products), so a string
of a few dozen characters can no longer keep the parser or ``Model`` busy for minutes.
"""

import time

import pytest
import sympy

import symbolic_sw as ssw
from symbolic_sw import parsing
from symbolic_sw.parsing import parse, parse_hamiltonian
from symbolic_sw.symbols import b, hbar, k_x, k_y, m

SECONDS = 2.0  # per case

I2 = sympy.eye(2)
ONES8 = "Matrix([" + ",".join(["[" + ",".join(["1"] * 8) + "]"] * 8) + "])"
SUM6 = "(k_x+k_y+b+m+hbar+epsilon_1)"
SUM12 = "(k_x+k_y+k_z+b+m+hbar+epsilon_1+epsilon_2+a_tilde+b_tilde+gamma_1+gamma_2)"
DENSE16 = "Matrix([" + ",".join("[" + ",".join(f"k_x+{i}*b+{j}*m" for j in range(16)) + "]" for i in range(16)) + "])"
BIG = "(2**63)**64"  # 4032 bits: allowed alone, not twice


def timed(call):
    t0 = time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - t0
        assert elapsed < SECONDS, f"took {elapsed:.2f} s"


def nested(fn, depth, inner="k_x"):
    return f"{fn}(" * depth + inner + ")" * depth


# -- refused: (text, message regex) -----------------------------------------------------------

REFUSED = [
    # nesting: a ModelError about the depth, never a RecursionError
    (nested("exp", 90) + "*sigma_0", r"nested more than 40 levels deep \(functions, powers and products"),
    (nested("cos", 41) + "*sigma_0", r"nested more than 40 levels deep"),
    (nested("exp", 45, "-k_x") + "*sigma_0", r"nested more than 40 levels deep"),
    ("dagger(" + nested("sinh", 60) + ")*sigma_0", r"nested more than 40 levels deep"),
    ("-" * 200 + "k_x*sigma_0", r"nested more than 100 levels deep"),
    ("+" * 150 + "k_x*sigma_0", r"nested more than 100 levels deep"),
    # bits: a running bound over the whole expression, whatever comes first
    ("sigma_0" + f"*{BIG}" * 900, r"product would create a number with more than 4096 bits"),
    (f"Matrix([[0, 1], [0, 0]])*{BIG}*{BIG}*{BIG}*{BIG}", r"more than 4096 bits"),
    (f"(k_x + {BIG}*k_y)*{BIG}*sigma_0", r"more than 4096 bits"),
    (f"{BIG}*sigma_0 + {BIG}*{BIG}*sigma_x", r"more than 4096 bits"),
    ("(2**63*k_x + k_y)**64*sigma_0", r"the power would create a number with more than 4096 bits"),
    ("(2**40*k_x + k_y)**50*(2**40*k_x - k_y)**50*sigma_0", r"the product would create a number with more than 4096"),
    (
        "Matrix([[(2**42*k_x)**50]]) @ Matrix([[(2**42*k_y)**50]])",
        r"more than 4096 bits appears \(or would when the expression is expanded; the limit is MAX_BITS\)",
    ),
    (f"Matrix([[{BIG}, 1], [1, 0]])**2", r"more than 4096 bits"),
    ("1" * 4400 + "*sigma_0", r"a number with more than 4096 bits appears \(in `1111"),
    ("1." + "0" * 5000 + "1*sigma_0", r"a number with more than 4096 bits appears"),
    ("1e99999999*sigma_0", r"a number with more than 4096 bits appears \(in `1e99999999`\)"),
    ("1e-1300*sigma_0", r"more than 4096 bits"),
    ("0x" + "f" * 1100 + "*sigma_0", r"more than 4096 bits"),
    # names Python would normalise (NFKC) or that are not ASCII: the exact character and code point
    ("ｘ*sigma_0", r"'ｘ' \(U\+FF58 FULLWIDTH LATIN SMALL LETTER X\), which Python would silently read as `x`"),
    ("k_ｘ*sigma_0", r"the name `k_ｘ` contains .*U\+FF58.* read as `k_x`"),
    ("ｂ*sigma_z + k_x*sigma_0", r"U\+FF42 FULLWIDTH LATIN SMALL LETTER B\), which Python would silently read as `b`"),
    ("sigmа_0", r"'а' \(U\+0430 CYRILLIC SMALL LETTER A\) \(in `sigmа_0`\)"),
    ("α*sigma_0", r"'α' \(U\+03B1 GREEK SMALL LETTER ALPHA\)"),
    ("x²*sigma_0", r"'²' \(U\+00B2 SUPERSCRIPT TWO\), which Python would silently read as `x2`"),
    ("k_x*sigma_0 +\n ℌ*sigma_z", r"U\+210C BLACK-LETTER CAPITAL H.* on line 2"),
    # expansion: terms C(n+p-1, p), refused before anything is expanded
    (f"{SUM6}**64*sigma_0", r"expanding it would give more than 1000 terms \(the limit MAX_TERMS"),
    (f"{SUM6}**12*sigma_0", r"more than 1000 terms"),
    (f"{SUM12}**4*sigma_0", r"more than 1000 terms"),
    (f"exp({SUM6}**12)*sigma_0", r"more than 1000 terms"),
    (f"sigma_0/{SUM6}**12", r"more than 1000 terms"),
    (f"{SUM6}**7*kron(eye(8), sigma_0)", r"expand to more than 5000 terms in all \(the limit MAX_TOTAL_TERMS\)"),
    (f"{DENSE16}**8", r"more than 5000 terms in all"),
    ("(k_x**64)**64*sigma_0", r"a term of total degree 4096 appears \(the limit MAX_DEGREE is 128\)"),
    ("(k_x**60*k_y**60)**2*sigma_0", r"total degree 240"),
    # work: dense 64x64 products and powers are costed before they are made
    (f"kron({ONES8}, {ONES8})*kron({ONES8}, {ONES8})", r"more than 1000000 elementary operations \(a 64x64 by 64x64"),
    (f"kron({ONES8}, {ONES8})**2", r"more than 1000000 elementary operations"),
    (f"kron({ONES8}, {ONES8})**8", r"more than 1000000 elementary operations"),
    (f"kron({ONES8}, {ONES8}) @ kron({ONES8}, {ONES8})", r"elementary operations"),
    (" + ".join(["eye(64)"] * 130), r"more than 1000000 elementary operations \(matrix sums"),
]


@pytest.mark.parametrize("text,match", REFUSED, ids=[f"refused{i}" for i in range(len(REFUSED))])
def test_refused_quickly_with_a_clear_error(text, match):
    with pytest.raises(ssw.ModelError, match=match) as info:
        timed(lambda: parse(text))
    message = str(info.value)
    assert message.startswith("cannot parse the Hamiltonian string: ") and "Fix: " in message
    assert "\n" not in message and len(message) < 600  # one line, never thousands of digits


# -- accepted: (text, exact value) --------------------------------------------------------------

ACCEPTED = [
    # decimals are exact from their text, never through a float
    ("12345678901234567890.0*sigma_0", sympy.Rational("12345678901234567890") * I2),
    ("0.1*k_x", k_x / 10),
    ("1e400*k_x", sympy.Integer(10) ** 400 * k_x),
    ("1e-400*k_x", k_x / sympy.Integer(10) ** 400),  # a float would have made it 0
    ("1_000.000_1", sympy.Rational(10_000_001, 10_000)),
    ("2.5j*k_x", sympy.Rational(5, 2) * sympy.I * k_x),
    ("3J + 1E3", 1000 + 3 * sympy.I),
    (".5 + 5.", sympy.Rational(11, 2)),
    ("0.30000000000000000000000000001", sympy.Rational(30000000000000000000000000001, 10**29)),
    ("0x10 + 0o10 + 0b10", sympy.Integer(26)),
    ("9007199254740993.0*b", 9007199254740993 * b),  # 2**53 + 1: not a float
    # the literal's text is found by Python's line numbering (not split at \f or \u2028)
    (
        "k_x +\x0c 0.25 # a comment \u2028 0.75\r\n+ 12345678901234567890.5",
        k_x + sympy.Rational("12345678901234567890.75"),
    ),
    ("0.1 + 0.2 - 0.3", sympy.Integer(0)),  # 5.55e-17 with floats
    # right at the limits
    (nested("exp", 39), None),  # depth 40: the limit (built in the test)
    ("(2**64)**63", sympy.Integer(2) ** 4032),
    (f"{SUM6}**7*sigma_0", (k_x + k_y + b + m + hbar + sympy.Symbol("epsilon_1", real=True)) ** 7 * I2),
    ("(k_x**8)**8*sigma_0", k_x**64 * I2),
    # matrices: our own products give the same values as SymPy's
    ("sigma_y**2", I2),
    ("sigma_x*sigma_y", sympy.I * sympy.diag(1, -1)),
    ("Matrix([[k_x, b], [b, -k_x]])**2", (k_x**2 + b**2) * I2),
    ("Matrix([[k_x, b], [b, -k_x]])**0", I2),
    ("kron(sigma_x, sigma_0)**3", sympy.Matrix(sympy.kronecker_product(sympy.Matrix([[0, 1], [1, 0]]), I2))),
    (f"kron({ONES8}, eye(8))**2", sympy.Matrix(sympy.kronecker_product(8 * sympy.ones(8, 8), sympy.eye(8)))),
    ("k_x*sigma_0 + 2 - k_y", sympy.diag(k_x + 2 - k_y, k_x + 2 - k_y)),
    ("hbar**2*k_x**2/(2*m)*sigma_z/3", hbar**2 * k_x**2 / (6 * m) * sympy.diag(1, -1)),
]


@pytest.mark.parametrize("text,expected", ACCEPTED, ids=[f"accepted{i}" for i in range(len(ACCEPTED))])
def test_accepted_with_the_exact_value(text, expected):
    value = timed(lambda: parse(text))
    if expected is None:  # exp nested 39 deep: depth 40, the limit
        expected = k_x
        for _ in range(39):
            expected = sympy.exp(expected)
    if isinstance(value, sympy.MatrixBase):
        assert value.shape == expected.shape
        assert all(sympy.expand(x - y) == 0 for x, y in zip(value, expected))
    else:
        assert value == expected
        assert sympy.expand(value - expected) == 0


def test_long_decimal_keeps_every_digit_through_the_model():
    model = timed(lambda: ssw.Model.from_string("12345678901234567890.0*sigma_0 + k_x*sigma_z", [2]))
    assert model.H[0, 0] == sympy.Rational("12345678901234567890") + k_x


# -- through Model.from_string: the crashes of the issue are ModelErrors now ------------------

MODEL_CASES = [
    # RecursionError in the Hermiticity check before
    (nested("exp", 90) + "*sigma_0", [2], r"nested more than 40 levels deep"),
    # "Exceeds the limit (4300 digits)" (int -> str in the non-Hermitian message) before
    (f"Matrix([[0, 1], [0, 0]])*{BIG}*{BIG}*{BIG}*{BIG}", [1, 1], r"more than 4096 bits"),
    # > 60 s of expansion, MemoryError with 12 symbols, before
    (f"{SUM6}**64*sigma_0", [2], r"more than 1000 terms"),
    (f"{SUM12}**64*sigma_0", [2], r"more than 1000 terms"),
    # a non-Hermitian matrix with a large (allowed) number: the usual message
    (f"Matrix([[0, {BIG}], [0, 0]])", [1, 1], r"not Hermitian"),
    ("ｘ*sigma_0", [2], r"U\+FF58"),
]


@pytest.mark.parametrize("text,blocks,match", MODEL_CASES, ids=[f"model{i}" for i in range(len(MODEL_CASES))])
def test_model_from_string_raises_model_errors(text, blocks, match):
    with pytest.raises(ssw.ModelError, match=match):
        timed(lambda: ssw.Model.from_string(text, blocks, spin=len(blocks) == 1))


# -- declared symbol names ----------------------------------------------------------------------

BAD_SYMBOL_NAMES = ["ｘ", "α", "x²", "naïve", "1x", "lambda", "_x"]


@pytest.mark.parametrize("name", BAD_SYMBOL_NAMES)
def test_declared_symbols_must_be_ascii_identifiers(name):
    with pytest.raises(ssw.ModelError, match=r"cannot be used as a symbol name|may not start with '_'"):
        parse("sigma_0", symbols=[name])


def test_limits_are_documented_module_constants():
    for name in ("MAX_TREE_DEPTH", "MAX_TERMS", "MAX_TOTAL_TERMS", "MAX_DEGREE", "MAX_WORK"):
        assert name in parsing.__all__ and f":data:`{name}`" in parsing.__doc__
    assert (parsing.MAX_TREE_DEPTH, parsing.MAX_TERMS, parsing.MAX_TOTAL_TERMS) == (40, 1000, 5000)
    assert (parsing.MAX_DEGREE, parsing.MAX_WORK) == (128, 1_000_000)


def test_the_refusal_names_the_limit_and_the_fix():
    with pytest.raises(ssw.ModelError) as info:
        parse_hamiltonian(f"{SUM6}**64*sigma_0")
    assert str(info.value) == (
        "cannot parse the Hamiltonian string: expanding it would give more than 1000 terms (the limit "
        "MAX_TERMS; a sum of n terms to the power p has C(n+p-1, p) terms) (in `(k_x+k_y+b+m+hbar+epsilon_1)"
        "**64`). Fix: expand it by hand into fewer terms, use a smaller exponent, or split the model"
    )
