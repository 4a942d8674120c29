"""`lamina-opt FILE -p pass1,pass2`: parse IR of any lamina level, run passes, print.

Built on xDSL's `xDSLOptMain`: every upstream dialect and pass is available,
plus lamina's dialects (hl, loop, cpu, tile) and passes. Invalid input is
answered with file:line:col and exit status 1, never a Python traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from xdsl.utils.exceptions import DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain


class LaminaOptMain(xDSLOptMain):
    version_format = "lamina-opt (lamina 0.1.0) built on xdsl {xdsl_version}"

    def register_all_dialects(self) -> None:
        super().register_all_dialects()
        from lamina.passes import pipeline

        pipeline.load_backends()
        self.ctx.load_dialect(_hl())
        for loader in pipeline._EXTRA_DIALECTS:
            dialect = loader()
            if dialect.name not in self.ctx.registered_dialect_names:
                self.ctx.load_dialect(dialect)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        from lamina.passes import pipeline, registry

        pipeline.load_backends()
        for name, loader in registry.lamina_passes().items():
            self.register_pass(name, loader)


def _hl():
    from lamina.dialects.hl import HL

    return HL


def main(argv: Sequence[str] | None = None) -> int:
    try:
        LaminaOptMain(description="lamina's modular optimizer driver", args=argv).run()
    except ParseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except DiagnosticException as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError, AssertionError, NotImplementedError) as err:
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
