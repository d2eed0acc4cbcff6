"""Writing files whole: one file, or a folder's files as one set.

A file is never overwritten in place: its new bytes go to a temporary file in the same
folder (flushed to disk), which ``os.replace`` then puts in place in one step. A full
disk or a kill leaves the old file or the new one, never a truncated mix.

A folder's files (``generated/<name>/``) are written as one set by :func:`write_folder`:

1. every changed file is staged as a temporary file; any failure here (a full disk, an
   error mid-file) removes the temporary files and leaves the folder as it was;
2. the folder is marked incomplete (:data:`MARKER`), each changed file is moved in place
   (the previous one kept as a backup), files no longer generated are moved away, and the
   ``last`` file (the README, which holds the manifest of the set) is moved in place last;
3. the mark and the backups are removed.

An exception during step 2 moves the backups back (the old set again); a kill during
step 2 leaves the mark, so that loading refuses the folder until it is regenerated.
Unchanged files are not touched (their modification times stay: ``make`` is idempotent).
Writers of one folder are serialised by an advisory lock on the folder (POSIX).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["BACKUP_SUFFIX", "MARKER", "TEMP_SUFFIX", "is_leftover", "write_file", "write_folder"]

#: a staged file: ``.<name>.<random>.ssw-tmp``
TEMP_SUFFIX = ".ssw-tmp"
#: the previous version of a file while a set is being replaced: ``.<name>.ssw-old``
BACKUP_SUFFIX = ".ssw-old"
#: present while a folder's set is being replaced (and after a kill at that moment)
MARKER = ".ssw-incomplete"
_CHUNK = 1 << 20


def is_leftover(name: str) -> bool:
    """Whether a file name is one of ours from a write in progress or interrupted."""
    return name == MARKER or name.endswith((TEMP_SUFFIX, BACKUP_SUFFIX))


def write_file(path, data: bytes, mode: int = 0o666) -> bool:
    """Write ``path`` whole or not at all; ``False`` (file untouched) if it already holds ``data``.

    ``mode`` is that of a new file, less the umask (0o600: private to the user).
    """
    path = Path(path)
    if _holds(path, data):
        return False
    tmp = _stage(path.parent, path.name, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    return True


def write_folder(folder, files: dict, last: str | None = None, remove=()) -> list:
    """Replace the files of ``folder`` by ``files`` (name → bytes) as one set.

    Parameters
    ----------
    last : str, optional
        The file put in place last (the one that marks the set complete).
    remove : iterable of str
        Names to delete if present and not in ``files`` (files of the set that are no
        longer generated).

    Returns
    -------
    list of str
        The names written or deleted (empty when the folder already held the set).
    """
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    with _locked(folder):
        for path in folder.iterdir():  # from an interrupted run: ours (hidden, suffixed)
            if path.name.endswith((TEMP_SUFFIX, BACKUP_SUFFIX)) and not path.is_dir():
                _unlink(path)
        marked = os.path.lexists(folder / MARKER)
        names = sorted(files, key=lambda n: n == last)  # stable: ``last`` at the end
        for name in names:
            if (folder / name).is_dir() and not (folder / name).is_symlink():
                raise IsADirectoryError(f"{folder / name} is a folder, where a generated file goes")
        changed = [n for n in names if not _holds(folder / n, files[n])]
        gone = [n for n in remove if n not in files and os.path.lexists(folder / n)]
        if not (changed or gone or marked):
            return []
        staged = {}
        try:
            for name in changed:
                staged[name] = _stage(folder, name, files[name])
            _commit(folder, gone + changed, staged, last, marked)
        finally:
            for tmp in staged.values():  # those not moved in place
                _unlink(tmp)
        _fsync_dir(folder)
        return gone + changed


def _commit(folder, names, staged, last, marked):
    """Move the staged files in place (``last`` last); on an exception put the old ones back."""
    marker = folder / MARKER
    if not marked:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o666))
    done = []  # (target, its backup or None)
    try:
        for name in names:
            target = folder / name
            if name != last or name not in staged:
                # the last file is replaced in one step: once it is in place the set is
                backup = None
                if os.path.lexists(target):
                    backup = folder / f".{name}{BACKUP_SUFFIX}"
                    _move(target, backup)
                done.append((target, backup))
            if name in staged:
                _move(staged[name], target)
                del staged[name]
    except BaseException:
        restored = _rollback(done)
        if restored and not marked:
            _unlink(marker)
        raise
    os.unlink(marker)
    for _, backup in done:
        if backup is not None:
            _unlink(backup)


def _rollback(done) -> bool:
    """Put the previous files back (in reverse order); whether all of them are."""
    ok = True
    for target, backup in reversed(done):
        try:
            if backup is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            else:
                os.replace(backup, target)
        except OSError:
            ok = False
    return ok


def _move(source, target):
    """``os.replace`` (one name, so that tests can make a step of a commit fail)."""
    os.replace(source, target)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return (
            path.is_file() and not path.is_symlink() and path.stat().st_size == len(data) and path.read_bytes() == data
        )
    except OSError:
        return False


def _stage(folder: Path, name: str, data: bytes, mode: int = 0o666) -> Path:
    """``data`` in a new temporary file of ``folder``, on disk (its mode: ``mode`` less the umask)."""
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name in {folder}")
    try:
        try:
            _write_data(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _write_data(fd: int, data: bytes):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:_CHUNK]) :]


def _unlink(path):
    """Remove a file of ours if possible (a leftover is removed by the next write)."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(folder):
    """Make the renames durable (POSIX; elsewhere nothing to do)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(folder):
    """An exclusive advisory lock on the folder while its set is replaced (where flock exists)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
