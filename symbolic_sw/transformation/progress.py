"""Progress lines for long derivations: what is being done, and since when.

A derivation at order 6 runs for tens of seconds; a reporter tells the user which
order of the series (Appendix D) or which effective operator (Eqs. 18-22, 27) is being
computed, with the elapsed time, as one short line per step on stderr. Reporting is a
call per order and per operator — never inside the products of the hot loop — so it
costs nothing measurable.
"""

from __future__ import annotations

import sys
import time

from ..errors import ModelError

__all__ = ["Progress", "reporter"]


class Progress:
    """A callable that prints ``[symbolic-sw   2.3 s] label: text`` lines to a stream.

    Parameters
    ----------
    label : str
        What is derived (a model or derivation name), prefixed to every line.
    stream : file, optional
        Where the lines go (default: ``sys.stderr`` at the time of each call, so that
        a captured or redirected stderr receives them).
    after : float
        Lines are printed only once this many seconds have passed: a derivation that
        is over in a moment stays silent.
    """

    def __init__(self, label="", stream=None, after=0.0):
        self.label, self.stream, self.after = label, stream, float(after)
        self.start = time.perf_counter()

    def __call__(self, text):
        """Print one line (if ``after`` seconds have passed); a dead stream is ignored."""
        elapsed = time.perf_counter() - self.start
        if elapsed < self.after:
            return
        prefix = f"{self.label}: " if self.label else ""
        try:
            print(f"[symbolic-sw {elapsed:6.1f} s] {prefix}{text}", file=self.stream or sys.stderr, flush=True)
        except (OSError, ValueError):
            pass  # a closed stderr must not stop the derivation


def reporter(progress, label=""):
    """The callable for a ``progress`` argument: ``True`` → :class:`Progress`, a callable as is, else ``None``."""
    if progress is True:
        return Progress(label)
    if callable(progress):
        return progress
    if progress is None or progress is False:
        return None
    raise ModelError(
        f"progress must be True, False or a callable receiving each line, got {progress!r}. Fix: progress=True."
    )
