"""The compiled-artifact cache: C source -> shared library, content-addressed, run only
if lamina compiled it for this key.

An entry is one file, `<key>.so`: the library followed by a stamp line binding its
bytes to the key (`cache_store`), where the key is the sha256 of (format, source,
compiler version, flags, resolved target: `toolchain`). A library is loaded only
after its file (a regular file of this user, opened without following links) was
read and its stamp matched: a corrupted, truncated, swapped, symlinked or foreign
file is rebuilt, never run; so is a directory or FIFO squatting on its name, and a
library whose stamp matches but that the loader rejects. Nothing cached is unpickled
or evaluated.

A compile runs in a private `.build-<host>-<pid>-*` directory and lands with
`os.replace`, so concurrent processes compiling the same program all succeed and a
reader never sees a partial file; a failed compile leaves nothing in the cache (its
source goes to a fresh 0700 directory under the temp dir, for the bug report).

Loaded libraries are unloaded (`dlclose`) when the last Python object that can call
into them (a program, its runner, a function pointer, the library object) is gone:
`_LOADED` only holds them weakly. The libraries they depend on (the OpenMP runtime,
whose threads outlive any one program) are pinned first, so unloading a program never
unloads a runtime with live threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import tempfile
import threading
import weakref

from lamina.errors import CompileError, with_location
from lamina.runtime import cache_store, toolchain
from lamina.runtime.cache_store import cache_dir  # noqa: F401  (the one place it is made)
from lamina.runtime.toolchain import all_flags, compiler_version, platform_flags  # noqa: F401

_compiler = toolchain.compiler
_LOADED: weakref.WeakValueDictionary[str, ctypes.CDLL] = weakref.WeakValueDictionary()
_LOCK = threading.RLock()
_KIND = "so"
_ATTEMPTS = 3  # a compile whose result the loader rejects is retried once, then reported


def cache_key(source: str, cc: str, flags: list[str]) -> str:
    h = hashlib.sha256()
    probe = toolchain.probe(cc)
    for part in (f"lamina-cache {cache_store.FORMAT}", source, probe.version, " ".join(flags),
                 probe.target):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def entry_path(key: str, directory: str | None = None) -> str:
    return os.path.join(directory or cache_dir(), f"{key}.so")


class Unusable(Exception):
    """An entry that must not be loaded: missing, damaged, foreign, or rejected by the
    dynamic loader (the message says which)."""


def verified_digest(key: str, directory: str) -> tuple[str, os.stat_result]:
    """The stamp digest of entry `key` after checking the file and its stamp."""
    found = cache_store.read_private(entry_path(key, directory))
    if found is None:
        raise Unusable("missing, or not a regular file of this user")
    digest = cache_store.open_binary(found[0], _KIND, key)
    if digest is None:
        raise Unusable("its stamp does not match its bytes and key")
    return digest, found[1]


def open_library(key: str, directory: str, expect: str | None = None) -> ctypes.CDLL:
    """The loaded library of entry `key` (from memory, else verified on disk); with
    `expect`, only if its stamp digest is that one (a warm-start plan names it)."""
    with _LOCK:
        lib = _LOADED.get(key)
        if lib is not None and (expect is None or getattr(lib, "_lamina_digest", None) == expect):
            return lib
        path = entry_path(key, directory)
        digest, info = verified_digest(key, directory)
        if expect is not None and digest != expect:
            raise Unusable("it is not the library the plan was made with")
        try:
            lib = _dlopen(path)
        except OSError as err:
            raise Unusable(f"the dynamic loader rejects it: {err}") from None
        try:
            now = os.stat(path)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            _unload_now(lib)  # replaced between the check and the load: check again
            raise Unusable("it changed while being loaded")
        lib._lamina_digest = digest
        cache_store.touch(path)
        _LOADED[key] = lib
    _close_pending()
    return lib


def build(source: str) -> tuple[str, str]:
    """(key, path of a verified shared library) for this C source, compiling if needed."""
    cc = _compiler()
    flags = all_flags(cc)
    key = cache_key(source, cc, flags)
    directory = cache_dir()
    for attempt in range(_ATTEMPTS):
        try:
            verified_digest(key, directory)
            return key, entry_path(key, directory)
        except Unusable:
            if attempt + 1 < _ATTEMPTS:
                _compile(source, cc, flags, key, directory)
    raise CompileError(f"the compile cache entry {entry_path(key, directory)} keeps "
                       "changing under lamina; is another program writing to the cache?")


def load(source: str) -> ctypes.CDLL:
    """The shared library of this C source: from memory, from disk, or compiled now."""
    cc = _compiler()
    flags = all_flags(cc)
    key = cache_key(source, cc, flags)
    lib = _LOADED.get(key)
    if lib is not None:
        return lib
    directory = cache_dir()
    why = ""
    for attempt in range(_ATTEMPTS):
        try:
            return open_library(key, directory)
        except Unusable as err:
            why = str(err)
        if attempt + 1 < _ATTEMPTS:
            _compile(source, cc, flags, key, directory)
    raise CompileError(with_location(
        f"cannot load the compiled library {entry_path(key, directory)}: {why}"))


# ---------------------------------------------------------------- compiling


def _compile(source: str, cc: str, flags: list[str], key: str, directory: str) -> None:
    """Compile into a private build dir, then land the stamped library in place."""
    with cache_store.faults_as_compile_errors(directory):
        work = tempfile.mkdtemp(dir=directory, prefix=f".build-{cache_store.owner_tag()}-")
        try:
            data = _compile_in(work, source, cc, flags, key)
            cache_store.clear_blocker(entry_path(key, directory))
            cache_store.atomic_write(directory, f"{key}.so",
                                     cache_store.seal_binary(_KIND, key, data))
        finally:
            cache_store.discard(work)
        cache_store.enforce_limit(directory, len(data), keep=key)


def _compile_in(work: str, source: str, cc: str, flags: list[str], key: str) -> bytes:
    name = key[:16]  # same name in every process: the object records it, same bytes
    libs = [f for f in flags if f.startswith("-l")]  # after the source (--as-needed)
    options = [f for f in flags if not f.startswith("-l")]
    units = split_units(source, _compile_jobs())
    if units is None:
        _write(os.path.join(work, f"{name}.c"), source)
        failed = _run_compilers([[cc, *options, f"{name}.c", "-o", f"{name}.so", *libs,
                                  "-lm"]], work)
    else:
        failed = _compile_units(units, cc, options, libs, key, f"{name}.so", work)
    if failed is not None:
        kept = _keep_failed_source(source, key)
        raise CompileError(with_location(
            f"the C compiler failed ({cc} {' '.join(flags)}):\n{failed.strip()}\n"
            f"source kept at {kept}"))
    found = cache_store.read_private(os.path.join(work, f"{name}.so"))
    if found is None or not found[0]:
        raise CompileError(with_location(
            f"the C compiler {cc} reported success but wrote no library "
            f"({' '.join(flags)}); check LAMINA_CC and LAMINA_CFLAGS"))
    return found[0]


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        cache_store.write_all(fd, text.encode())
    finally:
        os.close(fd)


def _keep_failed_source(source: str, key: str) -> str:
    """Failed sources go to a fresh private directory under the temp dir (never the
    cache, never a predictable path another user could plant a link on)."""
    try:
        folder = tempfile.mkdtemp(prefix="lamina-failed-")  # 0700, unpredictable name
        path = os.path.join(folder, f"{key[:16]}.c")
        _write(path, source)
    except OSError as err:
        return f"(nowhere: {err})"
    return path


# Below this much kernel code a program is one compiler run: each unit compiles the
# shared prelude again (~20 ms) and the objects are linked. Measured on 2 cores
# (one unit vs split, same source, medians of 3): 6.5 KB of kernels 250 -> 233 ms,
# 13 KB 306 -> 250 ms, 26 KB 440 -> 279 ms; the bench's attention 489 -> 364 ms, MLP
# step 483 -> 329 ms, CNN fwd+bwd 982 -> 608 ms.
SPLIT_MIN_CHARS = 8_000


def _compile_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def split_units(source: str, jobs: int) -> list[str] | None:
    """The source cut into `jobs` translation units at the codegen's markers (see
    `lamina.codegen.c`), kernels spread by size; None where one unit is better: one
    core, a small program, or a source without markers."""
    from lamina.codegen.c import UNIT_KERNEL, UNIT_MAIN

    if jobs < 2 or UNIT_MAIN not in source:
        return None
    head, _, rest = source.partition(UNIT_KERNEL)
    kernels_text, _, main = rest.partition(UNIT_MAIN)
    if len(kernels_text) < SPLIT_MIN_CHARS:
        return None
    kernels = [UNIT_KERNEL + k for k in (UNIT_KERNEL + kernels_text).split(UNIT_KERNEL)[1:]]
    if len(kernels) < 2:
        return None
    groups: list[list[str]] = [[] for _ in range(min(jobs, len(kernels)))]
    sizes = [0] * len(groups)
    for k in sorted(kernels, key=len, reverse=True):  # largest first onto the lightest unit
        i = sizes.index(min(sizes))
        groups[i].append(k)
        sizes[i] += len(k)
    units = [head + "".join(g) for g in groups]
    return [head + main, *units]


def _compile_units(units: list[str], cc: str, options: list[str], libs: list[str], key: str,
                   out: str, work: str) -> str | None:
    """Compile the units in parallel (the first is the entry's), then link them."""
    compile_only = [o for o in options if o != "-shared"]
    hidden = '-DLM_KERNEL=__attribute__((visibility("hidden")))'
    commands, objects = [], []
    for i, text in enumerate(units):
        name = f"{key[:16]}-{i}.c"
        _write(os.path.join(work, name), text)
        kernel_unit = ["-DLM_KERNEL_UNIT"] if i else []
        objects.append(f"{key[:16]}-{i}.o")
        commands.append([cc, *compile_only, hidden, *kernel_unit, "-c", name, "-o", objects[-1]])
    failed = _run_compilers(commands, work)
    if failed is not None:
        return failed
    return _run_compilers([[cc, *options, *objects, "-o", out, *libs, "-lm"]], work)


def _run_compilers(commands: list[list[str]], cwd: str) -> str | None:
    """Run the commands at once; None when all succeed, else the first one's errors."""
    for done in toolchain.run(commands, cwd):
        if done.returncode != 0:
            return done.stderr or f"exit status {done.returncode}"
    return None


# ---------------------------------------------------------------- loading and unloading


@contextlib.contextmanager
def _passive_openmp():
    """OpenMP threads that sleep between kernels instead of spinning, unless the user
    set OMP_WAIT_POLICY: lamina calls kernels from Python with gaps in between, and
    spinning threads steal the cores Python (or a busy shared machine) needs (5-10x
    slower kernels measured on a loaded 2-core machine). libgomp reads the variable
    once, when it is loaded by the first library; it is restored right after, so
    other OpenMP runtimes (torch's) keep their defaults."""
    if "OMP_WAIT_POLICY" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        del os.environ["OMP_WAIT_POLICY"]


class _LinkMap(ctypes.Structure):
    pass  # glibc's public `struct link_map` (<link.h>): the loaded objects, in load order


_LinkMap._fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p),
                     ("l_ld", ctypes.c_void_p), ("l_next", ctypes.POINTER(_LinkMap)),
                     ("l_prev", ctypes.POINTER(_LinkMap))]
_RTLD_DI_LINKMAP = 2
_PINNED: set[bytes] = set()
_ENTRY_NAME = re.compile(rb"(^|/)[0-9a-f]{64}\.so$")


def _dlinfo():
    for name in (None, "libdl.so.2"):
        with contextlib.suppress(OSError, AttributeError):
            fn = ctypes.CDLL(name).dlinfo
            fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            return fn
    return None


_DLINFO = _dlinfo() if hasattr(os, "RTLD_NODELETE") else None
_CLOSING: list[int] = []  # handles of unreachable libraries, closed at the next safe point
_WALKING = False  # the link map is being read: no dlclose may free a node now


def _dlopen(path: str) -> ctypes.CDLL:
    global _WALKING
    with _passive_openmp():
        lib = ctypes.CDLL(path)
    _WALKING = True
    try:
        pinned = _pin_dependencies(lib)
    finally:
        _WALKING = False
    if pinned:  # else (no dlinfo: not glibc, or a dependency that cannot be pinned) kept
        lib._lamina_unload = weakref.finalize(lib, _closing, lib._handle)
        lib._lamina_unload.atexit = False
    return lib


def _pin_dependencies(lib: ctypes.CDLL) -> bool:
    """Mark every object loaded with (or after) this library as never to be unloaded,
    except lamina's own programs: their dependencies (libgomp, whose threads keep
    running) must outlive them. True when done, so the library itself may unload."""
    if _DLINFO is None:
        return False
    node = ctypes.POINTER(_LinkMap)()
    if _DLINFO(lib._handle, _RTLD_DI_LINKMAP, ctypes.byref(node)) != 0 or not node:
        return False
    node = node.contents.l_next
    while node:
        name = node.contents.l_name
        if name and name not in _PINNED and not _ENTRY_NAME.search(name):
            try:
                ctypes.CDLL(os.fsdecode(name), mode=os.RTLD_NOLOAD | os.RTLD_NODELETE)
            except OSError:
                return False
            _PINNED.add(name)
        node = node.contents.l_next
    return True


def _closing(handle: int) -> None:
    """A library's last Python reference is gone (a weakref finalizer, which may run in
    any thread, inside any allocation): queue its handle and close what is safe now."""
    _CLOSING.append(handle)
    _close_pending()


def _close_pending() -> None:
    import _ctypes

    if _WALKING or not _LOCK.acquire(blocking=False):
        return  # whoever holds the lock closes them when it is done
    try:
        while _CLOSING and not _WALKING:
            _ctypes.dlclose(_CLOSING.pop())
    finally:
        _LOCK.release()


def _unload_now(lib: ctypes.CDLL) -> None:
    unload = getattr(lib, "_lamina_unload", None)
    if unload is not None:
        unload()


def loaded_count() -> int:
    """Libraries of lamina programs loaded in this process (for tests and tools)."""
    gc_collect_and_close()
    return len(_LOADED)


def gc_collect_and_close() -> None:
    import gc

    gc.collect()
    _close_pending()
