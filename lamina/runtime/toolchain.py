"""The C toolchain: which compiler, what it is and what it builds for, and running it
with a deadline.

A compile's cache key (`lamina.runtime.cache`) holds the compiler's version, the flags
and the *target* those flags resolve to on this machine: `-march=native` means
another instruction set on another CPU, so the driver is asked (`cc <flags> -###`)
and the resolved `-march=`/`-m<isa>` options (clang: `-target-cpu`/`-target-feature`)
go into the key; a cache shared with an older CPU then misses instead of loading code
that dies of SIGILL. A compiler that cannot say falls back to this CPU's identity
(`/proc/cpuinfo`) whenever a flag says "native".

Asking costs three subprocesses (~15 ms), so the answers are remembered in the cache
directory, sealed (`cache_store`) under a name made of the compiler binary (real path,
size, mtime), this CPU's identity and the flags. Every compiler run has a deadline
(`LAMINA_CC_TIMEOUT`): past it the compiler's whole process group is killed and a
`CompileError` names the compiler and the limit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass

from lamina import knobs
from lamina.errors import CompileError, with_location
from lamina.runtime import cache_store

PROBE_TIMEOUT = 60.0  # a --version answers at once; LAMINA_CC_TIMEOUT lowers this too
_LIBMVEC_FLAGS = ["-DLM_LIBMVEC", "-lmvec"]


def compiler() -> str:
    cc = knobs.cc()
    path = shutil.which(cc)
    if path is None:
        raise CompileError(with_location(
            f"c backend: the C compiler {cc!r} was not found: install gcc or clang "
            "(e.g. `apt install gcc`, `dnf install gcc`, Xcode command line tools) "
            "or point LAMINA_CC at one; or choose another backend (LAMINA_BACKEND=interp)"))
    return path


# ---------------------------------------------------------------- running it


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run(commands: list[list[str]], cwd: str | None = None,
        timeout: float | None = None) -> list[Finished]:
    """Run the commands at once, each in its own process group, and wait for all;
    past the deadline every group is killed and a CompileError raised."""
    timeout = knobs.cc_timeout() if timeout is None else timeout
    running: list[subprocess.Popen] = []
    try:
        for command in commands:
            running.append(subprocess.Popen(
                command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True))
        deadline = time.monotonic() + timeout
        done = []
        for proc in running:
            out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
            done.append(Finished(proc.returncode, out, err))
        return done
    except subprocess.TimeoutExpired:
        _stop(running)
        raise CompileError(with_location(
            f"the C compiler {commands[0][0]} did not finish within {timeout:g} s "
            f"(LAMINA_CC_TIMEOUT) and was stopped: check that it works (`{commands[0][0]} "
            "--version`), or raise LAMINA_CC_TIMEOUT for a very large program")) from None
    except OSError as err:
        _stop(running)
        raise CompileError(with_location(
            f"cannot run the C compiler {commands[0][0]}: {err}; point LAMINA_CC at a "
            "working compiler")) from None
    except BaseException:
        _stop(running)
        raise


def _stop(running: list[subprocess.Popen]) -> None:
    """Kill each compiler with everything it started (its session's process group)."""
    for proc in running:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
    for proc in running:
        for pipe in (proc.stdout, proc.stderr):  # a grandchild may hold them: don't read
            if pipe is not None:
                pipe.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------- what it is


@dataclass(frozen=True)
class Probe:
    version: str
    platform_flags: tuple[str, ...]  # flags this machine adds to every compile
    target: str  # what the flags resolve to: the -march/-m<isa> options, or this CPU


def probe(cc: str) -> Probe:
    return _probe(cc, tuple(knobs.cflags()), knobs.cache_dir())


def compiler_version(cc: str) -> str:
    return probe(cc).version


def platform_flags(cc: str) -> tuple[str, ...]:
    return probe(cc).platform_flags


def all_flags(cc: str) -> list[str]:
    return knobs.cflags() + list(platform_flags(cc))


@functools.cache
def cpu_identity() -> str:
    """This CPU as /proc/cpuinfo names it (vendor, model, ISA flags), else the machine."""
    fields = {"vendor_id", "cpu family", "model", "model name", "stepping", "flags",
              "Features", "CPU implementer", "CPU architecture", "CPU variant", "CPU part",
              "isa", "uarch"}
    try:
        with open("/proc/cpuinfo", "rb") as f:
            text = f.read(1 << 16).decode("utf-8", "replace")
    except OSError:
        return f"{platform.machine()} {platform.processor()}"
    block = text.split("\n\n", 1)[0].splitlines()
    kept = [" ".join(line.split()) for line in block if line.split(":")[0].strip() in fields]
    return "\n".join([platform.machine(), *kept])


@functools.cache
def _probe(cc: str, cflags: tuple[str, ...], cache: str) -> Probe:
    """Ask once per process (and cache directory); remember on disk per compiler binary
    and CPU, one target per set of flags (the last `_MAX_TARGETS`)."""
    directory, ident = _memo_name(cc)
    name = f"compiler-{ident[:32]}.json"
    flags = " ".join(cflags)
    memo = _read_memo(directory, name, ident) if directory is not None else None
    if memo is not None and flags in memo["targets"]:
        return Probe(memo["version"], tuple(memo["platform_flags"]), memo["targets"][flags])
    timeout = min(PROBE_TIMEOUT, knobs.cc_timeout())
    if memo is None:
        version = run([[cc, "--version"]], timeout=timeout)[0]
        text = version.stdout.strip() or version.stderr.strip()
        answered = version.returncode == 0 and bool(text)
        memo = {"version": text, "platform_flags": list(_platform_flags(cc, timeout)),
                "targets": {}}
    else:
        answered = True
    target = _target(cc, list(cflags), timeout)
    targets = dict(list(memo["targets"].items())[-_MAX_TARGETS + 1:])
    memo = {**memo, "targets": {**targets, flags: target}}
    if directory is not None and answered:
        try:
            data = cache_store.seal_text("compiler", ident, json.dumps(memo).encode())
            cache_store.atomic_write(directory, name, data)
        except OSError:
            pass  # best effort: the next process asks again
    return Probe(memo["version"], tuple(memo["platform_flags"]), target)


_MAX_TARGETS = 32


def _memo_name(cc: str) -> tuple[str | None, str]:
    try:
        real = os.path.realpath(cc)
        info = os.stat(real)
        binary = f"{real}:{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        binary = cc
    ident = hashlib.sha256(f"{binary}\0{cpu_identity()}".encode()).hexdigest()
    try:
        return cache_store.cache_dir(), ident
    except CompileError:
        return None, ident  # the cache will say what is wrong when a compile writes to it


def _read_memo(directory: str, name: str, ident: str) -> dict | None:
    """A compiler memo, checked field by field; None if missing, damaged or foreign (it
    is then asked again and rewritten)."""
    found = cache_store.read_private(os.path.join(directory, name))
    body = cache_store.open_text(found[0], "compiler", ident) if found else None
    try:
        memo = json.loads(body) if body is not None else None
        version, flags, targets = memo["version"], memo["platform_flags"], memo["targets"]
    except (ValueError, KeyError, TypeError):
        return None
    if not (isinstance(version, str) and flags in ([], _LIBMVEC_FLAGS)
            and isinstance(targets, dict)
            and all(isinstance(v, str) for v in targets.values())):
        return None
    return memo


def _target(cc: str, cflags: list[str], timeout: float) -> str:
    """The target the flags resolve to, as the driver passes it to the compiler proper;
    this CPU's identity where the driver cannot say and a flag says "native"."""
    options = [f for f in cflags if f != "-shared" and not f.startswith("-l")]
    shown = run([[cc, *options, "-###", "-x", "c", "-c", os.devnull, "-o", os.devnull]],
                timeout=timeout)[0]
    resolved = _resolved_target(shown.stderr + shown.stdout) if shown.returncode == 0 else ""
    if not resolved and any("native" in f for f in cflags):
        resolved = "cpu:" + cpu_identity()
    return f"{platform.machine()} {resolved}"


def _resolved_target(text: str) -> str:
    triple = [line for line in text.splitlines() if line.startswith("Target:")]
    for line in text.splitlines():
        if "cc1" not in line:
            continue
        try:
            tokens = shlex.split(line)
        except ValueError:
            tokens = line.split()
        kept = [t for i, t in enumerate(tokens) if t.startswith("-m") or i and tokens[i - 1]
                in ("-target-cpu", "-target-feature", "-tune-cpu", "-triple")]
        return " ".join(triple + kept)
    return ""


def _platform_flags(cc: str, timeout: float) -> tuple[str, ...]:
    """Flags this machine adds to every compile: glibc's vector math library where the
    linker finds it (x86-64 Linux, glibc >= 2.35), see c_prelude.h."""
    libc, version = platform.libc_ver()
    if platform.machine() != "x86_64" or libc != "glibc":
        return ()
    if tuple(int(p) for p in version.split(".")[:2]) < (2, 35):
        return ()
    found = run([[cc, "-print-file-name=libmvec.so"]], timeout=timeout)[0].stdout.strip()
    return tuple(_LIBMVEC_FLAGS) if os.path.isabs(found) else ()
