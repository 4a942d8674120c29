"""The compiled-artifact cache: C source -> shared library, content-addressed.

An entry is named by the sha256 of (source, compiler version, flags) and is two
files: `<key>.so` and `<key>.sum` (the sha256 of the .so bytes). A .so whose
checksum does not match (corrupted, truncated, half-written by a crashed process)
is rebuilt. Writes go to a private temporary directory and land with
`os.replace`, so concurrent processes compiling the same program all succeed
and a reader never sees a partial file; a failed compile leaves nothing in the
cache. Nothing cached is unpickled or evaluated: a library is loaded only after
its checksum matched. The directory (`lamina.knobs.cache_dir()`) is created
user-only (0700).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from lamina import knobs
from lamina.errors import CompileError, with_location

_LOADED: dict[str, ctypes.CDLL] = {}  # in-memory: key -> loaded library


def cache_dir() -> str:
    """The cache directory, created user-only; compiled code is loaded from it, so a
    directory that other users could write to is refused."""
    path = knobs.cache_dir()
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.stat(path)
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        os.chmod(path, 0o700)
    elif info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise CompileError(
            f"refusing to load compiled code from {path}: it belongs to another user or "
            "others can write to it; point LAMINA_CACHE_DIR at a private directory")
    return path


def _compiler() -> str:
    cc = knobs.cc()
    path = shutil.which(cc)
    if path is None:
        raise CompileError(with_location(
            f"c backend: the C compiler {cc!r} was not found: install gcc or clang "
            "(e.g. `apt install gcc`, `dnf install gcc`, Xcode command line tools) "
            "or point LAMINA_CC at one; or choose another backend (LAMINA_BACKEND=interp)"))
    return path


@functools.cache
def compiler_version(path: str) -> str:
    return _probe(path)["version"]


def _probe_compiler(path: str) -> dict:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as err:
        raise CompileError(f"cannot run the C compiler {path}: {err}") from err
    return {"version": done.stdout.strip() or done.stderr.strip(),
            "platform_flags": list(_platform_flags(path)), "answered": done.returncode == 0}


@functools.cache
def _probe(path: str) -> dict:
    """The compiler's version and platform flags, remembered on disk per compiler binary
    (its real path, size and mtime): asking the compiler costs two subprocesses, ~10 ms
    of every new process's warm start otherwise."""
    try:
        real = os.path.realpath(path)
        info = os.stat(real)
        ident = hashlib.sha256(f"{real}:{info.st_size}:{info.st_mtime_ns}".encode()).hexdigest()
        memo: str | None = os.path.join(cache_dir(), f"compiler-{ident[:24]}.json")
    except (OSError, CompileError):
        memo = None
    if memo is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            with open(memo) as f:
                found = json.load(f)
            if isinstance(found.get("version"), str) and \
                    isinstance(found.get("platform_flags"), list):
                return found
    probed = _probe_compiler(path)
    if memo is not None and probed.pop("answered", False) and probed["version"]:
        with contextlib.suppress(OSError):
            _atomic_write(memo, json.dumps(probed).encode(), os.path.dirname(memo))
    return probed


def platform_flags(cc: str) -> tuple[str, ...]:
    return tuple(_probe(cc)["platform_flags"])


def _platform_flags(cc: str) -> tuple[str, ...]:
    """Flags this machine adds to every compile: glibc's vector math library where the
    linker finds it (x86-64 Linux, glibc >= 2.35), see c_prelude.h."""
    import platform

    libc, version = platform.libc_ver()
    if platform.machine() != "x86_64" or libc != "glibc":
        return ()
    if tuple(int(p) for p in version.split(".")[:2]) < (2, 35):
        return ()
    try:
        found = subprocess.run([cc, "-print-file-name=libmvec.so"], capture_output=True,
                               text=True, timeout=60).stdout.strip()
    except OSError:
        return ()
    return ("-DLM_LIBMVEC", "-lmvec") if os.path.isabs(found) else ()


def all_flags(cc: str) -> list[str]:
    return knobs.cflags() + list(platform_flags(cc))


def cache_key(source: str, cc: str, flags: list[str]) -> str:
    h = hashlib.sha256()
    for part in (source, compiler_version(cc), " ".join(flags)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def _valid(so_path: str, sum_path: str) -> bool:
    try:
        with open(sum_path) as f:
            want = f.read().strip()
    except OSError:
        return False
    return len(want) == 64 and _digest(so_path) == want


def _atomic_write(path: str, data: bytes, directory: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _compile(source: str, cc: str, flags: list[str], key: str, directory: str) -> None:
    """Compile into a private temp dir, then move the .so and its checksum in place."""
    work = tempfile.mkdtemp(dir=directory, prefix=".build-")
    try:
        src = os.path.join(work, f"{key[:16]}.c")  # same name in every process: same bytes
        out = os.path.join(work, f"{key[:16]}.so")
        with open(src, "w") as f:
            f.write(source)
        libs = [f for f in flags if f.startswith("-l")]  # after the source (--as-needed)
        options = [f for f in flags if not f.startswith("-l")]
        # relative names: the object records the file name, so every process makes the
        # same bytes and concurrent writers of one entry agree
        units = split_units(source, _compile_jobs())
        if units is None:
            done = _run_compilers(
                [[cc, *options, os.path.basename(src), "-o", os.path.basename(out),
                  *libs, "-lm"]], work)
        else:
            done = _compile_units(units, cc, options, libs, key, os.path.basename(out), work)
        if done is not None:
            kept = _keep_failed_source(source, key)
            raise CompileError(with_location(
                f"the C compiler failed ({cc} {' '.join(flags)}):\n{done.strip()}\n"
                f"source kept at {kept}"))
        with open(out, "rb") as f:
            data = f.read()
        # the library first, then the checksum that vouches for it
        os.replace(out, os.path.join(directory, f"{key}.so"))
        _atomic_write(os.path.join(directory, f"{key}.sum"),
                      hashlib.sha256(data).hexdigest().encode(), directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
        kernel_unit = ["-DLM_KERNEL_UNIT"] if i else []
        objects.append(f"{key[:16]}-{i}.o")
        commands.append([cc, *compile_only, hidden, *kernel_unit, "-c", name, "-o", objects[-1]])
    failed = _run_compilers(commands, work)
    if failed is not None:
        return failed
    return _run_compilers([[cc, *options, *objects, "-o", out, *libs, "-lm"]], work)


def _run_compilers(commands: list[list[str]], cwd: str) -> str | None:
    """Run the commands at once; None when all succeed, else the first one's errors."""
    running = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for c in commands]
    failed = None
    for proc in running:
        _, err = proc.communicate()
        if proc.returncode != 0 and failed is None:
            failed = err or f"exit status {proc.returncode}"
    return failed


def _keep_failed_source(source: str, key: str) -> str:
    """Failed sources go to the temp dir (never the cache) for the bug report."""
    path = os.path.join(tempfile.gettempdir(), f"lamina-failed-{key[:16]}.c")
    with open(path, "w") as f:
        f.write(source)
    return path


def build(source: str) -> tuple[str, str]:
    """(key, path of a valid shared library) for this C source, compiling if needed."""
    cc = _compiler()
    flags = all_flags(cc)
    key = cache_key(source, cc, flags)
    directory = cache_dir()
    so_path, sum_path = (os.path.join(directory, f"{key}.{ext}") for ext in ("so", "sum"))
    if not _valid(so_path, sum_path):
        _compile(source, cc, flags, key, directory)
        if not _valid(so_path, sum_path):  # another process replaced it meanwhile: redo
            _compile(source, cc, flags, key, directory)
    return key, so_path


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


def load(source: str) -> ctypes.CDLL:
    """The shared library of this C source: from memory, from disk, or compiled now."""
    cc = _compiler()
    key = cache_key(source, cc, all_flags(cc))
    if key in _LOADED:
        return _LOADED[key]
    key, so_path = build(source)
    try:
        with _passive_openmp():
            lib = ctypes.CDLL(so_path)
    except OSError as err:
        raise CompileError(f"cannot load the compiled library {so_path}: {err}") from err
    _LOADED[key] = lib
    return lib
