"""The canonical (Schrieffer-Wolff / Luttinger-Kohn) transformation.

- :mod:`.series` — the order-by-order recursion formulas (Appendix D);
- :mod:`.sylvester` — exact solution of the Sylvester equation (Eq. 19);
- :mod:`.algebra` — exact rational-function matrix arithmetic;
- :mod:`.numeric` — the same recursion in floating point;
- :mod:`.closed_form` — readable closed forms;
- :mod:`.effective` — the user-facing ``effective(model, order)``.
"""

from .effective import Effective, effective, effective_numeric
from .expansion import leading_order

__all__ = ["Effective", "effective", "effective_numeric", "leading_order"]
