"""The derivation cache's file format: data that cannot execute, checked before use.

A cache file is two parts: one header line of JSON, ``{"format": "symbolic-sw-cache",
"version": 1, "sha256": <hex>}``, and the payload, JSON whose SHA-256 the header holds::

    {"context": {...}, "derived": {...}, "expressions": "[Symbol('b', real=True), ...]",
     "files": {"kernels.py": "...", ...}, "key": "<cache key>"}

``expressions`` is a :class:`~.safe_sympy.Table` (SymPy ``srepr`` syntax read back by a
whitelist of constructors, never by ``eval``/``sympify``/``pickle``); ``derived`` holds the
other fields of :class:`~.derive.Derived` with its expressions as indices into that table.
:func:`decode` checks everything — hash, format, the key and context it was written for,
every field's type — and raises :class:`CacheMiss` on the first discrepancy: a corrupt
or foreign file is recomputed, never used. :func:`encode` refuses (``CacheMiss``) what it
could not read back exactly, so a result is cached only if the reader rebuilds it identically.

Where the entries live (:func:`cache_dir`, first that applies): ``--cache-dir DIR`` of the
command line (:func:`using`); ``$SYMBOLIC_SW_CACHE``; in the development checkout its
``.cache/symbolic-sw/`` (what ``make`` and CI use, ``make clean`` removes); otherwise the
user's cache folder, ``platformdirs.user_cache_dir("symbolic-sw")`` (``$XDG_CACHE_HOME/symbolic-sw``
when that is set, ``~/.cache/symbolic-sw`` on Linux) — never inside the installed package.

Reading an entry runs nothing. The hash detects corruption, it is not a signature: whoever
may write the cache folder can still forge an entry with its hash, and so choose the text
of the files that a later ``generate`` writes (text that runs when those kernels are
imported) — as whoever may write ``derivations/`` or ``generated/`` can. :func:`read`
therefore uses only the current user's own entries (POSIX: owner and permissions), so
that a shared cache folder lets no other user choose them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import keyword
import os
import re
import stat
from pathlib import Path

import platformdirs
import sympy

from ..derivation import CHECKOUT
from ..errors import ModelError
from .derive import Derived
from .safe_sympy import Table, UnsafeExpressionError, load_table

__all__ = ["ENV", "FORMAT", "VERSION", "CacheMiss", "cache_dir", "check_cache_dir", "decode", "encode", "read", "using"]

#: the environment variable naming the cache folder
ENV = "SYMBOLIC_SW_CACHE"

FORMAT = "symbolic-sw-cache"
VERSION = 1
#: a cache file larger than this is not read (the shipped specs' are < 0.5 MB)
MAX_BYTES = 256 * 2**20
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_DERIVED_KEYS = {
    "order",
    "momenta",
    "operators",
    "parameters",
    "equation",
    "timings",
    "hbar",
    "n_blocks",
    "exact",
    "couplings",
}


class CacheMiss(Exception):  # noqa: N818 (a miss, not an error: the caller recomputes)
    """The cache entry cannot be used (missing, corrupt, foreign, unreadable): recompute."""


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def encode(derived: Derived, files: dict, *, key: str, context: dict) -> bytes:
    """The bytes of a cache file for ``(derived, files)``, checked to read back exactly.

    Raises
    ------
    CacheMiss
        When the result holds something the reader would not rebuild identically (an
        expression outside the whitelist, a non-finite timing): it is then not cached.
    """
    data = _encode(derived, files, key, context)
    back = decode(data, derivation=derived.derivation, key=key, context=context)
    if _encode(*back, key, context) != data:  # the same tree, types and precisions included
        raise CacheMiss("it does not read back identically")
    return data


def _encode(derived, files, key, context) -> bytes:
    table = Table()
    try:
        derived_data = {
            "order": derived.order,
            "momenta": [table.add(s) for s in derived.momenta],
            "operators": [[name, table.add(M)] for name, M in derived.operators.items()],
            "parameters": [table.add(s) for s in derived.parameters],
            "equation": derived.equation,
            "timings": {str(k): float(v) for k, v in derived.timings.items()},
            "hbar": None if derived.hbar is None else table.add(derived.hbar),
            "n_blocks": derived.n_blocks,
            "exact": derived.exact,
            "couplings": None if derived.couplings is None else [table.add(c) for c in derived.couplings],
        }
        payload = {
            "key": key,
            "context": context,
            "files": files,
            "derived": derived_data,
            "expressions": table.text(),
        }
        body = _canonical(payload)
    except (UnsafeExpressionError, TypeError, ValueError) as exc:
        raise CacheMiss(str(exc)) from None
    header = _canonical({"format": FORMAT, "version": VERSION, "sha256": hashlib.sha256(body).hexdigest()})
    return header + b"\n" + body


def decode(data: bytes, *, derivation, key: str, context: dict):
    """``(Derived, files)`` from the bytes of a cache file, or :class:`CacheMiss`.

    Parameters
    ----------
    derivation : Derivation
        The spec the entry is for (its content is part of ``key``); becomes the
        result's ``derivation``.
    key, context
        What the entry must have been written for (its cache key; the spec's location
        as the rendered files quote it).
    """
    header, sep, body = data.partition(b"\n")
    if not sep:
        raise CacheMiss("no header line")
    try:
        head = json.loads(header)
        if not isinstance(head, dict) or head.get("format") != FORMAT or head.get("version") != VERSION:
            raise CacheMiss(f"not a {FORMAT} version {VERSION} file")
        if not isinstance(head.get("sha256"), str) or hashlib.sha256(body).hexdigest() != head["sha256"]:
            raise CacheMiss("content hash mismatch (corrupt or edited)")
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSON, UTF-8
        raise CacheMiss(f"unreadable: {exc}") from None
    _expect(isinstance(payload, dict) and set(payload) == {"key", "context", "files", "derived", "expressions"})
    if payload["key"] != key:
        raise CacheMiss("written for another cache key")
    if payload["context"] != context:
        raise CacheMiss("written for the spec at another location")
    files = payload["files"]
    _expect(isinstance(files, dict) and files)
    _expect(all(isinstance(n, str) and _FILE_NAME.fullmatch(n) and isinstance(t, str) for n, t in files.items()))
    try:
        entries = load_table(payload["expressions"], symbol_name=_is_identifier)
    except UnsafeExpressionError as exc:
        raise CacheMiss(f"expressions: {exc}") from None
    return _derived(payload["derived"], entries, derivation), files


def _expect(condition, what="unexpected content"):
    if not condition:
        raise CacheMiss(what)


def _is_identifier(name: str) -> bool:
    """Symbol names the generated code can use as they are (parameters, momenta)."""
    return name.isidentifier() and not keyword.iskeyword(name)


def _derived(d, entries, derivation) -> Derived:
    _expect(isinstance(d, dict) and set(d) == _DERIVED_KEYS)

    def ref(i, kind=sympy.Expr):
        _expect(type(i) is int and 0 <= i < len(entries), "a reference out of the table")
        value = entries[i]
        _expect(isinstance(value, kind) and (kind is sympy.ImmutableDenseMatrix or not value.is_Matrix))
        return value

    def refs(items, kind=sympy.Expr):
        _expect(isinstance(items, list))
        return tuple(ref(i, kind) for i in items)

    operators = d["operators"]
    _expect(isinstance(operators, list) and operators)
    _expect(all(isinstance(o, list) and len(o) == 2 and isinstance(o[0], str) for o in operators))
    names = [o[0] for o in operators]
    _expect(len(set(names)) == len(names) and all(n.isidentifier() for n in names))
    _expect(type(d["order"]) is int and d["order"] >= 1 and type(d["n_blocks"]) is int and d["n_blocks"] >= 1)
    _expect(isinstance(d["equation"], str) and (d["exact"] is None or type(d["exact"]) is bool))
    timings = d["timings"]
    _expect(isinstance(timings, dict) and all(type(v) in (int, float) for v in timings.values()))
    matrices = {name: ref(i, sympy.ImmutableDenseMatrix) for name, i in operators}
    _expect(len({M.shape for M in matrices.values()}) == 1, "operators of different shapes")
    return Derived(
        derivation=derivation,
        order=d["order"],
        momenta=refs(d["momenta"], sympy.Symbol),
        operators=matrices,
        parameters=refs(d["parameters"], sympy.Symbol),
        equation=d["equation"],
        timings={k: float(v) for k, v in timings.items()},
        hbar=None if d["hbar"] is None else ref(d["hbar"]),
        n_blocks=d["n_blocks"],
        exact=d["exact"],
        couplings=None if d["couplings"] is None else refs(d["couplings"]),
    )


def read(path: Path) -> bytes:
    """The bytes of a cache file, or :class:`CacheMiss` (absent, unreadable, too large, not ours).

    On POSIX an entry is used only if the current user owns it, other users may not write
    it, and its folder is not writable by every user without the sticky bit (as in
    ``/tmp``): an entry planted or replaced by another user is recomputed.
    """
    path = Path(path)
    try:
        if path.is_symlink():
            raise CacheMiss("a symbolic link")
        st = path.stat()
        if st.st_size > MAX_BYTES:
            raise CacheMiss("too large")
        if hasattr(os, "getuid"):
            if st.st_uid != os.getuid():
                raise CacheMiss("owned by another user")
            if st.st_mode & stat.S_IWOTH:
                raise CacheMiss("writable by other users")
            folder = path.parent.stat().st_mode
            if folder & stat.S_IWOTH and not folder & stat.S_ISVTX:
                raise CacheMiss("in a folder every user may write")
        return path.read_bytes()
    except OSError as exc:
        raise CacheMiss(f"unreadable: {exc.strerror or exc}") from None


# -- where the entries live ------------------------------------------------------------------

#: folders chosen by :func:`using` (innermost last); a stack, so that nested uses restore
_CHOSEN: list = []


def cache_dir() -> Path:
    """The folder of the cache entries (see the module docstring for the order of precedence).

    Raises
    ------
    ModelError
        If the chosen folder (``--cache-dir``, ``$SYMBOLIC_SW_CACHE``) exists and is not a folder.
    """
    if _CHOSEN:
        return _CHOSEN[-1]
    if os.environ.get(ENV):
        return check_cache_dir(os.environ[ENV], f"${ENV}")
    if CHECKOUT is not None:
        return CHECKOUT / ".cache" / "symbolic-sw"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):  # honoured on every platform (platformdirs does on Linux only)
        return Path(xdg) / "symbolic-sw"
    return Path(platformdirs.user_cache_dir("symbolic-sw", appauthor=False))


def check_cache_dir(path, option="--cache-dir") -> Path:
    """``path`` as a cache folder, refused as one :class:`ModelError` if it cannot be one.

    A folder that does not exist yet is created on the first write; a folder that cannot be
    written only costs time (nothing is cached). What cannot work is a file or a device in
    its place (``/dev/null``), or a file on the way to it.
    """
    path = Path(path).expanduser()
    for at in (path, *path.parents):
        if at.exists():
            if not at.is_dir():
                where = "" if at == path else f" ({at} is a file on the way)"
                raise ModelError(
                    f"{option} {path}: not a folder{where}. Fix: give a folder for the derivation cache, "
                    f"e.g. {option} ~/.cache/symbolic-sw."
                )
            break
    return path


@contextlib.contextmanager
def using(path):
    """Use ``path`` as the cache folder inside the ``with`` block (``--cache-dir``; ``None``: no change)."""
    if path is None:
        yield
        return
    _CHOSEN.append(check_cache_dir(path))
    try:
        yield
    finally:
        _CHOSEN.pop()
