"""Output files written whole or not at all, and never in place of something that is not ours to replace.

Every output goes to a temporary file (or folder) beside its target, named `.<target>.tracer-tmp-<pid>-<id>`,
and is renamed into place when complete: a failed or killed run leaves the old file, and a later run removes
the stale temporaries of its own outputs (those whose process is gone). A symlink is written through (its
target is updated, the link kept); a folder, FIFO, device or socket is refused before anything is written
(a FIFO is never opened, so it cannot hang the tool). A trace directory is swapped in as a whole, so two runs
never leave a mix of tables. Inside `together()` (the CLI runs every command so, and `run_and_write` its
outputs) every output of the block is put in place only when the whole block succeeds, so a failure at the
last leaves none of them, and folders a failed block created are removed.
"""
from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

from ..errors import ResourceError, TracerError

TEMP_MARK = ".tracer-tmp-"
OLD_MARK = ".tracer-old-"
FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
FULL_TEXTS = ("No space left", "os error 28", "Disk quota exceeded", "os error 122")
PENDING: contextvars.ContextVar = contextvars.ContextVar("tracer_pending_outputs", default=None)
KINDS = [(stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]


def output_target(path, folder: bool = False) -> Path:
    """The real path an output goes to (through symlinks), checked: refuse what is not a regular file (or,
    for `folder`, not a folder), and a place that cannot be written, before anything is written."""
    given = Path(path)
    real = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise TracerError(str(given), f"cannot be checked ({e.strerror})") from None
    if mode is not None:
        wanted = stat.S_ISDIR if folder else stat.S_ISREG
        if not wanted(mode):
            kind = next((k for test, k in KINDS if test(mode)), "not a regular file")
            fix = "give a new or existing folder" if folder else "give a file path"
            raise TracerError(str(given), f"is {kind}, not {'a folder' if folder else 'a file'}: {fix} "
                                          "(nothing was written)")
    writable_folder(real.parent, str(given))
    return real


def distinct_outputs(inputs, outputs: dict, folders: dict | None = None) -> None:
    """Refuse, before anything runs, an output that is one of the command's inputs, another of its outputs,
    or inside a trace folder the command replaces whole (or that holds an input). `inputs`: paths read;
    `outputs`: {option: file path}; `folders`: {option: folder replaced}. Paths are compared through symlinks,
    and by device and inode where the file exists (a hard link is the same file)."""
    def same(path) -> tuple:
        real = os.path.realpath(path)
        try:
            st = os.stat(real)
            return ("inode", st.st_dev, st.st_ino)
        except OSError:
            return ("path", real)

    read = {same(p): str(p) for p in inputs if p is not None}
    taken: dict = {}
    for option, path in list(outputs.items()) + list((folders or {}).items()):
        if path is None:
            continue
        key = same(path)
        if key in read:
            raise TracerError(option, f"{path} is also an input of this command (it would be written over); "
                                      "give the output its own name")
        if key in taken:
            raise TracerError(option, f"{path} is also the output of {taken[key]}; give each output its own file")
        taken[key] = option
    for option, folder in (folders or {}).items():
        if folder is None:
            continue
        inside = os.path.realpath(folder) + os.sep
        for what, path in [(o, p) for o, p in outputs.items() if p is not None] + [("an input", p) for p in inputs
                                                                                    if p is not None]:
            if os.path.realpath(path).startswith(inside):
                raise TracerError(option, f"{folder} is replaced whole, and {what} ({path}) lies inside it; "
                                          "write the trace folder elsewhere")


def writable_folder(folder: Path, place: str) -> None:
    """The folder, or the nearest existing one above it, is a folder we may write in."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise TracerError(place, f"{existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TracerError(place, f"cannot write in {existing} (read-only or not yours); choose another folder")


def remove_stale(target: Path) -> None:
    """Remove temporaries of this output left by runs that are gone (killed, out of disk), including the doubly
    wrapped ones (`..w.xlsx.tracer-tmp-P-X.tracer-tmp-P-Y`) that versions before 2026-12 could leave."""
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        name = entry.name.lstrip(".")
        for mark in (TEMP_MARK, OLD_MARK):
            if entry.name.startswith(".") and name.startswith(target.name + mark) and \
                    not _alive(name[len(target.name + mark):]):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def _alive(tail: str) -> bool:
    """Whether the process that made a temporary (its pid leads the name's tail) is still running."""
    try:
        pid = int(tail.split("-", 1)[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def together():
    """Every output written inside the block is put in place when the whole block succeeds, or none is: a full
    disk or an error at the last output leaves nothing, not even the folders the block created. Inside another
    together() block, the outer one decides."""
    if PENDING.get() is not None:
        yield
        return
    pending: list = []  # (put in place, discard) of each output, in the order written
    token = PENDING.set(pending)
    try:
        yield
    except BaseException:
        for _, discard in reversed(pending):
            discard()
        raise
    finally:
        PENDING.reset(token)
    for put, _ in pending:
        put()


def _finish(put, discard) -> None:
    """Put a complete output in place now, or when the enclosing together() block succeeds."""
    pending = PENDING.get()
    if pending is None:
        try:
            put()
        except BaseException:
            discard()
            raise
    else:
        pending.append((put, discard))


def _make_parents(folder: Path):
    """Create a folder and its missing parents; return what removes those it created (while they are empty)."""
    missing, p = [], folder
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent

    def undo() -> None:
        for made in missing:  # the deepest first
            try:
                made.rmdir()
            except OSError:
                return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except BaseException:
        undo()
        raise
    return undo


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path beside the target; rename it to the target only if the block succeeds (and, inside
    together(), the enclosing block too)."""
    real = output_target(target)
    with _resources(target):
        undo = _make_parents(real.parent)
        tmp = None

        def discard() -> None:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            undo()
        try:
            remove_stale(real)
            fd, tmp = tempfile.mkstemp(prefix=f".{real.name}{TEMP_MARK}{os.getpid()}-", dir=real.parent)
            os.close(fd)
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        except BaseException:
            discard()
            raise
        _finish(lambda: os.replace(tmp, real), discard)


def owned_folder(target, owned: tuple[str, ...], what: str = "trace tables") -> Path:
    """The folder an output replaces whole, refused (before anything is written) when it holds files other
    than `owned`: a folder of the user's is never replaced."""
    real = output_target(target, folder=True)
    if real.exists():
        foreign = sorted(p.name for p in real.iterdir() if p.name not in owned)
        if foreign:
            raise TracerError(str(target), f"holds files that are not {what} ({', '.join(foreign[:3])}"
                                           f"{' ...' if len(foreign) > 3 else ''}); give a new or empty folder")
    return real


@contextlib.contextmanager
def atomic_directory(target, owned: tuple[str, ...], what: str = "trace tables"):
    """Yield a temporary folder beside the target folder; swap it in whole if the block succeeds.

    The target may be missing, or a folder holding only `owned` file names (our outputs): anything else in it
    is refused, so a folder of the user's is never replaced.
    """
    real = owned_folder(target, owned, what)
    with _resources(target):
        undo = _make_parents(real.parent)
        tmp = None

        def discard() -> None:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            undo()
        try:
            remove_stale(real)
            tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}{TEMP_MARK}{os.getpid()}-", dir=real.parent))
            yield tmp
            os.chmod(tmp, 0o777 & ~_umask())
        except BaseException:
            discard()
            raise
        _finish(lambda: _swap(tmp, real), discard)


def _swap(new: Path, target: Path) -> None:
    """Put the folder `new` at `target`, moving an existing target aside first (retried if a concurrent run
    puts one there in between)."""
    for _ in range(20):
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}{OLD_MARK}{os.getpid()}-", dir=target.parent))
            try:
                os.replace(target, old)
            except FileNotFoundError:  # another run moved it just now
                pass
        try:
            os.rename(new, target)
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            continue  # a concurrent run placed its own: move that aside too
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return
    raise TracerError(str(target), "another run keeps replacing this folder; try again")


@contextlib.contextmanager
def _resources(place):
    """A full disk (or quota) while writing becomes one line naming what could not be written."""
    try:
        yield
    except MemoryError:
        raise ResourceError(str(place), "out of memory while writing it; record fewer steps (--trace-steps), "
                                        "write Parquet (--format parquet) or free memory") from None
    except Exception as e:  # an OSError, or a writer's own wrapping of one (XlsxWriter's FileCreateError)
        cause = e if isinstance(e, OSError) else e.__cause__ or e.__context__
        if isinstance(cause, OSError) and _full(cause) or any(text in str(e) for text in FULL_TEXTS):
            raise ResourceError(str(place), "no space left on the device to write it; free space or write "
                                            "elsewhere (nothing was written)") from None
        raise


def _full(e: OSError) -> bool:
    """Whether an error means the disk is full; Rust writers (polars) raise OSError without errno."""
    return e.errno in FULL or any(text in str(e) for text in FULL_TEXTS)


def write_text(target, text: str) -> None:
    """Write text atomically (UTF-8, '\\n' line ends)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def _umask() -> int:
    """The process's umask (reading it means setting it, so set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
