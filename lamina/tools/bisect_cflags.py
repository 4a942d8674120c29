"""When compiled C diverges: is it the pass's IR, or the C compiler with lamina's flags?

The same C source is compiled again with the optimisation knobs turned down one at a
time and run on the same inputs:

- `-O0`: right at -O0 but wrong with the default flags says the IR and the C are
  likely right and the compiler's optimiser (or undefined behaviour in the generated C,
  which optimisation exposes: try `LAMINA_EXTRA_CFLAGS=-fsanitize=address,undefined`)
  is at fault; wrong at -O0 too points back at the pass (or the C emitter);
- single changes, smallest first: one GCC optimisation switched off (`-fno-...`), one
  flag dropped (`-march=native`, `-fopenmp`), a lower `-O` level, one OpenMP thread.
  The first that makes the output right is named with the knob that applies it.

Each candidate is one compile (cached by lamina's artifact cache under its flags).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lamina import knobs

# GCC optimisations that vectorize, version or speculate loops: the usual suspects of a
# wrong-code bug in a kernel loop (clang ignores the ones it lacks, with a warning)
SUSPECT_OPTIMISATIONS = (
    "-fno-unswitch-loops", "-fno-tree-loop-if-convert", "-fno-tree-loop-vectorize",
    "-fno-tree-slp-vectorize", "-fno-trapping-math", "-fno-tree-vrp", "-fno-tree-pre",
    "-fno-peel-loops", "-fno-split-loops", "-fno-tree-loop-distribute-patterns",
    "-fno-strict-aliasing", "-fwrapv", "-ffp-contract=off",
)


@dataclass(frozen=True)
class Candidate:
    label: str  # what changed, in words: "-O2 instead of -O3", "add -fno-unswitch-loops"
    flags: tuple[str, ...]
    threads: int | None = None
    knob: str = ""  # how a user applies it


@dataclass
class FlagDiagnosis:
    flags: tuple[str, ...]  # the flags that gave the wrong output
    at_o0: str  # "right", "wrong" or "failed: ..."
    compiler: str = ""  # the first line of `cc --version`
    right: list[Candidate] = field(default_factory=list)
    wrong: list[Candidate] = field(default_factory=list)
    failed: list[tuple[Candidate, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.at_o0 == "right":
            return ("right at -O0: the IR is likely right; the C compiler's optimiser with "
                    "these flags (or undefined behaviour in the generated C) is at fault")
        if self.at_o0 == "wrong":
            return ("wrong at -O0 too: the fault is in the pass's IR (or the C emitter), "
                    "not the C compiler's optimiser")
        return f"-O0 could not be checked ({self.at_o0})"

    def describe(self) -> list[str]:
        lines = [f"C compiler check ({self.compiler}; {' '.join(self.flags)}): {self.verdict}"]
        if self.right:
            best = self.right[0]
            lines.append(f"  smallest change that makes it right: {best.label}"
                         + (f"  ({best.knob})" if best.knob else ""))
            lines.append("  right with: " + "; ".join(c.label for c in self.right))
        else:
            lines.append("  no single flag change makes it right")
        if self.wrong:
            lines.append("  still wrong with: " + "; ".join(c.label for c in self.wrong))
        if self.failed:
            lines.append("  did not compile: " + "; ".join(c.label for c, _ in self.failed))
        return lines


def _compiler_name() -> str:
    from lamina.runtime import cache

    path = shutil.which(knobs.cc())
    version = cache.compiler_version(path).splitlines() if path else []
    return version[0] if version else knobs.cc()


def _opt_level(flags: Sequence[str]) -> str | None:
    return next((f for f in reversed(flags) if re.fullmatch(r"-O[0-3sgz]?|-Ofast", f)), None)


def _with_level(flags: Sequence[str], level: str) -> tuple[str, ...]:
    kept = [f for f in flags if not re.fullmatch(r"-O[0-3sgz]?|-Ofast", f)]
    return (level, *kept)


def candidates(flags: Sequence[str]) -> list[Candidate]:
    """Single changes of `flags`, smallest (least optimisation given up) first."""
    flags = tuple(flags)
    out = [Candidate(f"add {extra}", (*flags, extra), knob=f"LAMINA_EXTRA_CFLAGS={extra}")
           for extra in SUSPECT_OPTIMISATIONS if extra not in flags]
    for f in flags:
        if f.startswith(("-march=", "-mtune=", "-mcpu=")) or f in ("-fopenmp", "-ffast-math"):
            kept = tuple(x for x in flags if x != f)
            out.append(Candidate(f"without {f}", kept, knob=f"LAMINA_CFLAGS='{' '.join(kept)}'"))
    level = _opt_level(flags)
    for lower in ("-O2", "-O1"):
        if level is not None and lower < level and level not in ("-Os", "-Og", "-Oz"):
            changed = _with_level(flags, lower)
            out.append(Candidate(f"{lower} instead of {level}", changed,
                                 knob=f"LAMINA_CFLAGS='{' '.join(changed)}'"))
    out.append(Candidate("one OpenMP thread", flags, threads=1, knob="OMP_NUM_THREADS=1"))
    return out


def diagnose(source: str, run: Callable[[Sequence[str], int | None], list[np.ndarray]],
             is_right: Callable[[list[np.ndarray]], bool]) -> FlagDiagnosis:
    """`run(flags, threads)` compiles `source` with `flags` and runs it; `is_right`
    compares with the reference."""
    t0 = time.perf_counter()
    flags = tuple(knobs.cflags())
    diagnosis = FlagDiagnosis(flags, "", _compiler_name())

    def check(c: Candidate) -> str:
        try:
            return "right" if is_right(run(c.flags, c.threads)) else "wrong"
        except Exception as err:  # a flag this compiler rejects, a crash of the program
            return f"failed: {str(err).strip().splitlines()[0] if str(err).strip() else err!r}"

    diagnosis.at_o0 = check(Candidate("-O0", _with_level(flags, "-O0")))
    for c in candidates(flags):
        result = check(c)
        if result == "right":
            diagnosis.right.append(c)
        elif result == "wrong":
            diagnosis.wrong.append(c)
        else:
            diagnosis.failed.append((c, result))
    diagnosis.seconds = time.perf_counter() - t0
    return diagnosis
