"""What `lamina-opt` does between passes: verify, time (`--time-passes`) and print
(`--print-between-passes`). As in mlir-opt, the IR after each pass and the timing
report go to stderr, so that stdout holds only the output program."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.passes.pipeline import print_ir


class Timing:
    """Wall time per step, summed over the chunks of the input; `report()` is laid out
    like mlir-opt's `--mlir-timing` table. A pass that runs twice in a pipeline (cse in
    c-pipeline) has a row per run."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], float] = {}

    def add(self, key: tuple[int, str], seconds: float) -> None:
        self.rows[key] = self.rows.get(key, 0.0) + seconds

    def report(self) -> str:
        total = sum(self.rows.values())
        lines = ["===" + "-" * 73 + "===",
                 " " * 25 + "... Execution time report ...",
                 "===" + "-" * 73 + "===",
                 f"  Total Execution Time: {total:.4f} seconds", "",
                 "  ----Wall Time----  ----Name----"]
        for (_, name), seconds in sorted(self.rows.items()):
            lines.append(f"  {seconds:9.4f} ({100 * seconds / (total or 1):5.1f}%)  {name}")
        lines.append(f"  {total:9.4f} (100.0%)  Total")
        return "\n".join(lines) + "\n"


# rows outside the pipeline sort before (parse) and after (verify, output) its passes
PARSE, VERIFY, OUTPUT = (-1, "parse"), (1 << 30, "verify"), (1 << 31, "output")


class Instrument:
    """The callback of lamina-opt's `PassPipeline`; `current` is the pass now running
    (an error raised inside it is reported with its name)."""

    def __init__(self, verify: Callable[[ModuleOp, str | None], None] | None,
                 print_after: bool, timing: Timing | None, err: IO[str]):
        self.verify, self.print_after, self.timing, self.err = verify, print_after, timing, err
        self.current: ModulePass | None = None
        self._index = 0
        self._start = 0.0

    def __call__(self, previous: ModulePass | None, module: ModuleOp,
                 following: ModulePass | None) -> None:
        if previous is None:
            self._index = 0
        elif self.timing is not None:
            self.timing.add((self._index, previous.name), time.perf_counter() - self._start)
            self._index += 1
        if self.verify is not None:
            start = time.perf_counter()
            self.verify(module, previous.name if previous is not None else None)
            if self.timing is not None:
                self.timing.add(VERIFY, time.perf_counter() - start)
        if previous is not None and self.print_after:
            self.err.write(f"// -----// IR Dump After {previous.name} //----- //\n")
            self.err.write(print_ir(module))
            self.err.flush()
        self.current = following
        self._start = time.perf_counter()
