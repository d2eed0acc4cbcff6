"""The one error type users see: a request that cannot be given a correct answer."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model, operator or request that cannot be given a correct answer.

    The message names the problem and the fix.  A ``ValueError``, so code that
    already catches bad values catches it too.
    """
