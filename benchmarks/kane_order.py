"""One measurement on the 8-band Kane model (run by benchmarks/run.py in its own process).

    python benchmarks/kane_order.py ORDER BACKEND {xyz,jm}

The model: Γ6 conduction (2 states) and Γ8 + Γ7 valence (6 states) as one block,
blocks ``[2, 6]``, couplings ``-i P k_i``, valence block ``(Δ/3)(L·σ − 1)`` and
``ħ²k²/2m_0`` in every band; ``xyz`` is the (S, X, Y, Z) ⊗ spin basis (plain
polynomials), ``jm`` the valence states of definite ``J, m_J`` (couplings with
√2, √3, √6: surds as generators).  Built here (the same matrices as
``tests/test_any_model.py``) so that the benchmark does not depend on a factory.

Prints one JSON line: seconds for ``ssw.effective(model, ORDER, backend=BACKEND)``
plus the closed form of the conduction block's ``H`` (the model is built before
the timer), ``count_ops`` of it and the peak resident memory of this process.
"""

import json
import resource
import sys
import time

import sympy

import symbolic_sw as ssw
from symbolic_sw.pauli import SIGMA, kron
from symbolic_sw.symbols import E_g, hbar, k_x, k_y, k_z

I = sympy.I
P, Delta, m_0 = sympy.symbols("P Delta m_0", positive=True)


def kane(basis):
    """The Kane model in the ``"xyz"`` or ``"jm"`` basis, blocks [2, 6] (module docstring)."""
    kin = hbar**2 * (k_x**2 + k_y**2 + k_z**2) / (2 * m_0)
    L = [sympy.Matrix(3, 3, lambda i, j, k=k: -I * sympy.LeviCivita(k, i, j)) for k in range(3)]
    LS = sum((kron(L[k], SIGMA["xyz"[k]]) for k in range(3)), sympy.zeros(6))
    H = sympy.diag((E_g + kin) * sympy.eye(2), kin * sympy.eye(6) + Delta / 3 * (LS - sympy.eye(6)))
    for n, k in enumerate((k_x, k_y, k_z)):
        for s in range(2):
            H[s, 2 + 2 * n + s], H[2 + 2 * n + s, s] = -I * P * k, I * P * k
    if basis == "jm":

        def orbital(o, s):
            v = sympy.zeros(6, 1)
            v[2 * o + s] = 1
            return v

        plus = [-(orbital(0, s) + I * orbital(1, s)) / sympy.sqrt(2) for s in (0, 1)]
        minus = [(orbital(0, s) - I * orbital(1, s)) / sympy.sqrt(2) for s in (0, 1)]
        r1, r2 = sympy.sqrt(sympy.Rational(1, 3)), sympy.sqrt(sympy.Rational(2, 3))
        states = [
            plus[0],
            r1 * plus[1] + r2 * orbital(2, 0),
            r2 * orbital(2, 1) + r1 * minus[0],
            minus[1],
            r2 * plus[1] - r1 * orbital(2, 0),
            r1 * orbital(2, 1) - r2 * minus[0],
        ]
        U = sympy.diag(sympy.eye(2), sympy.Matrix.hstack(*states))
        H = (U.H * H * U).applyfunc(sympy.expand)
    return ssw.Model(H, [2, 6], momenta=(k_x, k_y, k_z), name=f"kane_{basis}")


def main(order, backend, basis):
    model = kane(basis)
    t0 = time.perf_counter()
    eff = ssw.effective(model, order, backend=backend)
    H = eff.H
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "model": f"kane_{basis}",
                "order": order,
                "backend": eff.backend,
                "seconds_H": round(seconds, 3),
                "ops_H": int(sympy.count_ops(H)),
                "counts": eff.counts,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
