"""Cost guard (as in pymablock's tests): the algorithm's work per order is pinned.

Matrix products and Sylvester solves of the recursion for Eq. (33); a change that
makes the algorithm do more work fails here, whatever the machine's speed.  If a
change does *less* work, update the numbers.
"""

import pytest

import symbolic_sw as ssw

#: order → (after H_eff, after also transforming one operator J_x,y)
PINNED = {
    2: ({"products": 5, "solves": 1}, {"products": 11, "solves": 1}),
    4: ({"products": 22, "solves": 2}, {"products": 39, "solves": 2}),
    6: ({"products": 51, "solves": 3}, {"products": 83, "solves": 3}),
}


@pytest.mark.parametrize("order", sorted(PINNED))
def test_products_and_solves_per_order(order):
    eff = ssw.effective(ssw.models.samokhin_c4v(), order=order)
    assert eff.counts == PINNED[order][0]
    eff._op_raw(ssw.operators.spin_current(eff.model, "x", "y"), cache=True)
    assert eff.counts == PINNED[order][1]
    # a second operator reuses the U-series: only its own products are added
    before = eff.counts["products"]
    eff._op_raw(ssw.operators.spin_current(eff.model, "y", "x"), cache=True)
    assert eff.counts["products"] - before == PINNED[order][1]["products"] - PINNED[order][0]["products"]
    assert eff.counts["solves"] == PINNED[order][0]["solves"]
