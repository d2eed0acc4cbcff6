"""The generation pipeline: derivation spec → ``generated/<name>/`` (kernels, LaTeX, README).

Outputs are pure functions of (spec content, package source, SymPy version), so
they are cached under that key and regeneration is byte-for-byte deterministic. The
cache holds data only (:mod:`.cache`: JSON and SymPy ``srepr`` text read back by a
whitelist, with a content hash checked on load: anything wrong is recomputed).

A generated folder is written as one set (:mod:`.atomic`), and its README ends with a
manifest, the SHA-256 of every file of the set: :func:`load_kernels` refuses a folder
whose files do not match it (an interrupted write, files of two generations).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.abc
import importlib.util
import inspect
import json
import os
import shlex
import sys
from pathlib import Path

import sympy

from .. import operators as ops
from .._version import __version__
from ..codegen.environment import environment
from ..codegen.kernels import BACKENDS, check_names, describe, kernel_functions
from ..codegen.observables import observables_context, observables_unavailable
from ..derivation import DERIVATIONS, ROOT, Derivation, list_derivations, load_derivation, shipped_folder
from ..errors import ModelError
from ..notation import display_form, operator_layout, operator_symbol
from . import atomic
from .cache import CacheMiss, cache_dir, decode, encode
from .cache import read as read_cache
from .derive import Derived, derive

__all__ = [
    "FILES",
    "GENERATED",
    "build",
    "build_operators",
    "check_output_folder",
    "generate",
    "generate_all",
    "load_kernels",
    "observables_skipped",
    "render",
]

PACKAGE = Path(__file__).resolve().parent.parent
#: the shipped specs' generated folders, where ``load_kernels(NAME)`` looks: the checkout's
#: ``generated/`` (what ``make generated`` writes), or in an installed package its read-only copy
#: (:func:`~symbolic_sw.derivation.shipped_folder`); override with $SYMBOLIC_SW_GENERATED
GENERATED = Path(os.environ.get("SYMBOLIC_SW_GENERATED") or shipped_folder("generated"))
FILES = (*(b.filename for b in BACKENDS.values()), "operators.tex", "README.md")  # + observables.py on request
#: every file a generated folder may hold
_GENERATED_NAMES = (*FILES, "observables.py")
#: the README's last line: ``<!-- symbolic-sw manifest: {JSON} -->``
_MANIFEST = "<!-- symbolic-sw manifest: "
_ENV = environment()


def _spec_label(derivation: Derivation) -> str:
    if _shipped(derivation):  # the same text from the checkout and from an installed package
        return f"derivations/{Path(derivation.path).name}"
    try:
        return derivation.path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return derivation.path.name


def _order_text(derived: Derived) -> str:
    d = derived.derivation
    text = f"{derived.order} in the inter-block coupling"
    for group, degree in d.perturbative.items():
        text += f", {degree} in {', '.join(group)}"
    if d.leading_order:
        lo = d.leading_order
        text += f"; expanded to order {lo['order']} in {lo['small']}"
    if not d.perturbative and not d.leading_order and derived.exact:
        text = "exact (nothing is eliminated)"
    return text


def _model_text(d: Derivation) -> str:
    """Where the model comes from, for the generated README (Markdown)."""
    options = ", ".join(f"{k}={v!r}" for k, v in d.model_options.items())
    if d.string_model is not None:
        return (
            f"the `HAMILTONIAN` string of the spec, `Model.from_string(HAMILTONIAN, "
            f"{d.string_model['BLOCKS']!r}{', ' + options if options else ''})`"
        )
    if ":" in d.model_factory:
        where, _, func = d.model_factory.rpartition(":")
        return f"`{func}({options})` from `{where}`"
    return f"`symbolic_sw.models.{d.model_factory}({options})`"


def render(derived: Derived, only=None, warn=None, progress=None) -> dict:
    """File name → text of every generated file (or of the names in ``only``; the LaTeX is always made).

    ``observables.py`` is made only when its closed forms exist (:func:`observables_skipped`);
    otherwise ``warn`` (default: nothing) receives one line saying why, and the rest is made.
    ``progress`` (optional) hears of each file before it is rendered.
    """
    progress = progress or (lambda _line: None)
    d = derived.derivation
    check_names(derived.parameters, derived.momenta, derived.operators, observables=d.observables)
    spec = _spec_label(d)
    common = {
        "name": d.name,
        "title": d.title,
        "description": d.description,
        "order": derived.order,
        "model": d.model_factory,
        "equations": list(d.equations),
        "parameters": [str(p) for p in derived.parameters],
        "shape": derived.shape,
        "momenta": [str(k) for k in derived.momenta],
    }
    files = {}
    for backend in BACKENDS.values():
        if only is not None and backend.filename not in only:
            continue
        progress(f"rendering {backend.filename}")
        files[backend.filename] = _ENV.get_template(backend.template).render(
            header=f"# GENERATED by make from {spec} — do not edit",
            runtime=backend.source(),
            functions=kernel_functions(derived.operators, derived.parameters, derived.momenta, backend),
            **common,
        )
    progress("rendering operators.tex")
    sections = []
    for kind in ops.KINDS.values():
        entries = [
            {
                "name": n,
                "doc": describe(n),
                "symbol": operator_symbol(n),
                "rows": [" ".join(text for _, text in row if text) for row in operator_layout(M)],
            }
            for n, M in derived.operators.items()
            if ops.kind_of(n)[0] is kind
        ]
        if entries:
            sections.append({"title": kind.title, "operators": entries})
    gap_note = any(display_form(M[0, 0]) != M[0, 0] for M in derived.operators.values())
    note = (
        "The coupling written $\\tilde{b}$ here is the renormalised $\\tilde{b}' = \\tilde{b}"
        "(1 + b/\\mathcal{E}_g)$ (ERRATA item 4)."
        if d.leading_order and any(str(s) == "b_tilde" for s in d.leading_order["substitutions"])
        else ""
    )
    files["operators.tex"] = _ENV.get_template("operators.tex.j2").render(
        header=f"% GENERATED by make from {spec} — do not edit",
        sections=sections,
        gap_note=gap_note,
        note=note,
        **common,
    )
    if only is not None:
        return {name: text for name, text in files.items() if name in only}
    if d.observables:
        progress("observables.py: checking that its closed forms exist")
    reason = observables_skipped(derived) if d.observables else None
    if d.observables and reason is None:
        try:
            context = observables_context(
                derived.operators["H"],
                derived.operators["J_x_y"],
                momenta=derived.momenta,
                hbar=derived.hbar,
                couplings=derived.couplings,
                order=derived.order,
            )
        except ModelError as exc:  # not foreseen by the quick test: still write everything else
            reason = " ".join(str(exc).split(", got")[0].split())[:200]
        else:
            files["observables.py"] = _ENV.get_template("observables.py.j2").render(
                header=f"# GENERATED by make from {spec} — do not edit", **context, **common
            )
    if reason is not None and warn is not None:
        warn(_skipped_line(derived, reason))
    files["README.md"] = _readme(derived, files)
    return files


def observables_skipped(derived: Derived):
    """Why the spec's ``observables.py`` (J_s, Eqs. 49-52) cannot be made at this order, or ``None``.

    Decided in under a second from H and J_x_y (:func:`~symbolic_sw.codegen.observables.observables_unavailable`),
    before any of the symbolic work of the closed forms: at order ≥ 4 H_eff has k⁴ terms and
    the unexpanded closed form does not exist.
    """
    ops_ = derived.operators
    if "H" not in ops_ or "J_x_y" not in ops_:
        return "the spec's operators lack H or J_x_y"
    if derived.shape not in ((2, 2), (4, 4)):
        return f"the closed forms take 2×2 effective operators (or 4×4 in two sectors), not {derived.shape}"
    return observables_unavailable(
        ops_["H"],
        ops_["J_x_y"],
        momenta=derived.momenta,
        hbar=derived.hbar,
        couplings=derived.couplings,
    )


def _skipped_line(derived: Derived, reason: str) -> str:
    return (
        f"{derived.name}: equilibrium current: no closed form at order {derived.order} ({reason}); "
        f"observables.py skipped (the numeric k-integral, symbolic_sw.observables.effective_spin_current, "
        f"works at any order)"
    )


# -- the README: what the folder holds, how it was made, how to load it ---------------------


def _readme(derived: Derived, files, out=None) -> str:
    """The README of the folder ``out`` (default: where :func:`generate` writes) holding ``files``."""
    d = derived.derivation
    values = {str(p): d.values.get(str(p), 1.0) for p in derived.parameters}
    return _ENV.get_template("README.md.j2").render(
        spec_path=_spec_label(d),
        model_text=_model_text(d),
        equation=derived.equation,
        order_text=_order_text(derived),
        values=values,
        functions=[{"name": n, "doc": describe(n)} for n in derived.operators],
        observables="observables.py" in files,
        # certify's exact rotation multiplies floats, where momenta commute: no check for fields
        certifiable=not d.declares_commutators,
        **{"other_out": False, **_provenance(d, derived.order, out)},
        name=d.name,
        title=d.title,
        description=d.description,
        order=derived.order,
        equations=list(d.equations),
        parameters=[str(p) for p in derived.parameters],
        shape=derived.shape,
        momenta=[str(k) for k in derived.momenta],
    )


def _shown(path: Path, base: Path) -> str:
    """``path`` as the README writes it: relative to ``base`` when inside it, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(os.path.abspath(base)).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _same(a: Path, b: Path) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


def _provenance(d: Derivation, order: int, out) -> dict:
    """How the folder was made, and how to load and regenerate it, for its README.

    A shipped spec's README does not depend on where it is written (``out``): at the spec's
    own order it is the committed folder, byte for byte, loaded by name (``make generated``);
    at another order it names ``symbolic-sw derive NAME --order N`` and the default folder
    (the checkout's ``generated/``, loaded by name; for an installed package
    ``./generated/NAME_orderN``). A spec given by path: ``made`` is the exact command, with
    the paths (and the one to load) relative to the spec's folder (``where``), so that the
    README holds wherever the command was typed, or absolute when outside it.
    """
    if _shipped(d):
        if order == d.order:
            return {"made": None, "loader": d.name, "where": "", "load_where": "", "spec_arg": d.name}
        default = _default_out(d, order)
        in_checkout = not _is_package_data(GENERATED)  # load_kernels finds it by name in generated/
        loader = default.name if in_checkout else f"generated/{default.name}"
        where = "" if in_checkout else f"the folder that contains `{loader}`"
        return {
            "made": f"symbolic-sw derive {d.name} --order {order}",
            "loader": loader,
            "where": where,
            "load_where": where,
            "spec_arg": d.name,
            "other_out": True,
        }
    default = _default_out(d, order)
    out = default if out is None else Path(out)
    base, spec_arg = Path(d.path).parent, Path(d.path).name
    args = [spec_arg, *(["--order", str(order)] if order != d.order else [])]
    args += [] if _same(out, default) else ["--out", _shown(out, base)]
    loader = _shown(out, base)
    where = f"the folder of `{spec_arg}`"
    return {
        "made": "symbolic-sw derive " + " ".join(shlex.quote(a) for a in args),
        "loader": loader,
        "where": where,
        "load_where": "" if Path(loader).is_absolute() else where,
        "spec_arg": shlex.quote(spec_arg),
    }


def _is_package_data(path: Path) -> bool:
    """Whether ``path`` lies inside the installed package (its shipped data): never written."""
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(PACKAGE))


def _output_root() -> Path:
    """Where a shipped spec's folder goes by default: the checkout's ``generated/``, else ``./generated``."""
    return Path.cwd() / "generated" if _is_package_data(GENERATED) else GENERATED


def _default_out(d: Derivation, order: int) -> Path:
    """The folder :func:`generate` writes without ``out``: ``<root>/NAME`` (``NAME_orderN`` at another order).

    The root is :func:`_output_root` for a shipped spec and ``generated/`` next to the spec
    file for any other (a user's own model never writes into the installed package).
    """
    suffix = "" if order in (None, d.order) else f"_order{order}"
    root = _output_root() if _shipped(d) else Path(d.path).parent / "generated"
    return root / f"{d.name}{suffix}"


# -- cache -------------------------------------------------------------------------


def _source_digest() -> str:
    """Digest of the package's own code and templates: a code change invalidates the cache."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        parts = path.relative_to(PACKAGE).parts
        if path.suffix in (".py", ".j2") and "__pycache__" not in parts and parts[0] != "_data":  # data, not code
            h.update(path.relative_to(PACKAGE).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _cache_dir() -> Path:
    return cache_dir()


def _kinds_digest(symbols):
    """What the package digest misses: operator kinds registered at run time (their recipe's source)."""
    out = []
    for symbol in symbols:
        kind = ops.KINDS[symbol]
        if symbol in ops.BUILTIN_KINDS:
            continue
        try:
            out.append(inspect.getsource(kind.build))
        except (OSError, TypeError):
            out.append(repr(kind))  # no source: an address, so never a stale hit
        out.append(repr(dataclasses.replace(kind, build=None, algebra=None)))
    return out


def _cache_key(derivation: Derivation, order: int) -> str:
    parts = [
        derivation.digest,
        str(order),
        __version__,
        sympy.__version__,
        _source_digest(),
        *_kinds_digest(derivation.operators),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _shipped(derivation: Derivation) -> bool:
    return Path(derivation.path).resolve().parent == Path(DERIVATIONS).resolve()


def _render_context(derivation: Derivation) -> dict:
    """What the rendered files take from the spec's location (not part of the cache key)."""
    return {"spec": _spec_label(derivation), "shipped": _shipped(derivation)}


def _expected_files(derivation: Derivation) -> set:
    return set(FILES) | ({"observables.py"} if derivation.observables else set())


def _cached(derivation: Derivation, order: int, log):
    """``(path, key, context, hit)``: where the entry of ``(derivation, order)`` lives, and it if usable."""
    key = _cache_key(derivation, order)
    path = _cache_dir() / f"{derivation.name}-{key}.json"
    context = _render_context(derivation)
    if not os.path.lexists(path):
        return path, key, context, None
    try:
        derived, files = decode(read_cache(path), derivation=derivation, key=key, context=context)
        # observables.py is absent when its closed form does not exist at this order
        if not set(FILES) <= set(files) <= _expected_files(derivation) or derived.order != order:
            raise CacheMiss("not the files this spec generates")
    except Exception as exc:  # a bad entry is recomputed, whatever is wrong with it
        log(f"{derivation.name}: cache entry {path.name} not used ({exc}); recomputing")
        return path, key, context, None
    log(f"{derivation.name}: cached")
    return path, key, context, (derived, files)


def build(spec, order=None, cache=True, log=None, warn=None, progress=None):
    """``(derived, files)`` for a spec, from the cache when nothing it depends on changed.

    A cache entry is used only if it reads back whole and unaltered (:mod:`.cache`);
    otherwise the derivation runs again and replaces it. ``warn`` (default: ``log``)
    receives the one line saying that ``observables.py`` is skipped (no closed form at
    this order, :func:`observables_skipped`), ``progress`` the per-order and per-operator
    lines of the derivation.
    """
    derivation = spec if isinstance(spec, Derivation) else load_derivation(spec)
    order = derivation.order if order is None else order
    log = log or (lambda _line: None)
    warn = warn or log
    path, key, context, hit = _cached(derivation, order, log) if cache else (None, None, None, None)
    if hit is not None:
        derived, files = hit
        if derivation.observables and "observables.py" not in files:
            warn(_skipped_line(derived, observables_skipped(derived) or "its closed form was refused"))
        return derived, _finish(derived, files)
    derived = derive(derivation, order=order, log=log, progress=progress)
    files = render(derived, warn=warn, progress=progress)
    if cache:
        _store(path, derived, files, key=key, context=context, log=log)
    return derived, _finish(derived, files)


def _finish(derived: Derived, files: dict, out=None) -> dict:
    """``files`` with the README of the folder ``out`` (how it was made, how to load it) and the manifest.

    The README is rendered here, not taken from the cache: it names the output folder, which
    is not part of the cache key. Finishing a finished set again (for another ``out``) replaces
    its README and manifest.
    """
    files = {**files, "README.md": _readme(derived, files, out)}
    return _with_manifest(files, derived.derivation, derived.order)


def build_operators(spec, order=None, names=None, cache=True, log=None, progress=None) -> Derived:
    """The effective operators of a spec, without the generated files: for ``show`` and ``latex``.

    A complete cache entry is used when there is one; otherwise only the operators
    ``names`` (default: all the spec's) are derived — no kernels, no closed-form
    observables — and nothing is cached (a partial result is not a generated set).
    """
    derivation = spec if isinstance(spec, Derivation) else load_derivation(spec)
    order = derivation.order if order is None else order
    log = log or (lambda _line: None)
    hit = _cached(derivation, order, log)[3] if cache else None
    if hit is not None:
        derived = hit[0]
        missing = [n for n in names or () if n not in derived.operators]
        if missing:
            raise ModelError(
                f"no operator {missing[0]!r} in {derivation.name!r}; available: {', '.join(derived.operators)}. "
                f"Fix: use one of these names."
            )
        return derived
    return derive(derivation, order=order, log=log, names=names, progress=progress)


def _store(path: Path, derived: Derived, files: dict, *, key, context, log):
    """Cache ``(derived, files)`` if they read back identically; a failure only costs time."""
    try:
        data = encode(derived, files, key=key, context=context)
    except Exception as exc:  # CacheMiss: not representable in the format
        log(f"{derived.name}: not cached ({exc})")
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic.write_file(path, data, mode=0o600)  # private: only the user's own entries are read
    except OSError:
        pass  # a read-only cache location only costs time


# -- the manifest --------------------------------------------------------------------


def _digest(data: bytes) -> str:
    """SHA-256 of a file's bytes, line endings normalised (a CRLF checkout still matches)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _with_manifest(files: dict, derivation: Derivation, order: int) -> dict:
    """``files`` with the manifest of the set as the README's last line.

    The manifest is deterministic (no time, no path, no version): the SHA-256 of every
    file (of the README: of its text above the manifest), the spec's name, order and
    content digest. It is the last line of the README, which is written last.
    """
    body = files["README.md"]
    digests = {name: _digest(text.encode("utf-8")) for name, text in files.items() if name != "README.md"}
    digests["README.md"] = _digest(body.encode("utf-8"))
    manifest = {
        "files": dict(sorted(digests.items())),
        "name": derivation.name,
        "order": order,
        "spec_sha256": derivation.digest,
    }
    line = _MANIFEST + json.dumps(manifest, ensure_ascii=True, separators=(", ", ": ")) + " -->\n"
    return {**files, "README.md": body + "\n" + line}


def _read_manifest(readme: bytes):
    """``(manifest, README text above it)`` of a generated README, or ``None``."""
    try:
        text = readme.replace(b"\r\n", b"\n").decode("utf-8")
    except UnicodeDecodeError:
        return None
    at = text.rfind("\n" + _MANIFEST)
    if at < 0 or not text.endswith(" -->\n"):
        return None
    try:
        manifest = json.loads(text[at + 1 + len(_MANIFEST) : -len(" -->\n")])
    except ValueError:
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not (
        isinstance(files, dict)
        and "README.md" in files
        and all(
            isinstance(n, str) and n == Path(n).name and n not in ("", ".", "..") and isinstance(h, str)
            for n, h in files.items()
        )
    ):
        return None
    return manifest, text[:at]


def _verified_source(base: Path, fname: str, name):
    """The bytes of ``base/fname``, checked to belong to the complete set of its folder.

    ``None`` if the file is absent and the folder does not claim it.

    Raises
    ------
    ModelError
        If the folder is marked incomplete (an interrupted write), or its README's
        manifest is missing or does not match the files. A folder without a README
        (files put there by hand) is not checked.
    """
    by_path = Path(str(name)).is_dir()
    fix = f"Fix: regenerate it: run `make generated` or `symbolic-sw derive {base.name if by_path else name}`" + (
        " (its spec's path)." if by_path else "."
    )

    def refuse(why):
        return ModelError(f"the generated folder {base} {why}. {fix}")

    if os.path.lexists(base / atomic.MARKER):
        raise refuse(f"is incomplete: writing it was interrupted ({atomic.MARKER} is present)")
    present = (base / fname).is_file()
    source = (base / fname).read_bytes() if present else None
    readme = base / "README.md"
    if not readme.is_file():
        return source
    found = _read_manifest(readme.read_bytes())
    if found is None:
        if not present:
            return None
        raise refuse(
            "has no valid manifest at the end of its README.md (truncated, edited, or written by an older version)"
        )
    manifest, body = found
    if fname not in manifest["files"]:
        if not present:
            return None
        raise refuse(f"holds {fname}, which is not part of its generated set (left over from another generation)")
    for other, digest in manifest["files"].items():
        if other == "README.md":
            data = body.encode("utf-8")
        elif other == fname:
            data = source  # the very bytes that will run
        else:
            data = (base / other).read_bytes() if (base / other).is_file() else None
        if data is None:
            raise refuse(f"is incomplete: {other} is missing")
        if _digest(data) != digest:
            raise refuse(
                f"is inconsistent: {other} does not match the manifest (interrupted write, or files of two generations)"
            )
    return source


# -- writing -------------------------------------------------------------------------


def _folder_problem(path: Path, parents: bool):
    """Why ``path`` cannot be the folder written, or ``None``."""
    if path.exists():
        if not path.is_dir():
            return f"{path} exists and is not a folder (a file or a device)"
        if not os.access(path, os.W_OK | os.X_OK):
            return f"the folder {path} is not writable"
        return None
    if os.path.lexists(path):
        return f"{path} is a broken symbolic link"
    parent = path.parent
    while parents and not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.exists():
        return f"the folder {path.parent}, where {path.name} would be created, does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder, so {path} cannot be created"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the folder {parent} is not writable, so {path} cannot be created"
    return None


def check_output_folder(path, parents=True) -> Path:
    """Refuse an output folder that cannot receive a generated set — before any work.

    Parameters
    ----------
    path : path
        The folder to write (``--out``, ``out=``); created if absent.
    parents : bool
        Whether missing parent folders may be created too (as ``mkdir -p``: the nearest
        existing one must be a writable folder); if false, the parent must exist.

    Raises
    ------
    ModelError
        If ``path`` is a file or a device (``/dev/null``), a missing parent cannot be
        created (a file on the way, no permission), a folder is not writable, or ``path``
        holds other files than a generated set (they could be overwritten: ``--out .``
        next to one's own README.md).
    """
    path = Path(path)
    fix = "Fix: give --out (out=) a new or empty folder in a writable place, e.g. generated/NAME."
    problem = _folder_problem(path, parents)
    if problem is None and path.is_dir():
        problem = _foreign_files(path)
    if problem is not None:
        raise ModelError(f"cannot write the generated files there: {problem}. {fix}")
    return path


def _foreign_files(path: Path):
    """Why a folder is not a generated folder (files of other origin in it), or ``None``."""
    readme = path / "README.md"
    if readme.is_file() and _read_manifest(readme.read_bytes()) is not None:
        return None  # a generated set
    names = {p.name for p in path.iterdir()}
    others = sorted(n for n in names if n not in _GENERATED_NAMES and n != "__pycache__" and not atomic.is_leftover(n))
    if "README.md" in names and "kernels.py" not in names:
        others = sorted([*others, "README.md"])  # one's own README, not an older generated set's
    if not others:
        return None
    shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
    return f"the folder {path} holds files that are not generated ({shown})"


def generate(spec, out=None, order=None, cache=True, log=None, warn=None, progress=None) -> Path:
    """Write ``generated/<name>/`` (or ``out``) as one set; unchanged files are left untouched.

    The default folder (``<name>_order<N>`` at another order than the spec's) is, for the
    shipped specs of ``derivations/``, the checkout's ``generated/`` in the development
    checkout and ``./generated/`` (the current folder) for an installed package; for any
    other spec, ``generated/`` next to the spec file. Nothing is written into the installed
    package. ``out`` is checked before the derivation runs (:func:`check_output_folder`).
    The README says how the folder was made and how to load it (:func:`_provenance`).
    ``warn`` and ``progress`` are as for :func:`build` (``observables.py`` is left out, with
    one line to ``warn``, when its closed form does not exist at this order).
    """
    derivation = spec if isinstance(spec, Derivation) else load_derivation(spec)
    out = check_output_folder(_default_out(derivation, order) if out is None else out)
    derived, files = build(derivation, order=order, cache=cache, log=log, warn=warn, progress=progress)
    files = _finish(derived, files, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic.write_folder(
            out,
            {name: text.encode("utf-8") for name, text in files.items()},
            last="README.md",
            remove=[n for n in _GENERATED_NAMES if n not in files],
        )
    except OSError as exc:
        raise ModelError(
            f"writing {out} failed: {exc.strerror or exc}. The folder keeps its previous files "
            f"(or is refused by load_kernels until regenerated). Fix: make room or fix the "
            f"permissions, then run `symbolic-sw derive {derivation.name}` again."
        ) from exc
    return out


def generate_all(out=None, cache=True, log=None) -> list:
    """Every spec in ``derivations/`` → ``generated/`` (default as for :func:`generate`)."""
    root = Path(out) if out is not None else _output_root()
    problem = _folder_problem(root, parents=True)
    if problem is not None:
        raise ModelError(f"cannot write the generated folders there: {problem}.")
    names = list_derivations()
    root.mkdir(parents=True, exist_ok=True)
    paths = [generate(name, out=root / name, cache=cache, log=log) for name in names]
    index = _ENV.get_template("index.md.j2").render(derivations=[load_derivation(n) for n in names])
    _write(root / "README.md", index)
    return paths


def _write(target: Path, text: str):
    """Write whole or not at all, and only when the bytes differ (keeps mtimes: `make` is idempotent)."""
    atomic.write_file(target, text.encode("utf-8"))


def _no_kernels(name, path: Path, folder: Path) -> ModelError:
    """The error for a generated module that is not there: a name or a path, and what exists."""
    known = ", ".join(sorted(p.name for p in folder.glob("*") if p.is_dir())) or "(none)"
    text = str(name)
    if isinstance(name, os.PathLike) or "/" in text or os.sep in text:  # a path: never joined to ``folder``
        where = "" if Path(text).is_absolute() else f" (relative to the current folder {Path.cwd()})"
        if Path(text).is_dir():
            return ModelError(f"no generated kernels at {path}{where}. Fix: regenerate that folder.")
        return ModelError(
            f"no generated folder {text}{where}. Fix: give the path of a folder written by `symbolic-sw "
            f"derive` (its README shows the call), or the name of a shipped one: {known}."
        )
    if _is_package_data(folder):  # an installed package: derived output goes to ./generated, loaded by path
        fix = f'run `symbolic-sw derive {text}` and load the folder it prints, e.g. load_kernels("generated/{text}")'
    else:
        fix = f"run `make generated` or `symbolic-sw derive {text}`"
    return ModelError(f"no generated kernels at {path}; generated: {known}. Fix: {fix}.")


class _VerifiedLoader(importlib.abc.Loader):
    """Runs the bytes that were checked against the manifest (not a re-read, not a stale .pyc)."""

    def __init__(self, path: Path, source: bytes):
        self.path, self.source = path, source

    def create_module(self, _spec):
        return None

    def exec_module(self, module):
        code = compile(self.source, str(self.path), "exec", dont_inherit=True)
        exec(code, module.__dict__)


def load_kernels(name, kind="numpy", folder=None):
    """Import a generated module of ``generated/<name>/`` (default ``kernels.py``).

    Parameters
    ----------
    name : str
        Derivation name, or a path to a generated folder.
    kind : {"numpy", "mpmath", "observables"}
        A backend of :data:`symbolic_sw.codegen.BACKENDS` (``kernels.py``,
        ``kernels_mpmath.py``) or ``observables.py`` (J_s(μ, T)).
    folder : path, optional
        Where the generated folders live (default :data:`GENERATED`: the checkout's
        ``generated/``, or the copy shipped in an installed package).

    Raises
    ------
    ModelError
        If the module is absent, or its folder is incomplete or inconsistent (its
        README's manifest does not match the files: an interrupted write, files of two
        generations). The bytes checked are the bytes run.
    """
    files = {**{b.name: b.filename for b in BACKENDS.values()}, "observables": "observables.py"}
    if kind not in files:
        raise ModelError(f"kind must be one of {', '.join(map(repr, files))}, got {kind!r}.")
    base = Path(name) if Path(name).is_dir() else Path(folder or GENERATED) / str(name)
    path = base / files[kind]
    source = _verified_source(base, files[kind], name) if base.is_dir() else None
    if source is None:
        raise _no_kernels(name, path, Path(folder or GENERATED))
    module_name = f"symbolic_sw_generated.{base.name}.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path, loader=_VerifiedLoader(path, source))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
