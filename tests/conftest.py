import functools

import pytest

import symbolic_sw as ssw


@functools.lru_cache(maxsize=None)
def _effective(name, order):
    model = {
        "c4v": lambda: ssw.models.samokhin_c4v(),
        "a19": lambda: ssw.models.samokhin_c4v(intrinsic_soc=True),
        "a20": lambda: ssw.models.samokhin_c4v(variant="g4g5", intrinsic_soc=True),
    }[name]()
    return ssw.effective(model, order=order)


@pytest.fixture(scope="session")
def effective_of():
    """Cached ``ssw.effective`` of the paper's models: ``effective_of("c4v", 2)``."""
    return _effective
