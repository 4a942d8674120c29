"""The files of the compile cache: sealed to their key, read without following links,
written privately and atomically, kept under a size cap.

Every file lamina reads back from the cache directory carries a *stamp* that binds
its bytes to the key that names it:

    lamina-<kind> 2 <key> <sha256 of "lamina-<kind> 2 <key>\\n" + body>

A text file (a warm-start plan, a compiler probe) is its stamp line, then the body; a
shared library is the body followed by its stamp line (the dynamic loader ignores
bytes after the ELF image). A file whose stamp is missing, damaged, made for another
key or of another kind is never used: copying or swapping entries, editing a plan or
truncating a library all break the stamp. Files are opened with `O_NOFOLLOW |
O_NONBLOCK` and must be regular files of this user (a planted symlink, FIFO or
directory is refused, never waited on).

Writes land with `os.replace` from `.tmp-<host>-<pid>-*` files and `.build-<host>-<pid>-*`
directories; those left by a killed process are swept once their process is gone.
`LAMINA_CACHE_MB` caps the directory: past it the least recently used entries are
deleted (a use touches the file's mtime). OS faults become `CompileError`s that say
what to do (`environment_error`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator

from lamina import knobs
from lamina.errors import CompileError

FORMAT = "2"
MAX_FILE_BYTES = 1 << 30  # nothing lamina writes is bigger; a larger file is not read
STALE_SECONDS = 24 * 3600  # a temp file of another host (or an unknown owner) this old is gone
_ESTIMATE: dict[str, int] = {}  # directory -> bytes, since its last scan in this process


# ---------------------------------------------------------------- the directory


def cache_dir() -> str:
    """The cache directory, created user-only; compiled code is loaded from it, so a
    directory that other users could write to is refused."""
    path = knobs.cache_dir()
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.stat(path)
    except OSError as err:
        raise environment_error(err, path) from None
    if not stat.S_ISDIR(info.st_mode):
        raise environment_error(OSError(errno.ENOTDIR, "Not a directory", path), path)
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        if info.st_uid == os.getuid():
            with contextlib.suppress(OSError):
                os.chmod(path, 0o700)
                return path
        raise CompileError(
            f"refusing to load compiled code from {path}: it belongs to another user or "
            "others can write to it; point LAMINA_CACHE_DIR at a private directory")
    if info.st_mode & 0o077:
        with contextlib.suppress(OSError):  # readable by others: tightened where we may
            os.chmod(path, 0o700)
    return path


def environment_error(err: OSError, path: str) -> CompileError:
    """A CompileError for an OS fault around the cache, with what to do about it."""
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        remedy = (f"the disk holding {path} is full (or over quota): free some space, "
                  "lower LAMINA_CACHE_MB, or point LAMINA_CACHE_DIR at another disk")
    elif code == errno.EFBIG:
        remedy = ("a file grew past this process's file-size limit (`ulimit -f`): "
                  "raise the limit")
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        remedy = (f"{path} is not writable: make it writable (chmod u+rwx) or point "
                  "LAMINA_CACHE_DIR at a writable directory")
    elif code in (errno.ENOTDIR, errno.EEXIST):
        remedy = (f"{path} (or a folder above it) is not a directory: remove that file "
                  "or point LAMINA_CACHE_DIR at a directory")
    else:
        remedy = f"check {path} or point LAMINA_CACHE_DIR at another directory"
    return CompileError(f"the compile cache failed: {err}\n  {remedy}")


@contextlib.contextmanager
def faults_as_compile_errors(path: str) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        raise environment_error(err, path) from err


# ---------------------------------------------------------------- stamps


def stamp(kind: str, key: str, body: bytes) -> bytes:
    head = f"lamina-{kind} {FORMAT} {key}"
    digest = hashlib.sha256(head.encode() + b"\n" + body).hexdigest()
    return f"{head} {digest}".encode()


def seal_text(kind: str, key: str, body: bytes) -> bytes:
    return stamp(kind, key, body) + b"\n" + body


def open_text(data: bytes, kind: str, key: str) -> bytes | None:
    """The body of a sealed text file, None unless its stamp is this kind's and key's."""
    line, sep, body = data.partition(b"\n")
    return body if sep and line == stamp(kind, key, body) else None


def seal_binary(kind: str, key: str, body: bytes) -> bytes:
    return body + b"\n" + stamp(kind, key, body) + b"\n"


def binary_stamp_size(kind: str) -> int:
    return len(stamp(kind, "0" * 64, b"")) + 2


def open_binary(data: bytes, kind: str, key: str) -> str | None:
    """The stamp digest of a sealed library, None unless it is this kind's and key's."""
    n = binary_stamp_size(kind)
    if len(data) <= n or data[-n] != ord("\n") or not data.endswith(b"\n"):
        return None
    body, line = data[:-n], data[-n + 1:-1]
    return line.rsplit(b" ", 1)[1].decode() if line == stamp(kind, key, body) else None


# ---------------------------------------------------------------- reading and writing


def read_private(path: str) -> tuple[bytes, os.stat_result] | None:
    """A regular file of this user, read without following a symlink and without
    blocking on a FIFO; None for anything else (or nothing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() \
                or info.st_size > MAX_FILE_BYTES:
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks), info
    except OSError:
        return None
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def owner_tag() -> str:
    """`<host>-<pid>`: who made a temporary file, for the sweep of stale ones."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}"


def atomic_write(directory: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".tmp-{owner_tag()}-")
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        land(tmp, os.path.join(directory, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def land(src: str, dst: str) -> None:
    """os.replace, first removing a directory (or other blocker) squatting on `dst`."""
    try:
        os.replace(src, dst)
    except OSError as err:
        if err.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise
        discard(dst)
        os.replace(src, dst)


def discard(path: str) -> None:
    """Remove whatever is at `path` (a file, a symlink, a directory tree), if anything."""
    with contextlib.suppress(OSError):
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def clear_blocker(path: str) -> None:
    """Remove `path` unless it is a regular file (which a rebuild simply replaces):
    a directory, symlink or FIFO there would make every later run fail."""
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.lstat(path).st_mode):
            discard(path)


def touch(path: str) -> None:
    """Mark an entry as used now (the size cap evicts the least recently used)."""
    with contextlib.suppress(OSError):
        os.utime(path, follow_symlinks=False)


# ---------------------------------------------------------------- stale files and the cap


def _stale(name: str, info: os.stat_result, now: float) -> bool:
    """A `.tmp-`/`.build-` entry whose process is gone (this host), or old."""
    tag = name.split("-", 1)[1] if "-" in name else ""
    parts = tag.rsplit("-", 2)
    host = owner_tag().rsplit("-", 1)[0]
    if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass
        return now - info.st_mtime > STALE_SECONDS
    return now - info.st_mtime > (STALE_SECONDS if len(parts) == 3 else 3600)


def sweep_and_measure(directory: str) -> dict[str, tuple[int, float, list[str]]]:
    """Remove stale temporary files and build directories; group the rest by entry
    (the name up to its first dot): name -> (bytes, last use, paths)."""
    groups: dict[str, tuple[int, float, list[str]]] = {}
    now = time.time()
    with contextlib.suppress(OSError), os.scandir(directory) as it:
        for e in it:
            try:
                info = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if e.name.startswith((".tmp-", ".build-")):
                if _stale(e.name, info, now):
                    discard(e.path)
                continue
            if e.name.startswith(".") or stat.S_ISDIR(info.st_mode):
                continue  # not an entry (the triton/ sources live in their own folder)
            stem = e.name.split(".", 1)[0]
            size, used, paths = groups.get(stem, (0, 0.0, []))
            groups[stem] = (size + info.st_size, max(used, info.st_mtime), [*paths, e.path])
    return groups


def enforce_limit(directory: str, added: int, keep: str) -> None:
    """Keep the directory under LAMINA_CACHE_MB after `added` bytes were written: the
    whole directory is measured on a process's first write and whenever the running
    estimate passes the cap; then the least recently used entries go (down to 80 %
    of the cap, so the next writes do not evict again), never the entry `keep`."""
    limit = knobs.cache_limit_bytes()
    estimate = _ESTIMATE.get(directory)
    if estimate is not None and (limit is None or estimate + added <= limit):
        _ESTIMATE[directory] = estimate + added
        return
    groups = sweep_and_measure(directory)
    total = sum(size for size, _, _ in groups.values())
    if limit is not None and total > limit:
        for stem, (size, _, paths) in sorted(groups.items(), key=lambda g: g[1][1]):
            if total <= 0.8 * limit:
                break
            if stem == keep:
                continue
            for path in paths:
                discard(path)
            total -= size
    _ESTIMATE[directory] = total
